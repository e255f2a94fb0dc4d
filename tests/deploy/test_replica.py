"""A real streaming replica (pg_basebackup of a primary, hot standby on another port) behind the
heavy read-only pages: they read it when it is there and current, the primary when it is behind
or down, and a visitor always sees their own writes; writes never go to it."""
from __future__ import annotations

import re
import time

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from learning import create_app, replica as routing
from learning.accounts.models import Account
from learning.config import PACKAGE_DIR
from learning.engines import dispose_extra_engines
from learning.extensions import db as _db
from learning.orgs.models import Member
from tests.conftest import FreshContextClient
from tests.deploy.conftest import wait_replayed
from tests.factories import PASSWORD, build_tree, give_points


@pytest.fixture(scope="module")
def site(streaming_replica, tmp_path_factory):
    primary, replica = streaming_replica
    app = create_app({
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": primary.url, "DATABASE_REPLICA_URL": replica.url,
        "INSTANCE_PATH": str(tmp_path_factory.mktemp("instance")), "SECRET_KEY": "x",
        "SESSION_COOKIE_SECURE": False, "WTF_CSRF_ENABLED": False, "RATELIMIT_STORAGE_URI": "memory://",
        # Not RATELIMIT_ENABLED=False: the limiter is one object, and a second app switching it off
        # switches it off for every later test of the session.
        "LOGIN_RATE_LIMIT": "1000 per minute", "LOGIN_ACCOUNT_RATE_LIMIT": "1000 per hour",
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", "REPLICA_MAX_LAG_SECONDS": 3600,
    })
    app.test_client_class = FreshContextClient
    with app.app_context():
        _db.create_all()
        from learning.points.services import load_rules

        load_rules(PACKAGE_DIR / "content" / "points" / "rules.yaml")
        ids = build_tree().ids()
        give_points(_db.session.get(Member, ids["members"]["b2_member"]), 2,
                    _db.session.get(Account, ids["accounts"]["superadmin"]))
        _db.session.commit()
    wait_replayed(primary, replica)
    counts = {"primary": 0, "replica": 0}
    with app.app_context():
        engines = {"primary": _db.engine, "replica": routing.replica_engine(app)}
    for name, engine in engines.items():
        def count(_conn, _cursor, statement, *_args, name=name):
            if "pg_last_wal_replay_lsn" not in statement and "pg_current_wal_lsn" not in statement:
                counts[name] += 1  # the page's statements, not the routing's own checks

        sa.event.listen(engine, "before_cursor_execute", count)
    yield {"app": app, "ids": ids, "counts": counts, "primary": primary, "replica": replica}
    with app.app_context():
        _db.session.remove()
        _db.engine.dispose()
    dispose_extra_engines()


def logged_in(app, username: str):
    client = app.test_client()
    answer = client.post("/login", data={"username": username, "password": PASSWORD})
    assert answer.status_code == 302, answer.get_data(as_text=True)[:300]
    return client


def ranking_points(client, name: str, org_id: int, site) -> tuple[int, dict]:
    """(the member's points on the rankings page, statements run on each database by the page)."""
    before = dict(site["counts"])
    page = client.get(f"/admin/points/rankings?org={org_id}")
    assert page.status_code == 200
    used = {k: site["counts"][k] - before[k] for k in before}
    match = re.search(rf"<td>{name}</td><td>[^<]*</td><td class=\"num\">(-?\d+)</td>", page.get_data(as_text=True))
    assert match, f"{name} is not on the page"
    return int(match.group(1)), used


def test_rankings_read_the_replica_and_writes_stay_on_the_primary(site):
    app, ids = site["app"], site["ids"]
    reviewer = logged_in(app, "reviewer")
    points, used = ranking_points(reviewer, "钱二支", ids["orgs"]["C"], site)
    assert points == 2
    assert used["replica"] >= 3  # the ranking's own statements
    # An export is read there too, while its audit entry is written on the primary (a hot standby
    # would refuse the INSERT).
    export = reviewer.get(f"/admin/points/export?org={ids['orgs']['C']}&format=csv")
    assert export.status_code == 200 and "钱二支" in export.get_data(as_text=True)
    with app.app_context():
        from learning.audit.models import AuditEntry

        assert _db.session.scalar(select(func.count()).select_from(AuditEntry)
                                  .where(AuditEntry.action == "data.exported")) == 1
    # A member's own pages stay on the primary.
    member = logged_in(app, "member")
    before = dict(site["counts"])
    assert member.get("/points").status_code == 200
    assert site["counts"]["replica"] == before["replica"]


def test_behind_it_is_skipped_and_a_visitor_reads_their_own_writes(site):
    app, ids, primary, replica = site["app"], site["ids"], site["primary"], site["replica"]
    reviewer = logged_in(app, "reviewer")
    orgadmin = logged_in(app, "orgadmin")
    wait_replayed(primary, replica)
    before, _ = ranking_points(reviewer, "王党员", ids["orgs"]["C"], site)  # (a login may have paid a point)
    replica.sql("SELECT pg_wal_replay_pause()")
    try:
        with app.app_context():
            give_points(_db.session.get(Member, ids["members"]["b2_member"]), 3,
                        _db.session.get(Account, ids["accounts"]["superadmin"]))
            _db.session.commit()
        time.sleep(1.1)
        # Allowed to lag an hour: the reviewer reads the replica, which has not replayed the +3.
        points, used = ranking_points(reviewer, "钱二支", ids["orgs"]["C"], site)
        assert (points, used["primary"] > 0, used["replica"] > 0) == (2, True, True)
        # Allowed to lag a second: it is behind, the page reads the primary.
        app.config["REPLICA_MAX_LAG_SECONDS"] = 1
        points, used = ranking_points(reviewer, "钱二支", ids["orgs"]["C"], site)
        assert (points, used["replica"]) == (5, 0)
        app.config["REPLICA_MAX_LAG_SECONDS"] = 3600

        # The org admin gives +5 through the page, then opens the ranking: their own write shows,
        # although the replica (still paused) has not got it; the reviewer still reads the replica.
        given = orgadmin.post(f"/admin/members/{ids['members']['b1_member']}/points",
                              data={"direction": "bonus", "points": "5", "reason": "志愿服务表现突出",
                                    "request_id": "replica-test-1"})
        assert given.status_code == 302
        points, used = ranking_points(orgadmin, "王党员", ids["orgs"]["GB"], site)
        assert (points, used["replica"]) == (before + 5, 0)
        points, used = ranking_points(reviewer, "王党员", ids["orgs"]["C"], site)
        assert points == before and used["replica"] > 0
    finally:
        replica.sql("SELECT pg_wal_replay_resume()")
    wait_replayed(primary, replica)
    points, used = ranking_points(reviewer, "王党员", ids["orgs"]["C"], site)
    assert points == before + 5 and used["replica"] > 0
    points, used = ranking_points(orgadmin, "王党员", ids["orgs"]["GB"], site)  # caught up: replica again
    assert points == before + 5 and used["replica"] > 0


def test_when_the_replica_is_down_the_pages_read_the_primary(site):
    app, ids, replica = site["app"], site["ids"], site["replica"]
    reviewer = logged_in(app, "reviewer")
    replica.stop()
    try:
        points, used = ranking_points(reviewer, "钱二支", ids["orgs"]["C"], site)
        assert points == 5 and used["replica"] == 0 and used["primary"] > 0
        started = time.monotonic()
        ranking_points(reviewer, "钱二支", ids["orgs"]["C"], site)
        assert time.monotonic() - started < 1.5  # not waiting for the dead replica again
    finally:
        replica.start()
        routing._down_until.clear()
