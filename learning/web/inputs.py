"""Refuse text that no column can hold before any view sees it: NUL and the other control
characters (tab, newline and carriage return are text) in the path, the query string, form fields
and JSON bodies.  PostgreSQL refuses NUL in text, SQLite would store it, and neither belongs in a
name, a search or a reason.  Uploaded files are not text and are not checked here; registry batches
check each event on its own (one bad event must not sink the batch).
"""
from __future__ import annotations

import re

from flask import abort, request
from flask_babel import gettext as _

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def has_control(text: str) -> bool:
    return bool(CONTROL.search(text))


def json_strings(value, path="body"):
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield f"{path}.{key}", str(key)
            yield from json_strings(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from json_strings(item, f"{path}.{index}")


def refuse_control_characters():
    if has_control(request.path):
        abort(404)
    for key, value in request.args.items(multi=True):
        if has_control(key) or has_control(value):
            abort(400, description=_("The address contains characters that are not allowed (%(name)s).", name=key[:40]))
    if request.path.startswith("/registry/"):
        return None
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for key, value in request.form.items(multi=True):
            if has_control(key) or has_control(value):
                abort(400, description=_("The field %(name)s contains characters that are not allowed.", name=key[:40]))
    elif request.is_json:
        payload = request.get_json(silent=True)
        for where, text in json_strings(payload):
            if has_control(text):
                abort(400, description=_("%(field)s contains characters that are not allowed.", field=where[:80]))
    return None


def init_app(app) -> None:
    app.before_request(refuse_control_characters)
