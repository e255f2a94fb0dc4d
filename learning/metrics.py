"""Prometheus metrics at ``/metrics``, for the monitoring host only.

Per request (every gunicorn worker writes its own figures; ``learning serve`` runs
``prometheus_client`` in multiprocess mode and the scrape adds them up):

* ``learning_http_requests_total{endpoint, method, status}``: 5xx and 429 are ``status`` values;
* ``learning_http_request_duration_seconds{endpoint}``: a histogram;
* ``learning_db_pool_checked_out`` / ``learning_db_pool_size``: connections in use and held.

Read from the database at each scrape (the scheduler is another process):

* ``learning_job_runs{job, status}``: runs finished in the last 24 hours, by outcome;
* ``learning_job_last_success_timestamp_seconds{job}``;
* ``learning_scheduler_heartbeat_age_seconds`` (+Inf when no scheduler ever beat).

Who may read it: addresses in ``LEARNING_METRICS_ALLOW`` (default loopback), or a request with
``Authorization: Bearer`` ``LEARNING_METRICS_TOKEN``; everyone else gets 404.  nginx refuses the
address outright (deploy/nginx/learning.conf).

prometheus_client is imported only on first use: in the gunicorn master ``learning serve`` sets
``PROMETHEUS_MULTIPROC_DIR`` first, and the workers it forks inherit multiprocess values.
"""
from __future__ import annotations

import hmac
import ipaddress
import math
import os
import threading
import time
from datetime import timedelta
from pathlib import Path

from flask import Response, abort, current_app, g, request

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


_made: dict = {}
_making = threading.Lock()


def _instruments() -> dict:
    """The instruments, made once per process (the first requests of a worker arrive together)."""
    if _made:
        return _made
    with _making:
        if not _made:
            _made.update(_make())
    return _made


def _make() -> dict:
    from prometheus_client import Counter, Gauge, Histogram

    return {
        "requests": Counter("learning_http_requests_total", "HTTP requests answered",
                            ["endpoint", "method", "status"]),
        "latency": Histogram("learning_http_request_duration_seconds", "Time to answer a request, by endpoint",
                             ["endpoint"], buckets=BUCKETS),
        "pool_out": Gauge("learning_db_pool_checked_out", "Database connections in use",
                          multiprocess_mode="livesum"),
        "pool_size": Gauge("learning_db_pool_size", "Database connections held by the pools",
                           multiprocess_mode="livesum"),
    }


def prepare_multiprocess_dir(instance_path: str) -> str:
    """For ``learning serve``: a fresh folder for the workers' figures (before any worker starts)."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or str(Path(instance_path) / "prometheus")
    path = Path(folder)
    if path.exists():
        for stale in path.glob("*.db"):
            stale.unlink()
    path.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    return folder


def worker_exited(pid: int) -> None:
    """gunicorn's child_exit hook: the live gauges of a dead worker stop counting."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


def _allowed() -> bool:
    token = current_app.config.get("METRICS_TOKEN")
    given = request.headers.get("Authorization", "")
    if token and given.startswith("Bearer ") and hmac.compare_digest(given[7:].encode(), token.encode()):
        return True
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(address in network for network in current_app.config["METRICS_ALLOW"])


class DatabaseCollector:
    """Job outcomes and the scheduler heartbeat, read at scrape time."""

    def __init__(self, app):
        self.app = app

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily
        from sqlalchemy import func, select

        from learning.db import utcnow
        from learning.extensions import db
        from learning.scheduler.models import JobRun, RunStatus
        from learning.scheduler.services import last_beat

        runs = GaugeMetricFamily("learning_job_runs", "Scheduled job runs finished in the last 24 hours",
                                 labels=["job", "status"])
        success = GaugeMetricFamily("learning_job_last_success_timestamp_seconds",
                                    "When each job last succeeded (Unix time)", labels=["job"])
        age = GaugeMetricFamily("learning_scheduler_heartbeat_age_seconds",
                                "Seconds since a scheduler process last beat")
        now = utcnow()
        rows = db.session.execute(
            select(JobRun.job, JobRun.status, func.count())
            .where(JobRun.finished_at >= now - timedelta(hours=24)).group_by(JobRun.job, JobRun.status)).all()
        for job, status, count in rows:
            runs.add_metric([job, status.value], count)
        for job, finished in db.session.execute(
                select(JobRun.job, func.max(JobRun.finished_at))
                .where(JobRun.status == RunStatus.SUCCEEDED).group_by(JobRun.job)).all():
            success.add_metric([job], finished.timestamp())
        beat = last_beat()
        age.add_metric([], (now - beat).total_seconds() if beat else math.inf)
        return [runs, success, age]


def scrape():
    if not _allowed():
        abort(404)
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

    _record_pool()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:  # one process (the embedded server, the tests): its own instruments
        registry = CollectorRegistry()
        registry.register(REGISTRY)
    registry.register(DatabaseCollector(current_app))
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def _record_pool() -> None:
    from learning.extensions import db

    pool = db.engine.pool
    if hasattr(pool, "checkedout"):
        tools = _instruments()
        tools["pool_out"].set(pool.checkedout())
        tools["pool_size"].set(pool.size() + max(pool.overflow(), 0) if hasattr(pool, "size") else 0)


def init_app(app) -> None:
    app.config["METRICS_ALLOW"] = [ipaddress.ip_network(part.strip(), strict=False)
                                   for part in app.config["METRICS_ALLOW"].split(",") if part.strip()]

    @app.before_request
    def _start():
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _count(response):
        started = getattr(g, "metrics_started", None)
        if started is None or request.path == "/metrics":
            return response
        endpoint = request.endpoint or "unmatched"
        tools = _instruments()
        tools["requests"].labels(endpoint, request.method, str(response.status_code)).inc()
        tools["latency"].labels(endpoint).observe(time.perf_counter() - started)
        if endpoint != "static":
            _record_pool()
        return response

    app.add_url_rule("/metrics", "metrics", scrape)
