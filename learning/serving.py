"""``learning serve``: gunicorn for production, or one embedded process for ``make run``.

gunicorn is driven through its documented custom-application API, so the command takes the
same settings as the app (LEARNING_WORKERS, LEARNING_BIND ...) and a deployment needs no
separate gunicorn configuration file.  Each worker builds its own app after the fork
(no ``preload_app``), so no database connection is shared between processes.
"""
from __future__ import annotations

from gunicorn.app.base import BaseApplication


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


def gunicorn_options(*, bind: str, workers: int, threads: int, timeout: int) -> dict:
    return {
        "bind": bind,
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        "timeout": timeout,
        "graceful_timeout": 30,
        "keepalive": 5,
        "accesslog": None,  # the app writes one structured line per request, with its request id
        "errorlog": "-",
        "max_requests": 5000,  # recycle workers now and then, staggered
        "max_requests_jitter": 500,
        "proc_name": "learning",
        "forwarded_allow_ips": "*",  # ProxyFix (LEARNING_TRUSTED_PROXIES) decides whom to trust
    }


def serve_embedded(app, host: str, port: int) -> None:
    """One process: the threaded development server and the scheduler in its background."""
    import logging

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
