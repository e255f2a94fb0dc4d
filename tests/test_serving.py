"""`learning serve`: gunicorn with two workers shares the login rate limit through Redis."""
from __future__ import annotations

import os
import threading
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

import pytest

from tests.conftest import CSRF_RE, IN_CI, at_once
from tests.servers import serve, stop

REDIS_URL = os.environ.get("LEARNING_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def redis_problem() -> str | None:
    from limits.storage import storage_from_string

    try:
        storage = storage_from_string(REDIS_URL)
        return None if storage.check() else "no answer"
    except Exception as exc:  # not installed, refused
        return f"{type(exc).__name__}: {exc}"


@pytest.fixture
def redis_url():
    problem = redis_problem()
    if problem:
        message = f"Redis at {REDIS_URL} does not answer ({problem}); CI starts it"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from limits.storage import storage_from_string

    storage_from_string(REDIS_URL).reset()
    yield REDIS_URL
    storage_from_string(REDIS_URL).reset()


def failed_login(base: str) -> int:
    """One visitor: open the form, send a wrong password; the answer's status."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    html = opener.open(base + "/login", timeout=10).read().decode()
    match = CSRF_RE.search(html)
    data = urllib.parse.urlencode({"username": "nobody", "password": "wrong-password",
                                   "csrf_token": match.group(1) or match.group(2)}).encode()
    try:
        return opener.open(base + "/login", data=data, timeout=10).status
    except urllib.error.HTTPError as error:
        return error.code


def hammer(base: str, attempts: int = 12) -> list[int]:
    statuses = []
    lock = threading.Lock()

    def one():
        status = failed_login(base)
        with lock:
            statuses.append(status)

    for _batch in range(attempts // 4):  # four at a time, so both workers answer
        at_once([one] * 4)
    return statuses


def login_workers(entries: list[dict]) -> set[int]:
    return {e["worker"] for e in entries if e.get("logger") == "learning.access" and e.get("path") == "/login"
            and e.get("method") == "POST"}


def test_two_workers_share_the_login_limit_through_redis(app, db, tmp_path, redis_url):
    process, base = serve(app, tmp_path, redis_url)
    try:
        statuses = hammer(base)
    finally:
        entries = stop(process)
    assert len(login_workers(entries)) == 2, "both workers must have answered logins"
    assert sorted(statuses) == [200] * 5 + [429] * 7
    # Every request carries an id in its log line.
    assert all(e.get("request_id") for e in entries if e.get("logger") == "learning.access")


def test_without_redis_each_worker_counts_alone(app, db, tmp_path):
    """The control: with memory storage the two workers together let more than five through."""
    process, base = serve(app, tmp_path, "memory://")
    try:
        statuses = hammer(base)
    finally:
        entries = stop(process)
    assert len(login_workers(entries)) == 2
    assert statuses.count(200) > 5


def keep_alive_load(base: str, clients: int = 6, requests: int = 120) -> tuple[int, int]:
    """``clients`` threads, each sending ``requests`` GETs over one kept-alive connection (a new one
    when the server closes it, as browsers and nginx do); returns (answered, dropped): a request is
    dropped when the connection breaks under it."""
    import http.client

    port = int(base.rsplit(":", 1)[1])
    counts = {"answered": 0, "dropped": 0}
    lock = threading.Lock()

    def client():
        conn = None
        for _ in range(requests):
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            try:
                conn.request("GET", "/healthz")
                response = conn.getresponse()
                response.read()
                with lock:
                    counts["answered" if response.status == 200 else "dropped"] += 1
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (ConnectionError, http.client.HTTPException, OSError):
                with lock:
                    counts["dropped"] += 1
                conn.close()
                conn = None
        if conn is not None:
            conn.close()

    at_once([client] * clients)
    return counts["answered"], counts["dropped"]


def test_recycled_workers_drop_no_request(app, db, tmp_path, monkeypatch):
    """Workers restart every ~60 requests under a keep-alive load: every request is answered."""
    monkeypatch.setenv("LEARNING_MAX_REQUESTS", "60")
    monkeypatch.setenv("LEARNING_MAX_REQUESTS_JITTER", "10")
    log_path = tmp_path / "serve.log"
    with open(log_path, "w") as log:
        process, base = serve(app, tmp_path, "memory://", workers=2, threads=4, log=log)
        try:
            banner = urllib.request.urlopen(base + "/healthz", timeout=5).headers.get("Server", "")
            answered, dropped = keep_alive_load(base)
        finally:
            process.terminate()
            process.wait(timeout=60)
    err = log_path.read_text()
    restarts = err.count("Autorestarting worker")
    assert restarts >= 4, err[-2000:]
    assert (answered, dropped) == (720, 0)
    assert not any(ch.isdigit() for ch in banner), banner  # no version in the Server header


def test_workers_share_a_cache_folder_of_the_run_without_redis(app, db, tmp_path):
    """Without LEARNING_CACHE_URL the two workers get one folder (file://) for the pages they compute
    once between them; it is the server's own and goes when the server stops."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    process, base = serve(app, tmp_path, "memory://", extra_env={"TMPDIR": str(temp)})
    try:
        folders = list(temp.glob("learning-cache-*"))
        assert len(folders) == 1 and folders[0].is_dir()
        assert urllib.request.urlopen(base + "/healthz", timeout=5).status == 200
    finally:
        stop(process)
    assert not folders[0].exists()
