"""A heartbeat in one PostgreSQL statement: the hot path of studying, one round trip.

:func:`study.heartbeat` reads the session and then writes it: two round trips, and under gunicorn on
two cores that is the difference between a beat costing more than twice a bare endpoint and less
(bench/answers.py).  Here the token check, the read, the rules of a beat that is simply credited and
the writes are one statement in the request's autocommit.  It only ever takes the common case:

- the token good for everything (not revoked or expired, account and member active, no temporary
  password), the session the member's and open, the sequence grown, the gap not too short, the
  progress row there, and the lesson not completed by this beat;

and anything else — a refusal to explain, a beat that completes the lesson and awards its point, a
race lost on ``last_seq`` — matches nothing, writes nothing and returns None: the caller then takes
the checked way (:func:`learning.api.check_member_token`, :func:`study.heartbeat`), which decides and
explains as before.  A miss is never wrong, only slower.

The rules are ``study.heartbeat``'s, written again in SQL with the same constants (passed as
parameters) and the same float arithmetic (IEEE doubles on both sides); tests/courses/test_beat_sql.py
runs both on the same sessions across the cases and compares every column they write.
"""
from __future__ import annotations

from learning.accounts.token_sql import TOKEN, commit_mode, token_used
from learning.courses import study
from learning.courses.models import LessonKind
from learning.db import one_round_trip, utcnow

# Each CTE adds what the next needs, as study.heartbeat computes it line by line.
BEAT = f"""
WITH {TOKEN}, st AS (
    SELECT s.id, s.last_seq, s.last_position, s.carry_seconds, l.media_seconds, l.min_seconds,
           l.kind <> '{LessonKind.TEXT.value}' AS media, p.id AS progress_id, p.seconds, p.reached_end,
           p.completed_at, extract(epoch FROM %(now)s - s.last_beat_at)::float8 AS elapsed
    FROM tok JOIN study_session s ON s.token = %(session)s AND s.member_id = tok.member_id
    JOIN lesson l ON l.id = s.lesson_id
    JOIN lesson_progress p ON p.member_id = s.member_id AND p.lesson_id = s.lesson_id
    WHERE s.closed_at IS NULL AND s.last_seq < %(seq)s
), pos AS (
    SELECT st.*, CASE WHEN media AND %(position)s::float8 IS NOT NULL
                      THEN greatest(0::float8, least(%(position)s::float8, coalesce(media_seconds, 0)::float8))
                      ELSE last_position END AS new_position
    FROM st WHERE elapsed >= %(min_gap)s::float8
), earn AS (
    SELECT pos.*,
           CASE WHEN elapsed > %(max_gap)s::float8 THEN 'late' WHEN NOT %(visible)s::boolean THEN 'hidden'
                WHEN media AND (NOT coalesce(%(playing)s::boolean, false) OR %(position)s::float8 IS NULL)
                THEN 'paused' ELSE 'accepted' END AS note,
           coalesce(carry_seconds, 0::float8) + CASE
                WHEN elapsed > %(max_gap)s::float8 OR NOT %(visible)s::boolean THEN 0::float8
                WHEN NOT media THEN elapsed
                WHEN NOT coalesce(%(playing)s::boolean, false) OR %(position)s::float8 IS NULL THEN 0::float8
                WHEN new_position - coalesce(last_position, 0::float8) > 0
                THEN least(elapsed, new_position - coalesce(last_position, 0::float8) + %(slack)s::float8)
                ELSE 0::float8 END AS carried
    FROM pos
), credit AS (
    SELECT earn.*, trunc(carried)::integer AS credit FROM earn
), added AS (
    SELECT credit.*,
           CASE WHEN media THEN greatest(0, least(credit,
                    trunc(coalesce(media_seconds, 0)::float8 * %(margin)s::float8)::integer - seconds))
                ELSE credit END AS added,
           media AND new_position IS NOT NULL AND coalesce(media_seconds, 0) <> 0
                AND new_position >= media_seconds - %(tolerance)s::float8 AND NOT reached_end AS ends
    FROM credit
), beat AS (
    SELECT added.*, completed_at IS NULL AND seconds + added >= min_seconds
                    AND (NOT media OR reached_end OR ends) AS completes
    FROM added
), claimed AS (
    UPDATE study_session s SET last_seq = %(seq)s, last_beat_at = %(now)s, last_position = beat.new_position,
           credited_seconds = s.credited_seconds + beat.credit, carry_seconds = beat.carried - beat.credit
    FROM beat
    WHERE s.id = beat.id AND s.last_seq = beat.last_seq AND s.closed_at IS NULL AND NOT beat.completes
    RETURNING s.id
), moved AS (
    UPDATE lesson_progress p SET seconds = p.seconds + beat.added, reached_end = p.reached_end OR beat.ends,
           updated_at = %(now)s
    FROM beat WHERE p.id = beat.progress_id AND (beat.added <> 0 OR beat.ends) AND EXISTS (SELECT FROM claimed)
), {token_used('claimed')}
SELECT beat.added, beat.seconds + beat.added, beat.note FROM beat WHERE EXISTS (SELECT FROM claimed)
"""


def heartbeat(digest: str, session_token: str, *, seq: int, visible: bool = True, playing: bool | None = None,
              position: float | None = None) -> study.BeatResult | None:
    """Credit a beat in one statement (:func:`learning.db.one_round_trip`), or None: not the
    common case, nothing written; take the checked way.  ``digest`` is the bearer token's; the token is
    checked and noted by the accounts' clock (``utcnow``), the beat timed by the study's (``study.now``)."""
    row = one_round_trip(BEAT, {
        "min_gap": study.MIN_GAP_SECONDS, "max_gap": study.MAX_GAP_SECONDS, "slack": study.POSITION_SLACK_SECONDS,
        "margin": study.MEDIA_MARGIN, "tolerance": study.END_TOLERANCE_SECONDS, "digest": digest,
        "session": session_token or "", "now": study.now(), "token_now": utcnow(), "seq": seq,
        "visible": visible, "playing": playing, "position": None if position is None else float(position),
        "synchronous_commit": commit_mode(),
    })
    if row is None:
        return None
    return study.BeatResult(credited=row[0], lesson_seconds=row[1], lesson_completed=False, course_completed=False,
                            note=row[2])
