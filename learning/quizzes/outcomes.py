"""What a graded attempt leads to: points, a course completed, a level passed and the leaderboard.

Called once per attempt, by whichever request or job won the compare-and-set that finished it,
inside the same transaction.  Points go through ``points.services.award`` with a natural source
key, so even a second call could not award twice.
"""
from __future__ import annotations

from sqlalchemy import func, select, update

from learning.courses import services as courses
from learning.courses.models import Course
from learning.db import insert_for
from learning.extensions import db
from learning.points import services as points
from learning.quizzes.models import (
    Attempt,
    AttemptStatus,
    Challenge,
    ChallengeLevel,
    ChallengeStanding,
    LevelResult,
    QuizKind,
)


def on_graded(attempt: Attempt) -> None:
    kind = attempt.quiz.kind
    if kind is QuizKind.DAILY:
        _daily(attempt)
    elif kind is QuizKind.COURSE:
        _course(attempt)
    elif kind is QuizKind.LEVEL and attempt.level is not None:
        _level(attempt)


def _daily(attempt: Attempt) -> None:
    """The first attempt of the day that was finished is the one that counts."""
    earlier = db.session.scalar(select(func.count()).select_from(Attempt).where(
        Attempt.member_id == attempt.member_id, Attempt.quiz_id == attempt.quiz_id,
        Attempt.local_date == attempt.local_date, Attempt.status != AttemptStatus.OPEN, Attempt.id != attempt.id,
        Attempt.finished_at <= attempt.finished_at))
    if earlier or not attempt.passed:
        return
    points.award("daily_quiz", member=attempt.member, source_key=f"daily:{attempt.local_date.isoformat()}",
                 occurred_at=attempt.finished_at, variant="perfect" if attempt.score >= 100 else "pass",
                 title=attempt.quiz.title)


def _course(attempt: Attempt) -> None:
    if not attempt.passed:
        return
    for course in db.session.scalars(select(Course).where(Course.quiz_slug == attempt.quiz.slug)):
        courses.complete_course_if_done(attempt.member, course, attempt.finished_at)


def _level(attempt: Attempt) -> None:
    level: ChallengeLevel = attempt.level
    standing = lock_standing(level.challenge_id, attempt.member_id, attempt.organisation_id, attempt.finished_at)
    result = db.session.scalar(select(LevelResult).where(LevelResult.level_id == level.id,
                                                         LevelResult.member_id == attempt.member_id))
    if result is None:
        result = LevelResult(level_id=level.id, member_id=attempt.member_id, best_score=attempt.score,
                             best_seconds=attempt.seconds, attempts=0)
        db.session.add(result)
    elif (attempt.score, -attempt.seconds) > (result.best_score, -result.best_seconds):
        result.best_score, result.best_seconds = attempt.score, attempt.seconds
    result.attempts += 1
    newly_passed = attempt.passed and result.passed_at is None
    if newly_passed:
        result.passed_at = attempt.finished_at
    db.session.flush()
    refresh_standing(standing, attempt.finished_at)
    if newly_passed:
        points.award("challenge_level_passed", member=attempt.member, source_key=f"level:{level.id}",
                     occurred_at=attempt.finished_at, quantity=level.points,
                     title=f"{level.challenge.title} · {level.title}")


def lock_standing(challenge_id: int, member_id: int, organisation_id: int, moment) -> ChallengeStanding:
    """The member's standing row, created if missing and locked, so that two levels finishing at
    once for the same member are summed one after the other."""
    db.session.execute(insert_for(ChallengeStanding).values(challenge_id=challenge_id, member_id=member_id, organisation_id=organisation_id,
                                     levels_passed=0, total_score=0, total_seconds=0, reached_at=moment)
                       .on_conflict_do_nothing(index_elements=["challenge_id", "member_id"]))
    query = select(ChallengeStanding).where(ChallengeStanding.challenge_id == challenge_id,
                                            ChallengeStanding.member_id == member_id)
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update()
    return db.session.scalar(query.execution_options(populate_existing=True))


def refresh_standing(standing: ChallengeStanding, moment) -> None:
    """Sum the member's best results over the campaign's levels; ``reached_at`` moves only when the
    line changes, so that of two equal lines the one reached first ranks higher."""
    passed, score, seconds = db.session.execute(
        select(func.count(LevelResult.passed_at), func.coalesce(func.sum(LevelResult.best_score), 0),
               func.coalesce(func.sum(LevelResult.best_seconds), 0))
        .join(ChallengeLevel, ChallengeLevel.id == LevelResult.level_id)
        .where(ChallengeLevel.challenge_id == standing.challenge_id, LevelResult.member_id == standing.member_id)).one()
    line = (passed, round(float(score), 2), int(seconds))
    if line != (standing.levels_passed, standing.total_score, standing.total_seconds):
        standing.levels_passed, standing.total_score, standing.total_seconds = line
        standing.reached_at = moment
    db.session.flush()
    # the cached leaderboards (quizzes.boards) are stale from this commit on; updated_at is the
    # campaign's edit time and stays
    db.session.execute(update(Challenge).where(Challenge.id == standing.challenge_id)
                       .values(board_version=Challenge.board_version + 1, updated_at=Challenge.updated_at)
                       .execution_options(synchronize_session=False))
