"""The heartbeat's one statement (``courses.beat_sql``) against the rules it repeats (``study.heartbeat``):
the same session, lesson and progress, the same beat, each way in turn; where the statement credits
a beat, every column it writes is what the Python writes, and the answer the same; where it declines
(None), it wrote nothing and the Python refuses the beat or completes the lesson.  PostgreSQL only
(the statement is never tried elsewhere)."""
from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from learning.accounts.models import Account
from learning.accounts.services import issue_token, token_digest
from learning.courses import beat_sql, study
from learning.courses.models import Lesson, LessonKind, LessonProgress, StudySession

from .test_study import lesson, member

SESSION_COLUMNS = (StudySession.last_seq, StudySession.last_beat_at, StudySession.last_position,
                   StudySession.credited_seconds, StudySession.carry_seconds, StudySession.rejected_beats,
                   StudySession.closed_at)
PROGRESS_COLUMNS = (LessonProgress.seconds, LessonProgress.reached_end, LessonProgress.completed_at,
                    LessonProgress.updated_at)  # the Python's is the real clock's (frozen here at the study clock's)


@pytest.fixture
def bench(db, tree, courses, clock, time_machine):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the one statement runs on PostgreSQL only")
    time_machine.move_to(clock.moment, tick=False)
    who, text = member(db, tree), lesson(db, "party-discipline", "01-six-disciplines")
    account = db.session.scalar(select(Account).where(Account.member_id == who.id))
    digest = token_digest(issue_token(account).token)
    session = study.start_session(who, text)
    return who.id, text.id, session.id, session.token, digest


def _rows(db, session_id, member_id, lesson_id):
    db.session.expire_all()
    return (tuple(db.session.execute(select(*SESSION_COLUMNS).where(StudySession.id == session_id)).one()),
            tuple(db.session.execute(select(*PROGRESS_COLUMNS).where(LessonProgress.member_id == member_id,
                                                                     LessonProgress.lesson_id == lesson_id)).one()))


def _set(db, clock, ids, case):
    member_id, lesson_id, session_id = ids[:3]
    db.session.rollback()
    db.session.execute(update(Lesson).where(Lesson.id == lesson_id).values(
        kind=case["kind"], media_seconds=case["media_seconds"], min_seconds=case["min_seconds"]))
    db.session.execute(update(StudySession).where(StudySession.id == session_id).values(
        last_seq=case["last_seq"], last_beat_at=clock.moment - timedelta(microseconds=case["elapsed_us"]),
        last_position=case["last_position"], carry_seconds=case["carry"], credited_seconds=7, rejected_beats=0,
        closed_at=clock.moment - timedelta(hours=1) if case["closed"] else None))
    db.session.execute(update(LessonProgress).where(LessonProgress.member_id == member_id,
                                                    LessonProgress.lesson_id == lesson_id).values(
        seconds=case["seconds"], reached_end=case["reached_end"],
        completed_at=clock.moment - timedelta(days=1) if case["completed"] else None,
        updated_at=clock.moment - timedelta(days=2)))
    db.session.commit()


def assert_both_ways_agree(db, clock, ids, case, beat):
    """Run the beat each way on the same rows; asserts they agree; returns (checked way's outcome, statement's)."""
    member_id, lesson_id, session_id, session_token, digest = ids
    _set(db, clock, ids, case)
    try:
        checked = study.heartbeat(member_id, session_token, **beat)
    except study.StudyError as exc:
        checked = exc.code
    checked_rows = _rows(db, session_id, member_id, lesson_id)

    _set(db, clock, ids, case)
    before = _rows(db, session_id, member_id, lesson_id)
    db.session.rollback()  # as a request starts: the connection in autocommit (api.member_token_required)
    db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    fast = beat_sql.heartbeat(digest, session_token, **beat)
    db.session.commit()
    fast_rows = _rows(db, session_id, member_id, lesson_id)

    if fast is None:
        assert fast_rows == before  # declined: nothing written
        assert isinstance(checked, str) or checked.lesson_completed, (case, beat, checked)
    else:
        assert fast == checked, (case, beat)
        assert fast_rows == checked_rows, (case, beat)
        assert not fast.lesson_completed and fast_rows[0][0] == beat["seq"]
    return checked, fast


CASES = st.fixed_dictionaries({
    "kind": st.sampled_from([LessonKind.TEXT, LessonKind.VIDEO, LessonKind.AUDIO]),
    "media_seconds": st.none() | st.integers(1, 400),
    "min_seconds": st.integers(0, 300),
    "last_seq": st.integers(0, 5),
    "elapsed_us": st.integers(0, 400_000_000) | st.sampled_from([10_000_000, 45_000_000, 45_000_001, 9_999_999]),
    "last_position": st.none() | st.floats(0, 400),
    "carry": st.floats(0, 0.999999),
    "closed": st.sampled_from([False, False, False, True]),
    "seconds": st.integers(0, 450),
    "reached_end": st.booleans(),
    "completed": st.booleans(),
})
BEATS = st.fixed_dictionaries({
    "seq": st.integers(0, 7),
    "visible": st.booleans(),
    "playing": st.none() | st.booleans(),
    "position": st.none() | st.floats(0, 450),
})


def _case(**changes):
    base = {"kind": LessonKind.VIDEO, "media_seconds": 120, "min_seconds": 60, "last_seq": 1, "elapsed_us": 15_000_000,
            "last_position": 30.0, "carry": 0.5, "closed": False, "seconds": 20, "reached_end": False,
            "completed": False}
    return {**base, **changes}


BEAT = {"seq": 2, "visible": True, "playing": True, "position": 45.0}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])  # profile: conftest
@given(case=CASES, beat=BEATS)
@example(case=_case(), beat=BEAT)  # credited: 15 s of media played
@example(case=_case(kind=LessonKind.TEXT, elapsed_us=14_900_000, carry=0.2), beat={**BEAT, "position": None})
@example(case=_case(elapsed_us=10_000_000), beat=BEAT)  # the shortest gap allowed
@example(case=_case(elapsed_us=45_000_000), beat=BEAT)  # the longest gap still credited
@example(case=_case(elapsed_us=45_000_001), beat=BEAT)  # late: a new start
@example(case=_case(seconds=130), beat=BEAT)  # 132 s is the most a 120 s video credits
@example(case=_case(min_seconds=300, last_position=100.0), beat={**BEAT, "position": 118.5})  # the end reached
@example(case=_case(min_seconds=30), beat={**BEAT, "position": 118.5})  # ... and the lesson completed
@example(case=_case(kind=LessonKind.TEXT, min_seconds=30), beat={**BEAT, "position": None})  # completed
@example(case=_case(completed=True, kind=LessonKind.TEXT), beat=BEAT)  # completed before: counted on
@example(case=_case(reached_end=True, completed=True), beat={**BEAT, "playing": False, "position": 119.0})
def test_the_one_statement_writes_what_the_rules_write_or_declines(db, bench, clock, case, beat):
    checked, fast = assert_both_ways_agree(db, clock, bench, case, beat)
    assert fast is None or fast == checked


def test_the_common_beats_are_taken_and_the_rest_declined(db, bench, clock):
    """The cases the statement is for are taken (not all declined, which would pass the comparison)."""
    taken = [assert_both_ways_agree(db, clock, bench, _case(**case), {**BEAT, **beat})[1] for case, beat in [
        ({}, {}), ({"kind": LessonKind.TEXT}, {"position": None}), ({}, {"visible": False}),
        ({}, {"playing": False}), ({"elapsed_us": 300_000_000}, {}), ({"seconds": 130}, {})]]
    assert [(result.credited, result.note) for result in taken] == [
        (15, "accepted"), (15, "accepted"), (0, "hidden"), (0, "paused"), (0, "late"), (2, "accepted")]
    declined = [assert_both_ways_agree(db, clock, bench, _case(**case), {**BEAT, **beat}) for case, beat in [
        ({"closed": True}, {}), ({}, {"seq": 1}), ({"elapsed_us": 9_999_999}, {}),
        ({"min_seconds": 30}, {"position": 118.5})]]
    assert [fast for _checked, fast in declined] == [None] * 4
    assert [getattr(checked, "lesson_completed", checked) for checked, _fast in declined] == [
        "paused", "replayed", "too_fast", True]


def test_racing_duplicate_beats_in_one_statement_credit_once(db, bench, clock, app):
    """Eight copies of one beat at once, each as the API sends it (the statement, and on a miss the
    checked way): all eight read the session before any writes it (the row is held until they all
    wait on it), and the compare-and-set on ``last_seq`` lets one through."""
    member_id, lesson_id, session_id, session_token, digest = bench
    db.session.commit()
    clock.advance(study.HEARTBEAT_SECONDS)
    outcomes = []

    def send():
        with app.app_context():
            try:
                db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
                result = beat_sql.heartbeat(digest, session_token, seq=1)
                if result is None:
                    db.session.commit()
                    result = study.heartbeat(member_id, session_token, seq=1)
                outcomes.append(result.credited)
            except study.StudyError as exc:
                outcomes.append(exc.code)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=send) for _ in range(8)]
    with db.engine.connect() as holder, db.engine.connect() as watcher:
        holder.exec_driver_sql("SELECT id FROM study_session WHERE id = %(id)s FOR UPDATE", {"id": session_id})
        for thread in threads:
            thread.start()
        waiting, deadline = 0, time.monotonic() + 20
        while waiting < 8 and time.monotonic() < deadline:
            time.sleep(0.02)
            watcher.rollback()  # the statistics views hold still within a transaction
            waiting = watcher.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%%WITH tok AS%%'"
            ).scalar()
        holder.rollback()
    for thread in threads:
        thread.join(timeout=60)
    assert waiting == 8
    assert sorted(outcomes, key=str) == sorted([study.HEARTBEAT_SECONDS] + ["replayed"] * 7, key=str), outcomes
    assert _rows(db, session_id, member_id, lesson_id)[1][0] == study.HEARTBEAT_SECONDS


@pytest.mark.parametrize("asynchronous", [True, False], ids=["async-commit", "sync-commit"])
def test_a_beat_commits_without_waiting_for_the_disk_unless_configured(db, bench, clock, app, monkeypatch,
                                                                         asynchronous):
    """``LEARNING_DB_HOT_ASYNC_COMMIT`` (on by default): right after an asynchronous commit its WAL is
    usually not yet on disk (the WAL writer flushes within 200 ms); after a synchronous one it always is."""
    member_id, lesson_id, session_id, session_token, digest = bench
    monkeypatch.setitem(app.config, "DB_HOT_ASYNC_COMMIT", asynchronous)
    db.session.execute(update(Lesson).where(Lesson.id == lesson_id).values(min_seconds=3600))  # no completing
    db.session.commit()
    unflushed = 0
    with db.engine.connect() as watcher:
        for seq in range(1, 21):
            clock.advance(study.HEARTBEAT_SECONDS)
            assert beat_sql.heartbeat(digest, session_token, seq=seq).credited == study.HEARTBEAT_SECONDS
            unflushed += watcher.exec_driver_sql(
                "SELECT pg_current_wal_flush_lsn() < pg_current_wal_insert_lsn()").scalar()
            watcher.rollback()
    assert _rows(db, session_id, member_id, lesson_id)[1][0] == 20 * study.HEARTBEAT_SECONDS
    if asynchronous:
        assert unflushed >= 10, unflushed
    else:
        assert unflushed <= 2, unflushed  # (autovacuum may write WAL of its own meanwhile)
