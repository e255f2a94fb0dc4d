"""Challenge campaigns (答题闯关): creating them, who may play which level, leaderboards, stats.

A campaign belongs to an organisation and is played by the active members of its subtree.  Each
level is a :class:`Quiz` of kind ``level`` drawing from the campaign's banks.  Leaderboards read
``challenge_standing`` (kept in step by :mod:`learning.quizzes.outcomes`); the branch board and
the organisers' numbers are sums grouped per branch, computed here in one place.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from learning.db import insert_for
from learning.extensions import db
from learning.orgs.models import Member, Organisation
from learning.points import periods
from learning.quizzes import attempts
from learning.quizzes.models import (
    Attempt,
    AttemptCounter,
    AttemptItem,
    AttemptStatus,
    Challenge,
    ChallengeLevel,
    ChallengeStatus,
    Grading,
    LevelResult,
    Quiz,
    QuizKind,
)
from learning.quizzes.attempts import QuizError


@dataclass
class LevelSpec:
    title: str
    question_count: int
    pass_percent: int
    seconds_per_question: int
    points: int


@dataclass
class ChallengeSpec:
    title: str
    description: str
    starts_at: datetime
    ends_at: datetime
    attempts_per_day: int
    bank_ids: list[int]
    levels: list[LevelSpec] = field(default_factory=list)


# What a campaign's organiser may set.  The points a level finally gives are the rule
# ``challenge_level_passed``'s (per level point, with its daily and period caps per member), which the
# organisation above sets: a campaign's creator chooses only each level's weight within these bounds.
MIN_PASS_PERCENT = 60
MAX_LEVEL_POINTS = 10


# -- organising -------------------------------------------------------------------------------
def _check(spec: ChallengeSpec) -> None:
    if spec.ends_at <= spec.starts_at:
        raise QuizError("dates", _("The campaign must end after it starts."))
    if not spec.bank_ids:
        raise QuizError("banks", _("Choose at least one question bank."))
    if not spec.levels:
        raise QuizError("levels", _("A campaign needs at least one level."))
    for position, level in enumerate(spec.levels, start=1):
        if level.pass_percent < MIN_PASS_PERCENT or level.pass_percent > 100:
            raise QuizError("pass_mark", _("Level %(n)d: the pass mark must be between %(low)d and 100.",
                                           n=position, low=MIN_PASS_PERCENT))
        if not 1 <= level.points <= MAX_LEVEL_POINTS:
            raise QuizError("level_points", _("Level %(n)d: a level gives 1 to %(most)d points.",
                                              n=position, most=MAX_LEVEL_POINTS))
        if level.question_count < 1:
            raise QuizError("questions", _("Level %(n)d needs at least one question.", n=position))


def _check_pools(challenge: Challenge) -> None:
    """Every level can draw as many different questions as it asks."""
    for level in challenge.levels:
        available = len(attempts._pool(level.quiz))
        if available < level.quiz.question_count:
            raise QuizError("too_few_questions", _(
                "%(level)s asks %(n)d questions but its banks hold only %(m)d: add questions or ask fewer.",
                level=level.title, n=level.quiz.question_count, m=available))


def create_challenge(organisation: Organisation, spec: ChallengeSpec, actor=None) -> Challenge:
    _check(spec)
    challenge = Challenge(organisation_id=organisation.id, title=spec.title.strip()[:200], description=spec.description,
                          starts_at=spec.starts_at, ends_at=spec.ends_at, attempts_per_day=spec.attempts_per_day,
                          bank_ids=list(spec.bank_ids), status=ChallengeStatus.DRAFT,
                          created_by_id=getattr(actor, "id", None))
    db.session.add(challenge)
    db.session.flush()
    _set_levels(challenge, spec.levels)
    return challenge


def update_challenge(challenge: Challenge, spec: ChallengeSpec, organisation: Organisation | None = None) -> Challenge:
    """Everything may change until the campaign opens; after that, its levels, banks, start and
    organisation stay as they are."""
    _check(spec)
    started = has_started(challenge)
    if organisation is not None and organisation.id != challenge.organisation_id:
        if started:
            raise QuizError("started", _("The campaign has started: its organisation can no longer change."))
        challenge.organisation_id = organisation.id
    if started and (len(spec.levels) != len(challenge.levels) or spec.bank_ids != challenge.bank_ids
                    or spec.starts_at != challenge.starts_at):
        raise QuizError("started", _("The campaign has started: its levels, banks and start can no longer change."))
    challenge.title, challenge.description = spec.title.strip()[:200], spec.description
    challenge.starts_at, challenge.ends_at, challenge.attempts_per_day = spec.starts_at, spec.ends_at, spec.attempts_per_day
    challenge.bank_ids = list(spec.bank_ids)
    if not started:
        _set_levels(challenge, spec.levels)
    else:
        for level, level_spec in zip(challenge.levels, spec.levels):
            level.title = level_spec.title
    db.session.flush()
    return challenge


def _set_levels(challenge: Challenge, specs: list[LevelSpec]) -> None:
    existing = {level.position: level for level in challenge.levels}
    for position, spec in enumerate(specs, start=1):
        level = existing.pop(position, None)
        if level is None:
            quiz = Quiz(slug=f"challenge-{challenge.id}-level-{position}", kind=QuizKind.LEVEL, source="admin",
                        title="", question_count=1)
            db.session.add(quiz)
            db.session.flush()
            level = ChallengeLevel(challenge_id=challenge.id, position=position, quiz_id=quiz.id, title="")
            db.session.add(level)
            level.quiz = quiz
        level.title, level.points = spec.title.strip()[:200] or _("Level %(n)d", n=position), spec.points
        quiz = level.quiz
        quiz.title = f"{challenge.title} · {level.title}"
        quiz.bank_ids, quiz.question_count = list(challenge.bank_ids), spec.question_count
        quiz.pass_percent, quiz.seconds_per_question = spec.pass_percent, spec.seconds_per_question
        quiz.grading, quiz.max_attempts = Grading.HIGHEST, None
    for level in existing.values():  # levels dropped before the start: no attempt can point at them
        db.session.delete(level)
    db.session.flush()
    db.session.expire(challenge, ["levels"])


def publish(challenge: Challenge) -> None:
    """Make a draft visible to its members; refused while a level breaks the organiser's bounds."""
    if challenge.status is ChallengeStatus.DRAFT:
        _check(ChallengeSpec(challenge.title, challenge.description, challenge.starts_at, challenge.ends_at,
                             challenge.attempts_per_day, challenge.bank_ids,
                             [LevelSpec(lv.title, lv.quiz.question_count, lv.quiz.pass_percent,
                                        lv.quiz.seconds_per_question, lv.points) for lv in challenge.levels]))
        _check_pools(challenge)
        challenge.status = ChallengeStatus.SCHEDULED
        refresh_status(challenge)


def refresh_status(challenge: Challenge, moment: datetime | None = None) -> ChallengeStatus:
    """Open a published campaign at its start and close it at its end (the scheduler calls this too)."""
    moment = moment or attempts.now()
    if challenge.status in (ChallengeStatus.SCHEDULED, ChallengeStatus.OPEN):
        if moment >= challenge.ends_at:
            challenge.status = ChallengeStatus.CLOSED
        elif moment >= challenge.starts_at:
            challenge.status = ChallengeStatus.OPEN
    return challenge.status


def refresh_all(moment: datetime | None = None) -> int:
    changed = 0
    for challenge in db.session.scalars(select(Challenge).where(
            Challenge.status.in_([ChallengeStatus.SCHEDULED, ChallengeStatus.OPEN]))):
        before = challenge.status
        if refresh_status(challenge, moment) is not before:
            changed += 1
    db.session.flush()
    return changed


def has_started(challenge: Challenge) -> bool:
    return challenge.status in (ChallengeStatus.OPEN, ChallengeStatus.CLOSED) or (
        challenge.status is ChallengeStatus.SCHEDULED and attempts.now() >= challenge.starts_at) or bool(
        db.session.scalar(select(Attempt.id).join(ChallengeLevel, ChallengeLevel.id == Attempt.level_id)
                          .where(ChallengeLevel.challenge_id == challenge.id).limit(1)))


def is_open(challenge: Challenge, moment: datetime | None = None) -> bool:
    moment = moment or attempts.now()
    return challenge.status in (ChallengeStatus.SCHEDULED, ChallengeStatus.OPEN) and \
        challenge.starts_at <= moment < challenge.ends_at


# -- playing ----------------------------------------------------------------------------------
def may_play(member: Member, challenge: Challenge) -> bool:
    return member.active and member.organisation.path.startswith(challenge.organisation.path)


def challenges_for(member: Member) -> list[Challenge]:
    """Published campaigns of the member's organisation and those above it, newest first."""
    ancestors = member.organisation.ancestor_ids()
    return list(db.session.scalars(select(Challenge).where(
        Challenge.organisation_id.in_(ancestors or [-1]), Challenge.status != ChallengeStatus.DRAFT)
        .order_by(Challenge.starts_at.desc())))


def _results(member: Member, challenge: Challenge) -> dict[int, LevelResult]:
    return {r.level_id: r for r in db.session.scalars(select(LevelResult).join(
        ChallengeLevel, ChallengeLevel.id == LevelResult.level_id).where(
        ChallengeLevel.challenge_id == challenge.id, LevelResult.member_id == member.id))}


def attempts_today(member: Member, challenge: Challenge) -> int:
    return attempts.attempts_on(member, [level.quiz_id for level in challenge.levels],
                                periods.local_date(attempts.now()))


def level_states(member: Member, challenge: Challenge) -> list[dict]:
    """Each level with the member's state: passed, open (the next to play), or locked."""
    results = _results(member, challenge)
    states, unlocked = [], True
    for level in challenge.levels:
        result = results.get(level.id)
        passed = bool(result and result.passed_at)
        state = "passed" if passed else ("open" if unlocked else "locked")
        states.append({"level": level, "state": state, "best_score": result.best_score if result else None,
                       "attempts": result.attempts if result else 0})
        unlocked = unlocked and passed
    return states


def _lock_day_counter(member: Member, challenge: Challenge) -> tuple[str, int]:
    """Create or lock the member's counter of today's attempts at ``challenge``; returns (its key,
    attempts used).  A new row starts from the attempts already recorded today."""
    day = periods.local_date(attempts.now())
    key = f"c:{challenge.id}:{day.isoformat()}"
    recorded = (select(func.count()).select_from(Attempt)
                .where(Attempt.member_id == member.id, Attempt.local_date == day,
                       Attempt.quiz_id.in_([level.quiz_id for level in challenge.levels] or [-1]))
                .scalar_subquery())
    stmt = insert_for(AttemptCounter).values(member_id=member.id, window_key=key, used=recorded)
    stmt = stmt.on_conflict_do_update(index_elements=["member_id", "window_key"],
                                      set_={"used": stmt.table.c.used}).returning(AttemptCounter.used)
    return key, db.session.execute(stmt).scalar_one()


def start_level(member: Member, level: ChallengeLevel) -> tuple[Attempt, bool]:
    """Start (or resume) a level.  The attempts-a-day limit holds under concurrent starts: the day's
    counter row is locked from the check until the transaction ends, and counts only attempts made."""
    challenge = level.challenge
    counter = {}

    def gate():
        if not may_play(member, challenge):
            raise QuizError("not_yours", _("This campaign is for another organisation's members."))
        if not is_open(challenge):
            raise QuizError("closed", _("The campaign is not open now."))
        state = next(s for s in level_states(member, challenge) if s["level"].id == level.id)
        if state["state"] == "locked":
            raise QuizError("locked", _("Pass the levels before this one first."))
        counter["key"], used = _lock_day_counter(member, challenge)
        if used >= challenge.attempts_per_day:
            raise QuizError("daily_limit", _("You have used today's %(n)d attempts; come back tomorrow.",
                                              n=challenge.attempts_per_day))

    attempt, created = attempts.start(member, level.quiz, level=level, check=gate)
    if created:
        db.session.execute(update(AttemptCounter).where(AttemptCounter.member_id == member.id,
                                                        AttemptCounter.window_key == counter["key"])
                           .values(used=AttemptCounter.used + 1))
    return attempt, created


# -- for the organisers -----------------------------------------------------------------------
def stats(challenge: Challenge) -> dict:
    level_quiz_ids = [level.quiz_id for level in challenge.levels]
    finished = (Attempt.quiz_id.in_(level_quiz_ids or [-1])) & (Attempt.status != AttemptStatus.OPEN)
    attempt_count, players = db.session.execute(
        select(func.count(), func.count(func.distinct(Attempt.member_id))).where(finished)).one()
    answers = db.session.scalar(select(func.count()).select_from(AttemptItem).join(Attempt).where(
        finished, AttemptItem.response.is_not(None))) or 0
    passed_per_level = dict(db.session.execute(
        select(LevelResult.level_id, func.count()).where(LevelResult.level_id.in_([lv.id for lv in challenge.levels] or [-1]),
                                                         LevelResult.passed_at.is_not(None))
        .group_by(LevelResult.level_id)).all())
    per_day = db.session.execute(select(Attempt.local_date, func.count()).where(finished)
                                 .group_by(Attempt.local_date).order_by(Attempt.local_date)).all()
    from learning.quizzes import analysis

    return {"attempts": attempt_count, "players": players, "answers": answers,
            "levels": [{"level": lv, "passed": passed_per_level.get(lv.id, 0)} for lv in challenge.levels],
            "per_day": [(day, count) for day, count in per_day],
            "hardest": analysis.hardest(level_quiz_ids, limit=10)}


def challenges_in_scope(scope, permission) -> list[Challenge]:
    return list(db.session.scalars(select(Challenge).join(Organisation, Organisation.id == Challenge.organisation_id)
                                   .where(scope.org_clause(permission)).order_by(Challenge.starts_at.desc())))
