"""Effective study time, measured by the server.

Opening a lesson starts a session and closes the member's other open session, so a second tab
or device pauses the first and two lessons never run at once (a partial unique index makes that
hold under races too).  The page then sends a heartbeat every ``HEARTBEAT_SECONDS`` while the
lesson is visible (and, for media, playing).  Only the server's clock counts:

- a heartbeat is credited the time since the last accepted one, which is never more than the
  wall-clock time and never more than ``MAX_GAP_SECONDS``; progress counts whole seconds and the
  fraction left over is carried to the next beat (truncating it lost up to a second a beat);
- one that comes sooner than ``MIN_GAP_SECONDS`` is refused (too fast) and moves nothing;
- one that comes later than ``MAX_GAP_SECONDS`` is accepted as a new start but credits nothing
  (the tab was hidden, the phone slept);
- its sequence number must grow (a replayed or reordered beat is refused);
- a hidden page or paused media credits nothing; media credits no more than the position moved
  (plus a little slack), and a lesson's media credits no more than its length plus a margin;
- the client's own idea of a duration is never read.

Two beats of one session racing are settled by a compare-and-set on ``last_seq``.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime
from types import SimpleNamespace

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from learning.accounts.models import Account
from learning.accounts.services import token_check_joined
from learning.courses.models import Lesson, LessonProgress, StudySession
from learning.db import leave_autocommit, utcnow
from learning.extensions import db
from learning.orgs.models import Member

HEARTBEAT_SECONDS = 15
MIN_GAP_SECONDS = 10
MAX_GAP_SECONDS = 45
POSITION_SLACK_SECONDS = 3
MEDIA_MARGIN = 1.1  # a media lesson credits at most 110 % of its length
END_TOLERANCE_SECONDS = 1.5


def now() -> datetime:
    """The server's clock (tests move it)."""
    return utcnow()


class StudyError(ValueError):
    """Why a heartbeat was refused; ``code`` is for clients, the message for people."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass
class BeatResult:
    credited: int
    lesson_seconds: int
    lesson_completed: bool
    course_completed: bool
    note: str  # accepted | late | hidden | paused


def start_session(member: Member, lesson: Lesson) -> StudySession:
    """Open ``lesson`` for ``member``; any other open session of theirs is closed first.  Commits,
    like a heartbeat; a refusal leaves nothing behind."""
    if lesson.retired_at is not None or not lesson.course.published:
        raise StudyError("unavailable", "this lesson is not available")
    moment = now()
    for _attempt in range(3):
        db.session.execute(
            update(StudySession)
            .where(StudySession.member_id == member.id, StudySession.closed_at.is_(None))
            .values(closed_at=moment, closed_reason="superseded")
            .execution_options(synchronize_session=False)
        )
        session = StudySession(
            token=secrets.token_urlsafe(32), member_id=member.id, lesson_id=lesson.id,
            started_at=moment, last_beat_at=moment, last_seq=0, credited_seconds=0,
        )
        try:
            with db.session.begin_nested():
                db.session.add(session)
        except IntegrityError:  # another device opened a lesson at the same moment: close it too
            continue
        _progress(member.id, lesson.id)
        db.session.commit()
        return session
    db.session.rollback()
    raise StudyError("busy", "another device keeps opening lessons; try again")


def session_for(member: Member | int, token: str) -> StudySession:
    """The member's (a member or its id) study session ``token``, with its lesson."""
    member_id = member if isinstance(member, int) else member.id
    session = db.session.scalar(
        select(StudySession).options(joinedload(StudySession.lesson))
        .where(StudySession.token == (token or ""), StudySession.member_id == member_id)
    )
    if session is None:
        raise StudyError("unknown_session", "no such study session")
    return session


def _progress(member_id: int, lesson_id: int) -> LessonProgress:
    progress = db.session.scalar(
        select(LessonProgress).where(LessonProgress.member_id == member_id, LessonProgress.lesson_id == lesson_id)
    )
    if progress is None:
        progress = LessonProgress(member_id=member_id, lesson_id=lesson_id, seconds=0, reached_end=False)
        try:
            with db.session.begin_nested():
                db.session.add(progress)
        except IntegrityError:
            progress = db.session.scalar(
                select(LessonProgress).where(LessonProgress.member_id == member_id, LessonProgress.lesson_id == lesson_id)
            )
    return progress


def _refuse(session_id: int, code: str, message: str):
    db.session.execute(update(StudySession).where(StudySession.id == session_id)
                       .values(rejected_beats=StudySession.rejected_beats + 1))
    db.session.commit()
    raise StudyError(code, message)


def _beat_state(member_id: int, token: str, row=None):
    """The session, its lesson's rules and the member's progress in it: one joined read in Core, or
    the row read with the caller's token (:data:`BEAT_WITH_TOKEN`)."""
    if row is None:
        row = db.session.connection().execute(_BEAT_READ, {"token": token or "", "member_id": member_id}).first()
    if row is None or row.id is None:
        raise StudyError("unknown_session", "no such study session")
    return row


# The beat's statements, built once (a statement object reused is neither built nor keyed again) and
# run on the session's connection (the ORM's execute around a Core statement was a fifth of a beat).
_BEAT_COLUMNS = (StudySession.id, StudySession.closed_at, StudySession.last_seq, StudySession.last_beat_at,
                 StudySession.last_position, StudySession.carry_seconds, StudySession.lesson_id,
                 Lesson.kind, Lesson.media_seconds, Lesson.min_seconds, LessonProgress.id.label("progress_id"),
                 LessonProgress.seconds, LessonProgress.reached_end, LessonProgress.completed_at)


def _lesson_and_progress(query):
    """The session's lesson and the member's progress in it (outer: the session itself may be missing)."""
    return (query.outerjoin(Lesson, Lesson.id == StudySession.lesson_id)
            .outerjoin(LessonProgress, (LessonProgress.member_id == StudySession.member_id)
                       & (LessonProgress.lesson_id == StudySession.lesson_id)))


_BEAT_READ = _lesson_and_progress(select(*_BEAT_COLUMNS).select_from(StudySession)).where(
    StudySession.token == bindparam("token"), StudySession.member_id == bindparam("member_id"))
# The same read riding on the caller's token check (``api.member_token_required(joined=…)``): one round
# trip for both; a good token with no such session of the member's comes back with NULLs here.
BEAT_WITH_TOKEN = token_check_joined(lambda query: _lesson_and_progress(
    query.add_columns(*_BEAT_COLUMNS)
    .outerjoin(StudySession, (StudySession.token == bindparam("session_token"))
               & (StudySession.member_id == Account.member_id))))
_BEAT_CLAIM = (  # compare-and-set on last_seq: of two beats racing, one moves the session
    update(StudySession)
    .where(StudySession.id == bindparam("session_id"), StudySession.last_seq == bindparam("seen_seq"),
           StudySession.closed_at.is_(None))
    .values(last_seq=bindparam("seq"), last_beat_at=bindparam("moment"), last_position=bindparam("position"),
            credited_seconds=StudySession.credited_seconds + bindparam("credit"), carry_seconds=bindparam("carry"))
    .execution_options(synchronize_session=False)
)


@lru_cache(maxsize=8)
def _progress_update(changed: frozenset):
    values = {"seconds": LessonProgress.seconds + bindparam("added"), "reached_end": True,
              "completed_at": bindparam("moment")}
    return (update(LessonProgress).where(LessonProgress.id == bindparam("progress_id"))
            .values(**{k: v for k, v in values.items() if k in changed})
            .execution_options(synchronize_session=False))


@lru_cache(maxsize=8)
def _claim_and_progress(changed: frozenset):
    """PostgreSQL: the compare-and-set and the progress's update as one statement (one round trip, one
    transaction even in autocommit); the progress moves only if the claim did.  Returns (claimed, moved)."""
    claimed = _BEAT_CLAIM.returning(StudySession.id).cte("claimed")
    moved = _progress_update(changed).where(select(claimed.c.id).exists()).returning(LessonProgress.id).cte("moved")
    return select(select(func.count()).select_from(claimed).scalar_subquery(),
                  select(func.count()).select_from(moved).scalar_subquery())


def heartbeat(member: Member | int, token: str, *, seq: int, visible: bool = True, playing: bool | None = None,
              position: float | None = None, state=None) -> BeatResult:
    """Credit the time since the last accepted beat, if this beat deserves it; commits.  ``member``
    may be the member's id; ``state`` the row :data:`BEAT_WITH_TOKEN` read with the caller's token.

    The hot path of a lesson (every member studying beats every ``HEARTBEAT_SECONDS``): one joined
    read and, on PostgreSQL, one statement that claims the session and moves the progress (in the
    request's autocommit, no transaction around it); elsewhere the claim and the update in a
    transaction.  A beat that completes the lesson (or finds its progress row missing) runs in a
    transaction of its own, where the member and the lesson are loaded and points awarded."""
    from learning.courses import services

    member_id = member if isinstance(member, int) else member.id
    session = _beat_state(member_id, token, state)
    if session.closed_at is not None:
        _refuse(session.id, "paused", "this lesson was opened elsewhere; open it again to continue here")
    if not isinstance(seq, int) or seq <= session.last_seq:
        _refuse(session.id, "replayed", "this heartbeat was already received")
    moment = now()
    elapsed = (moment - session.last_beat_at).total_seconds()
    if elapsed < MIN_GAP_SECONDS:
        _refuse(session.id, "too_fast", "heartbeats came faster than the page sends them")
    media = session.kind.is_media
    earned, note = 0.0, "accepted"
    new_position = session.last_position
    if media and position is not None:
        new_position = max(0.0, min(float(position), float(session.media_seconds or 0)))
    if elapsed > MAX_GAP_SECONDS:
        note = "late"
    elif not visible:
        note = "hidden"
    elif media:
        if not playing or position is None:
            note = "paused"
        else:
            moved = new_position - (session.last_position or 0.0)
            # Media that does not move earns nothing, however long it "plays".
            earned = min(elapsed, moved + POSITION_SLACK_SECONDS) if moved > 0 else 0.0
    else:
        earned = elapsed
    carried = (session.carry_seconds or 0.0) + earned
    credit = int(carried)
    claim = {"session_id": session.id, "seen_seq": session.last_seq, "seq": seq, "moment": moment,
             "position": new_position, "credit": credit, "carry": carried - credit}

    if session.progress_id is None:  # made when the session started; made again if it went missing
        leave_autocommit()
        made = _progress(member_id, session.lesson_id)
        progress = SimpleNamespace(id=made.id, seconds=made.seconds, reached_end=made.reached_end,
                                   completed_at=made.completed_at)
    else:
        progress = SimpleNamespace(id=session.progress_id, seconds=session.seconds, reached_end=session.reached_end,
                                   completed_at=session.completed_at)
    changed = set()
    added = credit
    if media:
        cap = int((session.media_seconds or 0) * MEDIA_MARGIN)
        added = max(0, min(credit, cap - progress.seconds))
        if new_position is not None and session.media_seconds and \
                new_position >= session.media_seconds - END_TOLERANCE_SECONDS and not progress.reached_end:
            progress.reached_end = True
            changed.add("reached_end")
    if added:
        progress.seconds += added
        changed.add("seconds")
    # the read row carries the lesson's kind and min_seconds, all lesson_is_complete reads of a lesson
    lesson_done = progress.completed_at is None and services.lesson_is_complete(session, progress)
    if lesson_done:
        changed.add("completed_at")
    values = {"progress_id": progress.id, "added": added, "moment": moment}

    if session.progress_id is not None and not lesson_done and db.engine.dialect.name == "postgresql":
        if changed:  # a beat that credits nothing leaves the progress (and its time of change) alone
            claimed, _moved = db.session.connection().execute(_claim_and_progress(frozenset(changed)),
                                                              {**claim, **values}).one()
        else:
            claimed = db.session.connection().execute(_BEAT_CLAIM, claim).rowcount
        if claimed != 1:
            _replayed()
        db.session.commit()
        return BeatResult(added, progress.seconds, False, False, note)

    leave_autocommit()
    if db.session.connection().execute(_BEAT_CLAIM, claim).rowcount != 1:
        _replayed()
    if changed:
        db.session.connection().execute(_progress_update(frozenset(changed)), values)
    course_done = False
    if lesson_done:
        if isinstance(member, int):
            member = db.session.get(Member, member_id)
        course_done = services.on_lesson_completed(member, db.session.get(Lesson, session.lesson_id), moment)
    db.session.commit()
    return BeatResult(added, progress.seconds, lesson_done, course_done, note)


def _replayed():
    db.session.rollback()
    raise StudyError("replayed", "another heartbeat of this session was received at the same time")


def close_session(member: Member, token: str) -> None:
    """The page was closed or left; the last stretch since the last beat is not credited."""
    session = session_for(member, token)
    if session.closed_at is None:
        session.closed_at = now()
        session.closed_reason = "closed"
    db.session.commit()
