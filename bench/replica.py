"""What a read replica costs and how far behind it is, measured on this machine.

Sets up what tests/deploy/test_replica.py sets up (a primary from initdb, a streaming replica from
pg_basebackup on another port), fills the primary with a branch-sized tree and ledger, then prints:

* the rankings page read from the primary alone, and routed to the replica (the routing check
  included), median of N requests each, and the ratio;
* the routing check on its own (two short queries);
* how long a committed write takes to be replayed on the replica (median and p95 of 50 writes).

Run: .venv/bin/python bench/replica.py [--members 2000] [--requests 40]
(as root it runs PostgreSQL as the postgres user, like the tests).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from learning import create_app, replica as routing  # noqa: E402
from learning.config import PACKAGE_DIR  # noqa: E402
from learning.engines import dispose_extra_engines  # noqa: E402
from learning.extensions import db  # noqa: E402
from tests.deploy.conftest import owned_folder, start_replica_pair, wait_replayed  # noqa: E402
from tests.factories import PASSWORD, build_tree  # noqa: E402


def fill(members: int, ids: dict) -> None:
    """Members in one branch, each with one manual award (through the services, as the app does)."""
    from learning.accounts.models import Account
    from learning.orgs.models import Organisation
    from learning.orgs.services import create_member
    from tests.factories import give_points

    branch = db.session.get(Organisation, ids["orgs"]["B1"])
    admin = db.session.get(Account, ids["accounts"]["superadmin"])
    for n in range(members):
        member = create_member(f"党员{n:05d}", branch, external_id=f"bench-{n}")
        give_points(member, n % 9 + 1, admin)
        if n % 500 == 499:
            db.session.commit()
    db.session.commit()


def median_ms(action, count: int) -> float:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        primary, replica = start_replica_pair(owned_folder(Path(folder)))
        try:
            run(primary, replica, args, Path(folder))
        finally:
            replica.stop()
            primary.stop()


def run(primary, replica, args, folder: Path) -> None:
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": primary.url, "DATABASE_REPLICA_URL": replica.url,
                      "INSTANCE_PATH": str(folder / "instance"), "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False,
                      "SESSION_COOKIE_SECURE": False, "RATELIMIT_ENABLED": False,
                      "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    with app.app_context():
        db.create_all()
        from learning.points.services import load_rules

        load_rules(PACKAGE_DIR / "content" / "points" / "rules.yaml")
        ids = build_tree().ids()
        fill(args.members, ids)
        db.session.commit()
    client = app.test_client()
    client.post("/login", data={"username": "reviewer", "password": PASSWORD})
    url = f"/admin/points/rankings?org={ids['orgs']['C']}"

    def page():
        answer = client.get(url)
        assert answer.status_code == 200, answer.status_code

    wait_replayed(primary, replica)
    page()
    routed = median_ms(page, args.requests)
    saved = app.config["DATABASE_REPLICA_URL"]
    app.config["DATABASE_REPLICA_URL"] = None
    direct = median_ms(page, args.requests)
    app.config["DATABASE_REPLICA_URL"] = saved
    with app.test_request_context():
        check = median_ms(lambda: routing.choose(app), args.requests * 5)

    delays = []
    engine = sa.create_engine(primary.url)
    standby = sa.create_engine(replica.url)
    with engine.connect() as conn, standby.connect() as watch:
        conn.execute(sa.text("CREATE TABLE IF NOT EXISTS bench_tick (n int)"))
        conn.commit()
        for n in range(50):
            conn.execute(sa.text("INSERT INTO bench_tick VALUES (:n)"), {"n": n})
            conn.commit()
            lsn = routing.lsn_value(conn.scalar(sa.text("SELECT pg_current_wal_lsn()::text")))
            started = time.perf_counter()
            while routing.lsn_value(watch.scalar(sa.text("SELECT pg_last_wal_replay_lsn()::text"))) < lsn:
                pass
            delays.append((time.perf_counter() - started) * 1000)
    engine.dispose()
    standby.dispose()
    with app.app_context():
        db.engine.dispose()
        dispose_extra_engines()
    delays.sort()
    print(f"rankings page, {args.members} members: primary {direct:.1f} ms, via the replica {routed:.1f} ms "
          f"(ratio {routed / direct:.2f}); the routing check alone {check:.2f} ms")
    print(f"a commit replayed on the replica after: median {statistics.median(delays):.2f} ms, "
          f"p95 {delays[int(len(delays) * 0.95) - 1]:.2f} ms (50 writes)")


if __name__ == "__main__":
    main()
