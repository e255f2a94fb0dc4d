"""A heartbeat through the API, the hot path of studying: on PostgreSQL one statement in autocommit
(``courses.beat_sql``: the token, the read, the rules and the writes; no BEGIN or COMMIT), elsewhere
the token check carrying the session's read, then the writes; a beat that completes a lesson runs
in a transaction of its own; every refusal of the token still holds and moves nothing."""
from __future__ import annotations

import math
from contextlib import contextmanager
from datetime import datetime, timezone

import pytest
from sqlalchemy import event, select

from learning.accounts.models import Account, ApiToken, TokenScope
from learning.courses.models import LessonProgress, StudySession
from learning.orgs.models import Member
from learning.points.models import LedgerEntry
from tests.api.test_api import auth, token_for

from .test_study import BEAT, lesson, member, seconds


@contextmanager
def statements_seen(db):
    """Each statement's first word and whether its connection was in autocommit, and the connections,
    as the driver sees them: on PostgreSQL every psycopg cursor's execute (the hot paths' one
    statement goes to the driver without SQLAlchemy), elsewhere SQLAlchemy's cursor events."""
    seen, connections = [], []
    if db.engine.dialect.name == "postgresql":
        import psycopg

        execute = psycopg.Cursor.execute

        def recording(cursor, query, *args, **kwargs):
            text = query if isinstance(query, str) else query.decode()
            if text.strip() == "SELECT 1":  # the pool testing a connection that lay idle, not the call
                return execute(cursor, query, *args, **kwargs)
            seen.append((text.split()[0].upper(), cursor.connection.autocommit))
            connections.append(cursor.connection)
            return execute(cursor, query, *args, **kwargs)

        psycopg.Cursor.execute = recording
        try:
            yield seen, connections
        finally:
            psycopg.Cursor.execute = execute
        return

    def record(conn, cursor, statement, params, context, executemany):
        dbapi = conn.connection.dbapi_connection
        seen.append((statement.split()[0].upper(), getattr(dbapi, "autocommit", None)))
        connections.append(dbapi)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen, connections
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def beat(client, token, seq, headers, **body):
    return client.post(f"/api/v1/study-sessions/{token}/heartbeats", json={"seq": seq, **body}, headers=headers)


def test_a_beat_is_one_statement_in_autocommit(client, db, tree, courses, clock):
    postgres = db.engine.dialect.name == "postgresql"
    headers = auth(token_for(client, "member"))
    who, text = member(db, tree), lesson(db, "party-discipline", "01-six-disciplines")
    started = client.post(f"/api/v1/lessons/{text.id}/sessions", headers=headers).get_json()
    clock.advance(BEAT)
    with statements_seen(db) as (seen, connections):
        response = beat(client, started["token"], 1, headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["credited"] == BEAT and response.get_json()["lesson_seconds"] == BEAT
    if postgres:
        assert seen == [("WITH", True)]  # the token, the read, the rules and the writes: beat_sql
        assert connections[0].autocommit is False  # back in the pool, out of autocommit
    else:
        assert [word for word, _ in seen] == ["SELECT", "UPDATE", "UPDATE"]
    assert seconds(db, who, text) == BEAT
    db.session.expire_all()
    session = db.session.scalar(select(StudySession).where(StudySession.token == started["token"]))
    assert (session.last_seq, session.credited_seconds, session.last_beat_at) == (1, BEAT, clock.moment)

    # a hidden beat moves the session only: one statement
    clock.advance(BEAT)
    with statements_seen(db) as (seen, _connections):
        hidden = beat(client, started["token"], 2, headers, visible=False)
    assert (hidden.status_code, hidden.get_json()["credited"], hidden.get_json()["note"]) == (200, 0, "hidden")
    assert [word for word, _ in seen] == (["WITH"] if postgres else ["SELECT", "UPDATE"])
    assert seconds(db, who, text) == BEAT


def test_behind_pgbouncer_a_beat_keeps_its_transaction_and_so_its_time_limits(client, db, tree, courses, clock,
                                                                             app, monkeypatch):
    """Behind PgBouncer the time limits are set at each transaction's start: a statement in autocommit
    would run without them, so there the hot paths stay in transactions."""
    monkeypatch.setitem(app.config, "DB_POOLER", "pgbouncer")
    headers = auth(token_for(client, "member"))
    text = lesson(db, "party-discipline", "01-six-disciplines")
    token = client.post(f"/api/v1/lessons/{text.id}/sessions", headers=headers).get_json()["token"]
    clock.advance(BEAT)
    with statements_seen(db) as (seen, _connections):
        assert beat(client, token, 1, headers).get_json()["credited"] == BEAT
    assert len(seen) >= 2 and all(autocommit is not True for _word, autocommit in seen)


def test_the_completing_beat_runs_in_a_transaction_and_awards_once(client, db, tree, courses, clock):
    headers = auth(token_for(client, "member"))
    who, text = member(db, tree), lesson(db, "party-discipline", "01-six-disciplines")
    token = client.post(f"/api/v1/lessons/{text.id}/sessions", headers=headers).get_json()["token"]
    needed = math.ceil(text.min_seconds / BEAT)
    for seq in range(1, needed):
        clock.advance(BEAT)
        assert beat(client, token, seq, headers).get_json()["lesson_completed"] is False
    clock.advance(BEAT)
    with statements_seen(db) as (seen, _connections):
        done = beat(client, token, needed, headers)
    assert done.status_code == 200 and done.get_json()["lesson_completed"] is True
    assert done.get_json()["lesson_seconds"] == needed * BEAT
    if db.engine.dialect.name == "postgresql":
        # the one statement matches nothing (it never completes a lesson), the token check and the read in
        # autocommit; the claim, the progress and the award in one transaction
        assert seen[:2] == [("WITH", True), ("SELECT", True)]
        assert all(autocommit is False for _word, autocommit in seen[2:]) and ("INSERT", False) in seen
    awarded = db.session.scalars(select(LedgerEntry.source_key).where(LedgerEntry.member_id == who.id)).all()
    assert awarded.count(f"lesson:{text.id}") == 1
    progress = db.session.scalar(select(LessonProgress).where(LessonProgress.member_id == who.id,
                                                              LessonProgress.lesson_id == text.id))
    assert progress.completed_at == clock.moment and progress.seconds == needed * BEAT
    clock.advance(BEAT)
    again = beat(client, token, needed + 1, headers)
    assert again.get_json()["lesson_completed"] is False
    assert sorted(db.session.scalars(select(LedgerEntry.source_key).where(LedgerEntry.member_id == who.id))) \
        == sorted(awarded)


def _tokens_set(name, **values):
    """A spoiler that sets ``values`` on the account's tokens."""
    def spoil(db, account):
        db.session.execute(ApiToken.__table__.update().where(ApiToken.account_id == account.id).values(**values))

    spoil.__name__ = name
    return spoil


_revoke = _tokens_set("_revoke", revoked_at=datetime(2026, 1, 1, tzinfo=timezone.utc))
_expire = _tokens_set("_expire", expires_at=datetime(2000, 1, 1, tzinfo=timezone.utc))
_temporary_password = _tokens_set("_temporary_password", scope=TokenScope.PASSWORD_CHANGE)


def _deactivate_account(db, account):
    account.active = False


def _deactivate_member(db, account):
    db.session.get(Member, account.member_id).active = False


REFUSALS = [(_revoke, 401, None), (_expire, 401, None), (_deactivate_account, 401, None),
            (_deactivate_member, 401, None), (_temporary_password, 403, "password_change_required")]


@pytest.mark.parametrize("spoil,status,code", REFUSALS, ids=lambda v: getattr(v, "__name__", str(v)))
def test_a_token_that_no_longer_holds_moves_nothing(client, db, tree, courses, clock, spoil, status, code):
    headers = auth(token_for(client, "member"))
    who, text = member(db, tree), lesson(db, "party-discipline", "01-six-disciplines")
    token = client.post(f"/api/v1/lessons/{text.id}/sessions", headers=headers).get_json()["token"]
    spoil(db, db.session.scalar(select(Account).where(Account.username == "member")))
    db.session.commit()
    clock.advance(BEAT)
    response = beat(client, token, 1, headers)
    assert response.status_code == status and response.mimetype == "application/problem+json"
    assert response.get_json().get("code") == code
    db.session.expire_all()
    session = db.session.scalar(select(StudySession).where(StudySession.token == token))
    assert (session.last_seq, session.credited_seconds, seconds(db, who, text)) == (0, 0, 0)


def test_someone_elses_or_no_session_is_unknown_and_the_token_is_noted_once_a_minute(client, db, tree, courses,
                                                                                       clock, time_machine):
    time_machine.move_to(datetime(2026, 11, 10, 2, 0, tzinfo=timezone.utc), tick=False)
    mine = auth(token_for(client, "member"))
    theirs = auth(token_for(client, "g1member"))
    text = lesson(db, "party-discipline", "01-six-disciplines")
    token = client.post(f"/api/v1/lessons/{text.id}/sessions", headers=mine).get_json()["token"]
    clock.advance(BEAT)
    for headers, path_token in ((theirs, token), (mine, "no-such-session"), (mine, "x" * 2000)):
        response = beat(client, path_token, 1, headers)
        assert response.status_code == 404 and response.get_json()["code"] == "unknown_session"
    record = db.session.scalar(select(ApiToken).join(Account).where(Account.username == "member"))
    record.last_used_at = None
    db.session.commit()
    time_machine.move_to(datetime(2026, 11, 10, 2, 5, tzinfo=timezone.utc), tick=False)
    assert beat(client, token, 1, mine).status_code == 200
    db.session.expire_all()
    assert db.session.get(ApiToken, record.id).last_used_at == datetime(2026, 11, 10, 2, 5, tzinfo=timezone.utc)
    time_machine.move_to(datetime(2026, 11, 10, 2, 5, 30, tzinfo=timezone.utc), tick=False)
    clock.advance(BEAT)
    assert beat(client, token, 2, mine).status_code == 200
    db.session.expire_all()  # written at most once a minute
    assert db.session.get(ApiToken, record.id).last_used_at == datetime(2026, 11, 10, 2, 5, tzinfo=timezone.utc)


@pytest.mark.parametrize("body", [{"seq": "one"}, {"seq": 1, "duration": 3600}], ids=["bad-seq", "unknown-field"])
def test_a_bad_token_is_401_whatever_the_body_and_a_good_one_gets_the_bodys_422(client, db, tree, courses, clock,
                                                                                 body):
    """The one statement leaves the token to SQL, but a body the schema refuses still has the token
    checked first: the same answers as on SQLite and behind PgBouncer."""
    headers = auth(token_for(client, "member"))
    text = lesson(db, "party-discipline", "01-six-disciplines")
    token = client.post(f"/api/v1/lessons/{text.id}/sessions", headers=headers).get_json()["token"]
    path = f"/api/v1/study-sessions/{token}/heartbeats"
    for bad in (auth("lrn_not-a-token"), auth("not-even-ours"), {}):
        refused = client.post(path, json=body, headers=bad)
        assert (refused.status_code, refused.mimetype) == (401, "application/problem+json"), refused.get_json()
    unreadable = client.post(path, data="{not json", headers={**auth("lrn_not-a-token"),
                                                              "Content-Type": "application/json"})
    assert unreadable.status_code == 401
    invalid = client.post(path, json=body, headers=headers)
    assert invalid.status_code == 422, invalid.get_json()
    assert set(invalid.get_json()["errors"]) & {"json.seq", "json.duration", "seq", "duration"}, invalid.get_json()
