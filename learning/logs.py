"""Structured logs: one JSON object per line, each with the request id it belongs to.

The request id comes from the reverse proxy's ``X-Request-ID`` when it sends a sane one, so a
request can be followed from the proxy's log to ours; otherwise we make one.  It is returned
in the response's ``X-Request-ID`` so that a member reporting an error can quote it.
"""
from __future__ import annotations

import json
import logging
import os
import re
import time
import uuid
from datetime import datetime, timezone

from flask import Flask, g, has_request_context, request

_SANE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def request_id() -> str | None:
    return getattr(g, "request_id", None) if has_request_context() else None


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and value is not None:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        record.request_id = getattr(record, "request_id", None) or "-"
        return super().format(record)


def configure(level: str = "INFO", fmt: str = "json") -> None:
    """Send every logger's records to stderr in ``fmt``; done once per process."""
    root = logging.getLogger()
    if getattr(root, "_learning_configured", False):
        return
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root.handlers = [handler]
    root.setLevel(level)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    root._learning_configured = True


def init_app(app: Flask) -> None:
    """Request ids on every request and one access line per request (not for static files)."""
    if not app.testing:
        configure(app.config["LOG_LEVEL"], app.config["LOG_FORMAT"])
    access = logging.getLogger("learning.access")

    @app.before_request
    def _start():
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given if _SANE_ID.match(given) else uuid.uuid4().hex
        g.request_started = time.perf_counter()

    @app.after_request
    def _finish(response):
        rid = getattr(g, "request_id", None)
        if rid:
            response.headers["X-Request-ID"] = rid
        if request.endpoint != "static" and hasattr(g, "request_started"):
            user = getattr(g, "_login_user", None)  # only if the request loaded it: no extra query
            account = user.get_id() if user is not None and user.is_authenticated else None
            access.info("%s %s %s", request.method, request.path, response.status_code, extra={
                "method": request.method, "path": request.path, "status": response.status_code,
                "duration_ms": round((time.perf_counter() - g.request_started) * 1000, 1),
                "remote": request.remote_addr, "account": account, "worker": os.getpid()})
        return response
