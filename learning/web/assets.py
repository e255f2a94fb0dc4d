"""Versioned static URLs: ``url_for('static', filename=…)`` carries ``?v=`` + a digest of the
file, so a release that changes a stylesheet or script is seen at once, while unchanged files are
cached for a year (``immutable``) by browsers and by nginx's ``/static/`` location alike.
"""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from flask import request

YEAR = 365 * 24 * 3600


@lru_cache(maxsize=512)
def _digest(folder: str, filename: str, mtime_ns: int) -> str | None:
    path = Path(folder, filename)
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    except OSError:
        return None


def version_of(folder: str, filename: str) -> str | None:
    """The first 12 hex digits of the file's SHA-256 (recomputed when the file changes)."""
    path = Path(folder, filename)
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        return None
    return _digest(folder, filename, mtime)


def init_app(app) -> None:
    @app.url_defaults
    def _static_version(endpoint, values):
        if endpoint == "static" and "filename" in values and "v" not in values:
            version = version_of(app.static_folder, values["filename"])
            if version:
                values["v"] = version

    @app.after_request
    def _static_cache(response):
        if request.endpoint == "static" and response.status_code in (200, 304):
            if request.args.get("v"):
                response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
            else:  # an unversioned address: check with the server each time (ETag)
                response.headers["Cache-Control"] = "no-cache"
        return response
