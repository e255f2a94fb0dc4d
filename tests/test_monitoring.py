"""Operations: Prometheus metrics (in-process and across gunicorn workers), and error tracking
with a Sentry DSN (a fake Sentry server on loopback receives the event)."""
from __future__ import annotations

import gzip
import json
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from prometheus_client.parser import text_string_to_metric_families

from learning import create_app
from learning.extensions import db as _db
from tests.conftest import csrf_token
from tests.servers import serve


def samples(text: str) -> dict:
    """{(name, frozenset(labels)): value} of a scrape."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(scrape: dict, name: str, **labels) -> float:
    return scrape.get((name, frozenset(labels.items())), 0.0)


def scrape(client) -> dict:
    answer = client.get("/metrics")
    assert answer.status_code == 200, answer.status_code
    assert answer.headers["Content-Type"].startswith("text/plain")
    return samples(answer.get_data(as_text=True))


def test_requests_errors_and_limits_are_counted_by_endpoint(client, tree):
    before = scrape(client)
    for _ in range(3):
        client.get("/healthz")
    client.get("/no-such-page")
    token = csrf_token(client, "/login")
    statuses = [client.post("/login", data={"username": "member", "password": "wrong-password",
                                             "csrf_token": token}).status_code
                for _ in range(6)]  # the login limit is 5 a minute in the tests
    after = scrape(client)
    assert statuses.count(429) == 1
    grew = lambda name, **labels: value(after, name, **labels) - value(before, name, **labels)  # noqa: E731
    assert grew("learning_http_requests_total", endpoint="site.healthz", method="GET", status="200") == 3
    assert grew("learning_http_requests_total", endpoint="unmatched", method="GET", status="404") == 1
    assert grew("learning_http_requests_total", endpoint="accounts.login", method="POST", status="429") == 1
    assert grew("learning_http_request_duration_seconds_count", endpoint="site.healthz") == 3
    assert value(after, "learning_db_pool_size") >= 1


def test_jobs_and_the_scheduler_heartbeat_come_from_the_database(client, db):
    from learning.scheduler.services import beat, run_job

    first = scrape(client)
    assert value(first, "learning_scheduler_heartbeat_age_seconds") == float("inf")
    run_job("housekeeping")
    run_job("housekeeping")
    beat("test-host:1")
    db.session.commit()
    later = scrape(client)
    assert value(later, "learning_job_runs", job="housekeeping", status="succeeded") == 2
    assert 0 <= value(later, "learning_scheduler_heartbeat_age_seconds") < 60
    assert value(later, "learning_job_last_success_timestamp_seconds", job="housekeeping") > 1.7e9


def test_metrics_are_not_public(client, app, monkeypatch):
    outside = {"REMOTE_ADDR": "203.0.113.9"}
    assert client.get("/metrics", environ_base=outside).status_code == 404
    monkeypatch.setitem(app.config, "METRICS_TOKEN", "scrape-token-123")
    assert client.get("/metrics", environ_base=outside, headers={"Authorization": "Bearer wrong"}).status_code == 404
    assert client.get("/metrics", environ_base=outside,
                      headers={"Authorization": "Bearer scrape-token-123"}).status_code == 200


def test_under_gunicorn_the_workers_figures_are_added_up(app, tree, tmp_path):
    log = (tmp_path / "serve.log").open("w")
    process, base = serve(app, tmp_path, workers=2, threads=2, log=log)
    try:
        threads = [threading.Thread(target=lambda: [urllib.request.urlopen(base + "/healthz", timeout=10).read()
                                                    for _ in range(10)]) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        text = urllib.request.urlopen(base + "/metrics", timeout=10).read().decode()
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
    scraped = samples(text)
    # serve() waits for /healthz once before returning: 40 + 1, whichever worker answered.
    assert value(scraped, "learning_http_requests_total", endpoint="site.healthz", method="GET", status="200") == 41
    files = sorted(p.name for p in (tmp_path / "instance" / "prometheus").glob("counter_*.db"))
    assert files, "no worker wrote its figures to the multiprocess folder"
    assert value(scraped, "learning_db_pool_size") >= 2  # each worker's pool, added up (livesum)


class FakeSentry(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        FakeSentry.received.append((self.path, body.decode("utf-8", "replace")))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_sentry():
    server = HTTPServer(("127.0.0.1", 0), FakeSentry)
    FakeSentry.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://public-key@127.0.0.1:{server.server_port}/42"
    server.shutdown()


def test_an_unexpected_error_reaches_sentry_with_its_request_id_and_nothing_personal(fake_sentry, database_url, tmp_path):
    import secrets

    import sentry_sdk

    from learning import errortracking

    # Made here, so that they are in no source line a stack trace quotes.
    cookie, address = secrets.token_hex(12), ".".join(map(str, (198, 51, 100, secrets.randbelow(200) + 2)))
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x",
                      "SENTRY_DSN": fake_sentry, "SENTRY_ENVIRONMENT": "test"})

    @app.route("/_boom")
    def boom():
        raise RuntimeError("the ledger exploded")

    try:
        answer = app.test_client().get("/_boom", headers={"X-Request-ID": "req-boom-1234", "Cookie": f"session={cookie}"},
                                       environ_base={"REMOTE_ADDR": address})
        assert answer.status_code == 500
        sentry_sdk.flush(timeout=5)
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.init()  # no DSN: the rest of the suite sends nothing
        errortracking._enabled = False
        with app.app_context():
            _db.engine.dispose()
    assert FakeSentry.received, "nothing reached the Sentry server"
    assert {path for path, _ in FakeSentry.received} == {"/api/42/envelope/"}
    envelope = "\n".join(body for _, body in FakeSentry.received)
    events = [json.loads(line) for line in envelope.splitlines() if line.startswith("{") and '"exception"' in line]
    assert [e["exception"]["values"][-1]["type"] for e in events] == ["RuntimeError"], envelope[:2000]  # once
    event = events[0]
    assert event["tags"]["request_id"] == "req-boom-1234" and event["environment"] == "test"
    assert cookie not in envelope and address not in envelope  # no cookie, no client address


def test_a_failed_job_reaches_sentry(fake_sentry, app, db, monkeypatch):
    import dataclasses

    import sentry_sdk

    from learning import errortracking
    from learning.scheduler import jobs, services

    def broken():
        raise ValueError("the snapshot table is gone")

    monkeypatch.setitem(jobs.JOBS, "housekeeping", dataclasses.replace(jobs.JOBS["housekeeping"], run=broken))
    monkeypatch.setitem(services.JOBS, "housekeeping", jobs.JOBS["housekeeping"])
    sentry_sdk.init(dsn=fake_sentry, default_integrations=False)
    monkeypatch.setattr(errortracking, "_enabled", True)
    try:
        run = services.run_job("housekeeping")
        sentry_sdk.flush(timeout=5)
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.init()
    assert run.status.value == "failed" and "the snapshot table is gone" in run.error
    envelope = "\n".join(body for _, body in FakeSentry.received)
    assert '"type":"ValueError"' in envelope.replace(" ", "") and "the snapshot table is gone" in envelope
