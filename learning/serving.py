"""``learning serve``: gunicorn for production, or one embedded process for ``make run``.

gunicorn is driven through its documented custom-application API, so the command takes the
same settings as the app (LEARNING_WORKERS, LEARNING_BIND ...) and a deployment needs no
separate gunicorn configuration file.  Each worker builds its own app after the fork
(no ``preload_app``), so no database connection is shared between processes.
"""
from __future__ import annotations

import os
import selectors
import time
from concurrent import futures
from functools import partial

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger
from gunicorn.workers.gthread import ThreadWorker


class DrainingThreadWorker(ThreadWorker):
    """gunicorn's threaded worker, recycled without dropping requests.

    When the worker is to stop (``max_requests`` reached, or SIGTERM), gunicorn's own loop ends at
    once: requests already sent on parked keep-alive connections are lost (the client sees a reset).
    This one stops *accepting* new connections but goes on serving the connections it holds, each
    answer with ``Connection: close``, until they are all answered or idle past ``keepalive``
    seconds; the other workers take the new connections meanwhile.
    """

    def finish_request(self, fs):
        """As gunicorn's, but a connection whose answer promised keep-alive is kept while draining
        too: closing it would break the request the client sends on it next.  That request is
        answered with ``Connection: close``."""
        if fs.cancelled():
            self.nr_conns -= 1
            fs.conn.close()
            return
        try:
            keepalive, conn = fs.result()
            if keepalive:
                conn.sock.setblocking(False)
                conn.set_timeout()
                with self._lock:
                    self._keep.append(conn)
                    self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_client_socket_readable, conn))
            else:
                self.nr_conns -= 1
                conn.close()
        except Exception:  # as gunicorn: whatever went wrong, the socket is closed
            self.nr_conns -= 1
            fs.conn.close()

    def run(self):
        for sock in self.sockets:
            sock.setblocking(False)
            server = sock.getsockname()
            self.poller.register(sock, selectors.EVENT_READ, lambda listener, server=server: self.accept(server, listener))
        draining_until = None
        while True:
            self.notify()  # the arbiter must not take a draining worker for a stuck one
            if not self.alive and draining_until is None:
                draining_until = time.monotonic() + self.cfg.keepalive + 1
                for sock in self.sockets:  # new connections go to the other workers
                    try:
                        self.poller.unregister(sock)
                    except (KeyError, ValueError):
                        pass
            if draining_until is not None and (time.monotonic() > draining_until or self.nr_conns <= 0):
                break  # every connection it accepted is answered and closed (or idle too long)
            if self.nr_conns < self.worker_connections:
                for key, _ in self.poller.select(0.2 if draining_until else 1.0):
                    key.data(key.fileobj)
                result = futures.wait(self.futures, timeout=0, return_when=futures.FIRST_COMPLETED)
            else:
                result = futures.wait(self.futures, timeout=1.0, return_when=futures.FIRST_COMPLETED)
            for fut in result.done:
                self.futures.remove(fut)
            if not self.is_parent_alive():
                break
            self.murder_keepalived()
        self.tpool.shutdown(False)
        self.poller.close()
        for sock in self.sockets:
            sock.close()
        futures.wait(self.futures, timeout=self.cfg.graceful_timeout)


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


def gunicorn_options(*, bind: str, workers: int, threads: int, timeout: int) -> dict:
    return {
        "bind": bind,
        "workers": workers,
        "threads": threads,
        "worker_class": os.environ.get("LEARNING_WORKER_CLASS")
        or ("learning.serving.DrainingThreadWorker" if threads > 1 else "sync"),
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
