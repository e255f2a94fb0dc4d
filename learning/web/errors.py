"""Error pages: problem+json under /api/ and /registry/, SCIM errors under /scim/, a Chinese page
elsewhere; an unexpected error is logged and rolls the transaction back."""
from __future__ import annotations

import json

from flask import render_template, request
from flask_babel import gettext as _
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from learning import extensions as ext


def is_unavailable(error: OperationalError) -> bool:
    """A timeout, a lock that was not granted, or no connection: worth trying again later."""
    code = getattr(error.orig, "sqlstate", None)
    if code is not None:  # PostgreSQL: query canceled, lock not available, connection exceptions, shutdown
        return code in ("57014", "55P03") or code.startswith(("08", "57P"))
    text = str(error.orig).lower()
    return "locked" in text or "connect" in text or "timeout" in text  # SQLite busy; no server


def init_app(app) -> None:
    from flask_wtf.csrf import CSRFError

    from learning.api.problems import problem, problem_from_http_exception

    def wants_problem_json() -> bool:
        return request.path.startswith(("/api/", "/registry/"))

    def scim_error(status: int, detail: str):
        """SCIM clients read RFC 7644 error bodies, not problem+json."""
        body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": str(status), "detail": detail}
        return app.response_class(json.dumps(body), status=status, mimetype="application/scim+json")

    @app.errorhandler(HTTPException)
    def handle_http_exception(error: HTTPException):
        if request.path.startswith("/scim/"):
            return scim_error(error.code or 500, error.description or error.name)
        if wants_problem_json():
            return problem_from_http_exception(error)
        if isinstance(error, CSRFError):
            app.logger.warning("CSRF refused: %s", error.description)
            message = _("This form has expired or did not come from this site. Reload the page and try again.")
            return render_template("errors/error.html", code=400, title=_("Form expired"), message=message), 400
        titles = {
            400: _("Bad request"),
            403: _("Not allowed"),
            404: _("Page not found"),
            405: _("Method not allowed"),
            413: _("Upload too large"),
            429: _("Too many attempts"),
        }
        messages = {
            403: _("Your account does not have access to this page."),
            404: _("This page does not exist or is outside the organisations you may see."),
            429: _("Too many attempts in a short time. Wait a few minutes and try again."),
        }
        code = error.code or 500
        own = error.description if error.description != type(error).description else None  # ours, worded
        return (
            render_template(
                "errors/error.html",
                code=code,
                title=titles.get(code, _("Something went wrong")),
                message=own or messages.get(code, _("The request could not be completed.")),
            ),
            code,
        )

    @app.errorhandler(OperationalError)
    def handle_database_busy(error: OperationalError):
        """A lock or statement timeout, or the database out of reach: 503 in seconds, not a 500.
        Any other OperationalError (SQLite reports SQL mistakes so) is an unexpected error."""
        if not is_unavailable(error):
            return handle_unexpected(error)
        ext.db.session.rollback()
        code = getattr(getattr(error, "orig", None), "sqlstate", None)
        app.logger.warning("database unavailable on %s %s (%s): %s", request.method, request.path, code,
                           str(error.orig).splitlines()[0] if error.orig else error)
        message = _("The database is busy or out of reach. Try again in a moment.")
        headers = {"Retry-After": "5"}
        if request.path.startswith("/scim/"):
            response = scim_error(503, message)
            response.headers.update(headers)
            return response
        if wants_problem_json():
            return problem(503, _("Service unavailable"), message, headers=headers)
        return render_template("errors/error.html", code=503, title=_("Service unavailable"), message=message), 503, headers

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        from learning.errortracking import capture

        capture(error)
        ext.db.session.rollback()
        if request.path.startswith("/scim/"):
            return scim_error(500, "An unexpected error occurred; it has been logged.")
        if wants_problem_json():
            return problem(500, detail=_("An unexpected error occurred; it has been logged."))
        return (
            render_template(
                "errors/error.html",
                code=500,
                title=_("Something went wrong"),
                message=_("An unexpected error occurred; it has been logged."),
            ),
            500,
        )
