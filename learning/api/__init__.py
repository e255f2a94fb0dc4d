"""The /api/v1 wiring: problem+json errors, bearer-token authentication, OpenAPI.

Feature packages define their own ``api.py`` with a flask-smorest Blueprint and
register it in :func:`register_api`.  flask-smorest was chosen because the
marshmallow schemas that validate a request are the ones that document it.
"""
from __future__ import annotations

import http
from functools import wraps

from flask import current_app, g, request
from flask_babel import gettext as _
from flask_smorest import Api
from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException

from learning.api.problems import PROBLEM_MIME, problem

BEARER = [{"bearerAuth": []}]


class ProblemSchema(Schema):
    """RFC 7807 problem details, as every error of the API is answered."""

    type = fields.String(metadata={"description": "about:blank"})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    code = fields.String(metadata={"description": "machine-readable reason, where a client may branch on it"})
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                         metadata={"description": "field → messages, for invalid input"})


class ProblemApi(Api):
    """flask-smorest's Api without its app-wide JSON error handler, and with errors documented as
    they are answered: ``application/problem+json`` (:class:`ProblemSchema`), on every operation.

    The application has one error handler that answers problem+json under /api
    and an HTML page elsewhere; smorest's own would turn every HTML 404 into JSON.
    """

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self):
        return None

    def _register_responses(self):
        from flask_smorest.utils import prepare_response

        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_MIME)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "An error, as problem+json", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_MIME)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


def current_api_account():
    return g.get("api_account")


def caller_member():
    """(member, None) for the calling account, or (None, a 404 problem) when it has no member."""
    member = current_api_account().member
    if member is None:
        return None, not_a_member()
    return member, None


def not_a_member():
    return problem(404, detail=_("This account is not linked to a member."))


def _unauthorised():
    from learning.extensions import db

    db.session.rollback()
    return problem(
        401,
        _("Authentication required"),
        _("Send a valid token in the Authorization header: Bearer <token>."),
        headers={"WWW-Authenticate": 'Bearer realm="learning"'},
    )


def _bearer_token() -> str | None:
    scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def _password_change_required():
    from learning.extensions import db

    db.session.rollback()
    return problem(403, _("Password change required"),
                   _("This account has a temporary password: set a new one with POST /api/v1/me/password first."),
                   extra={"code": "password_change_required"})


def auth_required(blp, *, for_password_change: bool = False):
    """Require a valid bearer token; documents the security scheme on the operation.

    While an account's temporary password is in force its tokens work only on the operations
    marked ``for_password_change`` (setting a new password, signing the device out)."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            from learning.accounts.models import TokenScope
            from learning.accounts.services import account_for_token
            from learning.extensions import db

            token = _bearer_token()
            found = account_for_token(token) if token else None
            if found is None:
                return _unauthorised()
            account, record = found
            if not for_password_change and (record.scope is not TokenScope.FULL or account.must_change_password):
                return _password_change_required()
            g.api_account, g.api_token = found
            if db.session.dirty:  # last_used_at, once a minute; committing otherwise would expire the account
                db.session.commit()
            return view(*args, **kwargs)

        return blp.doc(security=BEARER)(wrapper)

    return decorator


def member_token_required(blp, *, joined=None, params=None, one_statement=False):
    """:func:`auth_required` for the hottest calls: one Core query, and only ``g.api_member_id``
    (the caller's member id, or None for an account without one) is set — no account object.

    ``joined`` (a statement from ``accounts.services.token_check_joined``) reads the call's own row
    in the same query, with ``params(view kwargs)`` for its parameters; the row is ``g.api_row``.
    On PostgreSQL the request's connection is then in autocommit — each statement commits by itself,
    no BEGIN and COMMIT round trips — so such a view writes in single statements, or calls
    ``db.session.commit()`` first to start a transaction for more (``courses.study``,
    ``quizzes.attempts``).  Not behind PgBouncer (``engines.may_autocommit``).

    ``one_statement``: where autocommit may be used, the check is left to the view, whose one
    statement checks the token itself (``g.api_token_digest``, the bearer token's digest; None when
    the view must not try) without the ORM session.  When that statement matches nothing, the view
    calls :func:`check_member_token` and goes the checked way; a body the schema refuses (400, 422)
    has the token checked first, so a bad token is answered 401 whatever the body, as elsewhere."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            from learning.accounts.services import TOKEN_PREFIX, token_digest
            from learning.engines import may_autocommit
            from learning.extensions import db

            token = _bearer_token()
            if not token:
                return _unauthorised()
            g.pop("api_member_id", None)  # a test's app context outlives its requests
            autocommit = joined is not None and may_autocommit(current_app, db.engine)
            g.api_check = (token, joined, params(kwargs) if params else None, autocommit)
            g.api_token_digest = token_digest(token) if one_statement and autocommit \
                and token.startswith(TOKEN_PREFIX) else None
            if g.api_token_digest is None:
                denied = check_member_token()
                if denied is not None:
                    return denied
                return view(*args, **kwargs)
            try:
                return view(*args, **kwargs)
            except HTTPException as refused:  # the body, refused before the token was looked at
                if refused.code not in (400, 422):
                    raise
                denied = check_member_token()
                if denied is not None:
                    return denied
                raise

        return blp.doc(security=BEARER)(wrapper)

    return decorator


def check_member_token():
    """The check of :func:`member_token_required` (done there, or left to a ``one_statement`` view):
    None when the caller may go on, with ``g.api_member_id`` and ``g.api_row`` set; else the 401 or
    403 problem to answer."""
    from learning.accounts.services import member_id_for_token
    from learning.extensions import db

    if "api_member_id" in g:
        return None
    token, joined, params, autocommit = g.api_check
    if autocommit and not db.session().in_transaction():
        db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    found = member_id_for_token(token, joined=joined, params=params)
    if found is None:
        return _unauthorised()
    if not found[1]:
        return _password_change_required()
    g.api_member_id, g.api_row = found[0], found[2]
    return None


def register_api(app, api: ProblemApi) -> None:
    from learning.accounts.api import blp as accounts_blp
    from learning.courses.api import blp as courses_blp
    from learning.evaluation.api import blp as evaluation_blp
    from learning.evaluation.ballot_api import blp as ballot_blp
    from learning.evaluation.inspection_api import blp as inspection_blp
    from learning.evaluation.honour_api import blp as honour_blp
    from learning.orglife.api import blp as orglife_blp
    from learning.orgs.api import blp as orgs_blp
    from learning.points.api import blp as points_blp
    from learning.quizzes.api import blp as quizzes_blp
    from learning.registry.api import blp as registry_blp

    api.init_app(app)
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    from learning.extensions import csrf

    for blp in (accounts_blp, orgs_blp, points_blp, courses_blp, quizzes_blp, orglife_blp, evaluation_blp, ballot_blp,
                inspection_blp, honour_blp, registry_blp):
        csrf.exempt(blp)  # bearer tokens, never cookies: no cross-site request can carry them
        api.register_blueprint(blp)
