"""``learning serve``: gunicorn for production, or one embedded process for ``make run``.

gunicorn is driven through its documented custom-application API, so the command takes the
same settings as the app (LEARNING_WORKERS, LEARNING_BIND ...) and a deployment needs no
separate gunicorn configuration file.  Each worker builds its own app after the fork
(no ``preload_app``), so no database connection is shared between processes.
"""
from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger


class JsonLogger(Logger):
    """gunicorn's own lines (start, worker boot and exit, timeouts) as JSON objects like ours, so a
    log reader (``jq``) can take every line of the service.  ``LEARNING_LOG_FORMAT=text`` keeps
    gunicorn's plain text."""

    def setup(self, cfg):
        super().setup(cfg)
        if os.environ.get("LEARNING_LOG_FORMAT", "json") != "json":
            return
        from learning.logs import JsonFormatter

        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(JsonFormatter())


class Gunicorn(BaseApplication):
    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            if value is not None:
                self.cfg.set(key, value)

    def load(self):
        from learning.wsgi import app

        return app


def _child_exit(_server, worker):
    from learning.metrics import worker_exited

    worker_exited(worker.pid)


def gunicorn_options(*, bind: str, workers: int, threads: int, timeout: int) -> dict:
    return {
        "bind": bind,
        "workers": workers,
        "threads": threads,
        # gunicorn's threaded worker (27+) drains on restart: a stopping worker answers what its
        # kept-alive connections send, with "Connection: close" (tests/test_serving.py).
        "worker_class": os.environ.get("LEARNING_WORKER_CLASS") or ("gthread" if threads > 1 else "sync"),
        "timeout": timeout,
        "graceful_timeout": 30,
        "keepalive": 5,
        "accesslog": None,  # the app writes one structured line per request, with its request id
        "errorlog": "-",
        "logger_class": "learning.serving.JsonLogger",
        # Recycle workers now and then, staggered (a draining worker finishes what it holds first).
        "max_requests": int(os.environ.get("LEARNING_MAX_REQUESTS", "5000")),
        "max_requests_jitter": int(os.environ.get("LEARNING_MAX_REQUESTS_JITTER", "500")),
        "proc_name": "learning",
        "control_socket_disable": True,  # no ~/.gunicorn socket: systemd units keep the file system read-only
        "child_exit": _child_exit,
        "forwarded_allow_ips": "*",  # ProxyFix (LEARNING_TRUSTED_PROXIES) decides whom to trust
    }


def shared_cache_folder(config) -> str | None:
    """Without ``LEARNING_CACHE_URL``: a folder of this run's own that its workers share as their cache
    (``file://``), so that people opening the same heavy page at once wait for one computation
    instead of one per worker; removed when the server stops.  A configured cache (Redis) is kept."""
    if config.get("CACHE_URL"):
        return None
    try:
        folder = tempfile.mkdtemp(prefix="learning-cache-")
    except OSError as exc:  # no writable temporary folder: each worker keeps its own memory, as before
        logging.getLogger("learning").warning("no shared cache folder for the workers (%s); each keeps its own", exc)
        return None
    os.environ["LEARNING_CACHE_URL"] = f"file://{folder}"
    master = os.getpid()
    # workers inherit this hook: only the server that made the folder removes it
    atexit.register(lambda: os.getpid() == master and shutil.rmtree(folder, ignore_errors=True))
    return folder


def serve_embedded(app, host: str, port: int) -> None:
    """One process: the threaded development server and the scheduler in its background."""
    from werkzeug.serving import run_simple

    from learning.scheduler.process import start_background

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # our access lines carry the request id

    scheduler, instance = start_background(app)
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False)
    finally:
        scheduler.shutdown(wait=False)
        from learning.extensions import db
        from learning.scheduler.services import stop

        with app.app_context():
            stop(instance)
            db.session.remove()
