"""RFC 7807 problem+json responses for the JSON API."""
from __future__ import annotations

import json

from flask import Response
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

PROBLEM_MIME = "application/problem+json"

# Titles and default details in the caller's language (werkzeug's are English); a detail given
# with abort(code, "…") is kept.
TITLES = {
    400: _l("Bad request"), 401: _l("Not logged in"), 403: _l("Not allowed"), 404: _l("Not found"),
    405: _l("Method not allowed"), 409: _l("Conflict"), 413: _l("Upload too large"),
    415: _l("Unsupported content type"), 422: _l("Invalid data"), 429: _l("Too many requests"),
    500: _l("Unexpected error"), 503: _l("Service unavailable"),
}
DETAILS = {
    400: _l("The request could not be understood."),
    401: _l("Log in first: send a bearer token from POST /api/v1/auth/token."),
    403: _l("Your account may not do this."),
    404: _l("Nothing here, or it is outside the organisations you may see."),
    405: _l("This address does not accept this method."),
    413: _l("The upload is larger than the site accepts."),
    415: _l("Send the body as JSON (Content-Type: application/json)."),
    422: _l("Some fields are not valid: see errors."),
    429: _l("Too many requests in a short time: wait and try again (Retry-After)."),
}


def problem(status: int, title: str | None = None, detail: str | None = None, *, errors: dict | None = None,
            headers: dict | None = None, type_: str = "about:blank", extra: dict | None = None) -> Response:
    """A problem+json answer; without ``title``, the status's title in the caller's language."""
    if title is None:
        from werkzeug.http import HTTP_STATUS_CODES

        title = TITLES.get(status) or HTTP_STATUS_CODES.get(status, "Error")
    body = {"type": type_, "title": str(title), "status": status, **(extra or {})}
    if detail:
        body["detail"] = str(detail)
    if errors:
        body["errors"] = errors
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_MIME)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def coded_problem(code: str, detail: str, statuses: dict[str, int]) -> Response:
    """problem+json for a service's refusal, with its machine-readable ``code`` (clients branch on it)."""
    return problem(statuses.get(code, 400), detail=detail, extra={"code": code})


def flatten_validation_errors(messages) -> dict[str, list[str]]:
    """webargs nests errors by location ({"json": {"field": [...]}}); clients want fields.

    Nested fields become dotted paths ("address.city"); list items their index.
    """
    flat: dict[str, list[str]] = {}

    def walk(prefix: str, value):
        if isinstance(value, dict):
            for key, sub in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), sub)
        elif isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            flat.setdefault(prefix or "_body", []).extend(value)
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(prefix, item)
        else:
            flat.setdefault(prefix or "_body", []).append(str(value))

    if isinstance(messages, dict) and set(messages) <= {"json", "query", "form", "files", "headers", "path", "view_args", "cookies", "querystring"}:
        for location_errors in messages.values():
            walk("", location_errors)
    else:
        walk("", messages)
    return flat


def problem_from_http_exception(error: HTTPException) -> Response:
    data = getattr(error, "data", None) or {}
    errors = None
    messages = data.get("errors") or data.get("messages")
    if messages:
        errors = flatten_validation_errors(messages)
    detail = data.get("message") or error.description
    if not data.get("message") and error.description == type(error).description:
        detail = DETAILS.get(error.code, detail)  # werkzeug's English default, in the caller's language
    headers = dict(data.get("headers") or {})
    if error.code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        headers["Allow"] = ", ".join(error.valid_methods)
    if error.code == 429:
        retry = error.get_headers()
        headers.update({k: v for k, v in retry if k.lower() == "retry-after"})
    return problem(error.code or 500, TITLES.get(error.code, error.name), detail, errors=errors, headers=headers)
