"""What the city benchmarks share: the city database, a gunicorn serving it as in production, signed-in
clients, timings of HTTP pages and of bare SQL in the same run, worker memory, and the report.

Every script prints, per measure: ours, the baseline measured in the same run, the ratio and the goal
of issue #19, and the machine's load average at the time.
"""
from __future__ import annotations

import http.cookiejar
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CITY_URL = os.environ.get("LEARNING_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/learning_bench")
PASSWORD = "Bench-password-1"
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def city_app():
    os.environ["LEARNING_DATABASE_URL"] = CITY_URL
    os.environ.setdefault("LEARNING_DB_STATEMENT_TIMEOUT_MS", "0")  # filling the city takes minutes
    from learning import create_app
    from learning.extensions import db

    app = create_app()
    with app.app_context():
        db.create_all()  # tables added since the city was generated (generate_city.py creates, not migrates)
    return app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``learning serve`` (gunicorn, gthread workers) on the city database."""

    def __init__(self, *, workers: int = 2, threads: int = 4, env: dict | None = None):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        environment = {**os.environ, "LEARNING_DATABASE_URL": CITY_URL, "LEARNING_SESSION_COOKIE_SECURE": "0",
                       "LEARNING_RATELIMIT_ENABLED": "0", "LEARNING_SECRET_KEY": "bench-secret-key",
                       "LEARNING_LOG_LEVEL": "WARNING", **(env or {})}
        environment.pop("LEARNING_DB_STATEMENT_TIMEOUT_MS", None)  # the web's own limit, as in production
        self.log = open(ROOT / "bench" / f".server-{self.port}.log", "w")
        self.process = subprocess.Popen(
            [str(Path(sys.executable).with_name("learning")), "serve", "--workers", str(workers), "--threads",
             str(threads), "--bind", f"127.0.0.1:{self.port}"], env=environment, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.base + "/healthz", timeout=2).read()
                return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise SystemExit("learning serve did not start; see bench/.server-*.log")

    def workers(self) -> list[int]:
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == self.process.pid:
                    pids.append(int(entry.name))
        return pids

    def _status_mb(self, field: str) -> dict[int, float]:
        found = {}
        for pid in self.workers():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith(field + ":"):
                    found[pid] = int(line.split()[1]) / 1024
        return found

    def rss_mb(self) -> dict[int, float]:
        """Resident memory of each worker now, in MB."""
        return self._status_mb("VmRSS")

    def peak_mb(self) -> dict[int, float]:
        """The most each worker has held since it started (VmHWM), in MB."""
        return self._status_mb("VmHWM")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


class Scheduler(Server):
    """``learning scheduler`` (the process that makes background exports) on the city database,
    looking for requested work every second."""

    def __init__(self, env: dict | None = None):
        environment = {**os.environ, "LEARNING_DATABASE_URL": CITY_URL, "LEARNING_SCHEDULER_POLL_SECONDS": "1",
                       "LEARNING_SECRET_KEY": "bench-secret-key", "LEARNING_LOG_LEVEL": "WARNING", **(env or {})}
        environment.pop("LEARNING_DB_STATEMENT_TIMEOUT_MS", None)
        self.log = open(ROOT / "bench" / f".scheduler-{os.getpid()}.log", "w")
        self.process = subprocess.Popen([str(Path(sys.executable).with_name("learning")), "scheduler"],
                                        env=environment, stdout=self.log, stderr=self.log)

    def workers(self) -> list[int]:
        return [self.process.pid]


def ensure_account(app, username: str, *, role=None, organisation_id=None, member_id=None):
    """An account of the benchmark (created once, password ``PASSWORD``)."""
    from sqlalchemy import select

    from learning.accounts.models import Account, Role
    from learning.accounts.services import create_account
    from learning.extensions import db
    from learning.orgs.models import Member, Organisation

    with app.app_context():
        account = db.session.scalar(select(Account).where(Account.username == username))
        if account is None:
            create_account(username, PASSWORD, role=role or Role.MEMBER,
                           organisation=db.session.get(Organisation, organisation_id) if organisation_id else None,
                           member=db.session.get(Member, member_id) if member_id else None)
            db.session.commit()


def api_token(app, username: str) -> str:
    from sqlalchemy import select

    from learning.accounts.models import Account
    from learning.accounts.services import issue_token
    from learning.extensions import db

    with app.app_context():
        token = issue_token(db.session.scalar(select(Account).where(Account.username == username)), "bench").token
        db.session.commit()
        return token


class Browser:
    """A signed-in client keeping its session cookie."""

    def __init__(self, base: str, username: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        html = self.opener.open(base + "/login", timeout=30).read().decode()
        match = CSRF.search(html)
        data = urllib.parse.urlencode({"username": username, "password": PASSWORD,
                                       "csrf_token": match.group(1) or match.group(2)}).encode()
        page = self.opener.open(base + "/login", data=data, timeout=30)
        if "/login" in page.geturl():
            raise SystemExit(f"{username} could not sign in")

    def get(self, path: str, headers: dict | None = None) -> tuple[int, bytes, dict]:
        return _fetch(self.opener, self.base + path, headers)

    def ok(self, path: str) -> bytes:
        """The body of ``path``, which must answer 200."""
        return _ok(*self.get(path)[:2])

    def submit(self, path: str) -> tuple[str, bytes]:
        """Open ``path`` (following redirects), send its form with the CSRF token: (where the answer
        came from, its body)."""
        page = self.opener.open(self.base + path, timeout=300)
        match = CSRF.search(page.read().decode())
        data = urllib.parse.urlencode({"csrf_token": match.group(1) or match.group(2)}).encode()
        answer = self.opener.open(page.geturl(), data=data, timeout=300)
        return answer.geturl(), answer.read()

    def background_export(self, path: str, poll: float = 0.5) -> tuple[float, bytes, list[int]]:
        """Ask for the file ``path`` offers to make in the background, watch its progress as the page
        does until it is ready and download it: (seconds from asking to ready, the file, the
        percentages the progress bar showed)."""
        import json

        started = time.perf_counter()
        where, _body = self.submit(path)
        job = where.rstrip("/").rsplit("/", 1)[1]
        seen: list[int] = []
        while True:
            state = json.loads(self.ok(f"/admin/exports/{job}/status"))
            if not seen or seen[-1] != state["percent"]:
                seen.append(state["percent"])
            if state["status"] == "failed":
                raise SystemExit(f"export {job} failed: {state['error']}")
            if state["status"] == "ready":
                ready = time.perf_counter() - started
                return ready, self.ok(state["file"]), seen
            time.sleep(poll)


def get(base: str, path: str, headers: dict | None = None) -> tuple[int, bytes, dict]:
    return _fetch(urllib.request.build_opener(), base + path, headers)


def get_ok(base: str, path: str, headers: dict | None = None) -> bytes:
    """The body of ``path``, which must answer 200."""
    return _ok(*get(base, path, headers)[:2])


def _ok(status: int, body: bytes) -> bytes:
    assert status == 200, (status, body[:300])
    return body


def _fetch(opener, url: str, headers: dict | None) -> tuple[int, bytes, dict]:
    try:
        response = opener.open(urllib.request.Request(url, headers=headers or {}), timeout=300)
        return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


def timed(fn, runs: int = 5) -> tuple[float, object]:
    """The median of ``runs`` calls (after one warm-up), in seconds, and the last result."""
    result = fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def sql_timer(app, sql: str, params: dict | None = None):
    """A function running ``sql`` on the city database and fetching every row (a baseline)."""
    from sqlalchemy import text

    from learning.extensions import db

    def run():
        with app.app_context():
            return db.session.execute(text(sql), params or {}).all()

    return run


def load() -> str:
    one, five, _fifteen = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} CPUs"


def report(title: str, rows: list[tuple[str, float, str, float, str]]) -> None:
    """rows: (measure, ours in s, baseline name, baseline in s, goal)."""
    print(f"\n{title} — {time.strftime('%Y-%m-%d %H:%M')}, {load()}")
    print(f"{'measure':58} {'ours':>9} {'baseline':>9} {'ratio':>7}  goal")
    for measure, ours, baseline_name, baseline, goal in rows:
        ratio = ours / baseline if baseline else float("nan")
        print(f"{measure:58} {ours * 1000:7.0f}ms {baseline * 1000:7.0f}ms {ratio:7.2f}  {goal}  [baseline: {baseline_name}]")
