"""Attempts: drawing questions, recording answers as they come, grading once on the server.

The server is the authority (DESIGN principle 3).  What a client sees of an attempt before it is
finished is :func:`attempt_view`: the stem, the option texts in this attempt's own random order
under letters, and the member's own answers — no weights, no feedback, no explanation, no question
id that could be looked up in an earlier review.  Time is the server's: an answer after the
deadline (plus a small allowance for the network) is refused, and an attempt left open past it is
graded with the answers that came in time.  Submitting is a compare-and-set on the attempt's
status, so a double click, a retry or two racing requests grade it once and award once.
"""
from __future__ import annotations

import random
import secrets
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.exc import IntegrityError

from learning.accounts.models import Account
from learning.accounts.services import token_check_joined
from learning.db import utcnow
from learning.extensions import db
from learning.orgs.models import Member
from learning.points import periods
from learning.quizzes import grading
from learning.quizzes.models import (
    Attempt,
    AttemptItem,
    AttemptStatus,
    ChallengeLevel,
    Question,
    QuestionBank,
    QuestionKind,
    Quiz,
    QuizKind,
)

GRACE_SECONDS = 3  # network allowance after the deadline; answers later than this do not count
RECENT_DAYS = 30  # questions seen in this many days are drawn last
LETTERS = "abcdefghij"


def now() -> datetime:
    """The server's clock; tests replace it."""
    return utcnow()


class QuizError(Exception):
    """A refused action; ``code`` is machine-readable (the API's problem ``code``)."""

    def __init__(self, code: str, message: str = ""):
        super().__init__(message or code)
        self.code = code


# -- drawing ----------------------------------------------------------------------------------
def _pool(quiz: Quiz) -> list[tuple[int, int, QuestionKind]]:
    """(question id, number of answers, kind) of every live question the quiz may draw."""
    query = select(Question.id, Question.tags, Question.answers, Question.kind).where(
        Question.bank_id.in_(quiz.bank_ids or [-1]), Question.retired_at.is_(None))
    if quiz.kind is not QuizKind.LEVEL:  # contest-only banks never feed practice
        query = query.join(QuestionBank, QuestionBank.id == Question.bank_id).where(QuestionBank.contest_only.is_(False))
    if quiz.categories:
        query = query.where(Question.category.in_(quiz.categories))
    wanted = set(quiz.tags or [])
    return [(qid, len(answers), kind) for qid, tags, answers, kind in db.session.execute(query)
            if not wanted or wanted & set(tags or [])]


def draw(quiz: Quiz, member: Member, count: int,
         rng: random.Random | None = None) -> list[tuple[int, int, QuestionKind]]:
    """``count`` different questions, avoiding the member's recently seen ones where the pool allows."""
    rng = rng or random.SystemRandom()
    pool = _pool(quiz)
    since = now() - timedelta(days=RECENT_DAYS)
    seen = dict(db.session.execute(
        select(AttemptItem.question_id, func.max(Attempt.started_at))
        .join(Attempt, Attempt.id == AttemptItem.attempt_id)
        .where(Attempt.member_id == member.id, Attempt.started_at >= since)
        .group_by(AttemptItem.question_id)).all())
    fresh = [q for q in pool if q[0] not in seen]
    rng.shuffle(fresh)
    chosen = fresh[:count]
    if len(chosen) < count:
        stale = [q for q in pool if q[0] in seen]
        rng.shuffle(stale)
        stale.sort(key=lambda q: seen[q[0]])  # oldest first; the shuffle breaks ties
        chosen += stale[:count - len(chosen)]
    rng.shuffle(chosen)
    return chosen


# -- starting ---------------------------------------------------------------------------------
def open_attempt(member: Member, quiz: Quiz) -> Attempt | None:
    return db.session.scalar(select(Attempt).where(
        Attempt.member_id == member.id, Attempt.quiz_id == quiz.id, Attempt.status == AttemptStatus.OPEN))


def attempts_on(member: Member, quiz_ids: list[int], day) -> int:
    return db.session.scalar(select(func.count()).select_from(Attempt).where(
        Attempt.member_id == member.id, Attempt.quiz_id.in_(quiz_ids or [-1]), Attempt.local_date == day)) or 0


def start(member: Member, quiz: Quiz, *, level: ChallengeLevel | None = None, check=None) -> tuple[Attempt, bool]:
    """Resume the member's open attempt at ``quiz`` or start a new one; returns (attempt, created).

    ``check`` is the caller's gate (course unlocked, campaign open, level order, attempts left),
    run only when a new attempt would be created — resuming is always allowed until the deadline.
    """
    if not member.active:
        raise QuizError("inactive", _("Only active members take quizzes."))
    moment = now()
    current = open_attempt(member, quiz)
    if current is not None:
        if moment <= current.deadline + timedelta(seconds=GRACE_SECONDS):
            return current, False
        finish(current, expired=True)
    if check is not None:
        check()
    if quiz.kind is QuizKind.COURSE and quiz.max_attempts is not None:
        used = len(grading.finished_attempts(member.id, quiz))
        if used >= quiz.max_attempts:
            raise QuizError("no_attempts_left", _("You have used all %(n)d attempts of this quiz.", n=quiz.max_attempts))
    drawn = draw(quiz, member, quiz.question_count)
    if not drawn:
        raise QuizError("no_questions", _("This quiz has no questions yet."))
    rng = random.SystemRandom()
    attempt = Attempt(
        token=secrets.token_urlsafe(16), member_id=member.id, quiz_id=quiz.id, level_id=level.id if level else None,
        organisation_id=member.organisation_id, status=AttemptStatus.OPEN, started_at=moment,
        deadline=moment + timedelta(seconds=len(drawn) * quiz.seconds_per_question),
        local_date=periods.local_date(moment), question_count=len(drawn))
    try:
        with db.session.begin_nested():
            db.session.add(attempt)
            db.session.flush()
    except IntegrityError:
        # The same member started the same quiz in another request a moment ago: resume that one.
        current = open_attempt(member, quiz)
        if current is None:
            raise
        return current, False
    for position, (qid, n_options, kind) in enumerate(drawn, start=1):
        order = list(range(n_options))
        if kind is QuestionKind.FILL_BLANK:
            order = []
        elif kind is not QuestionKind.TRUE_FALSE:  # 正确 / 错误 keep their place
            rng.shuffle(order)
        db.session.add(AttemptItem(attempt_id=attempt.id, position=position, question_id=qid, option_order=order))
    db.session.flush()
    return attempt, True


# -- answering --------------------------------------------------------------------------------
def _response_for(kind: QuestionKind, order: list[int], choices, text) -> list:
    """The stored form of an answer: indexes into the question's answers, or the text typed."""
    if kind is QuestionKind.FILL_BLANK:
        if not isinstance(text, str) or not text.strip():
            raise QuizError("bad_answer", _("Type an answer."))
        if len(text) > 200:
            raise QuizError("bad_answer", _("An answer has at most 200 characters."))
        return [text.strip()]
    if not isinstance(choices, list) or not choices or not all(isinstance(c, str) for c in choices):
        raise QuizError("bad_answer", _("Choose an option."))
    letters = LETTERS[:len(order)]
    if any(len(c) != 1 or c not in letters for c in choices) or len(set(choices)) != len(choices):
        raise QuizError("bad_answer", _("Choose among the options shown."))
    if kind is not QuestionKind.MULTIPLE and len(choices) != 1:
        raise QuizError("bad_answer", _("Choose one option."))
    return sorted(order[letters.index(c)] for c in choices)


def answer(member_id: int, token: str, position: int, *, choices=None, text=None, state=None) -> datetime:
    """Record (or change) the answer to one question of an open attempt, before its deadline; returns
    the server's time of the answer.  ``state``: the row :data:`ANSWER_WITH_TOKEN` read with the
    caller's token (the API), else it is read here.  One joined read and one update, in Core; the
    update holds the attempt FOR SHARE against a submit, so it stands alone in the API's autocommit too:
    grading comes after it and reads the answer, or came first and the update finds the attempt finished."""
    moment = now()
    row = state if state is not None else db.session.connection().execute(
        _ANSWER_READ, {"attempt_token": token, "position": position, "member_id": member_id}).first()
    if row is None or row.attempt_id is None:
        raise QuizError("unknown_attempt", _("No such attempt."))
    if row.id is None:
        raise QuizError("unknown_item", _("This attempt has no question %(n)s.", n=position))
    if row.status is not AttemptStatus.OPEN:
        raise QuizError("finished", _("This attempt is already finished."))
    if moment > row.deadline + timedelta(seconds=GRACE_SECONDS):
        raise QuizError("time_up", _("Time is up: this answer came after the deadline and does not count."))
    response = _response_for(row.kind, row.option_order, choices, text)
    stored = db.session.connection().execute(_ANSWER_WRITE, {"item_id": row.id, "open_attempt": row.attempt_id,
                                                             "answer": response, "moment": moment}).rowcount
    if not stored:  # finished between the read and the write
        raise QuizError("finished", _("This attempt is already finished."))
    return moment


# The answer's statements, built once (a statement object reused is neither built nor keyed again) and
# run on the session's connection (no ORM execution around a Core statement).  The read's outer joins
# tell an attempt that is not the member's (no attempt_id) from a position it does not have (no id).
_ANSWER_COLUMNS = (Attempt.id.label("attempt_id"), Attempt.status, Attempt.deadline, AttemptItem.id,
                   AttemptItem.option_order, Question.kind)


def _answer_joins(query, member_id):
    return (query.outerjoin(Attempt, (Attempt.token == bindparam("attempt_token")) & (Attempt.member_id == member_id))
            .outerjoin(AttemptItem, (AttemptItem.attempt_id == Attempt.id)
                       & (AttemptItem.position == bindparam("position")))
            .outerjoin(Question, Question.id == AttemptItem.question_id))


_ANSWER_READ = _answer_joins(select(*_ANSWER_COLUMNS).select_from(Member), bindparam("member_id")) \
    .where(Member.id == bindparam("member_id"))
ANSWER_WITH_TOKEN = token_check_joined(lambda query: _answer_joins(query.add_columns(*_ANSWER_COLUMNS),
                                                                   Account.member_id))
_ANSWER_WRITE = (
    update(AttemptItem)
    .where(AttemptItem.id == bindparam("item_id"),
           select(Attempt.id).where(Attempt.id == bindparam("open_attempt"), Attempt.status == AttemptStatus.OPEN)
           .with_for_update(read=True).exists())
    .values(response=bindparam("answer"), answered_at=bindparam("moment"))
    .execution_options(synchronize_session=False)
)


def attempt_for(member: Member, token: str) -> Attempt:
    attempt = db.session.scalar(select(Attempt).where(Attempt.token == token))
    if attempt is None or attempt.member_id != member.id:
        raise QuizError("unknown_attempt", _("No such attempt."))
    return attempt


# -- finishing --------------------------------------------------------------------------------
def submit(member: Member, token: str) -> Attempt:
    """Finish and grade; a second submit returns the graded attempt unchanged."""
    attempt = attempt_for(member, token)
    if attempt.status is AttemptStatus.OPEN:
        late = now() > attempt.deadline + timedelta(seconds=GRACE_SECONDS)
        finish(attempt, expired=late)
    return attempt


def finish(attempt: Attempt, *, expired: bool = False) -> bool:
    """Close ``attempt`` if it is still open and grade it; False when someone else closed it first."""
    moment = now()
    status = AttemptStatus.EXPIRED if expired else AttemptStatus.SUBMITTED
    won = db.session.execute(
        update(Attempt).where(Attempt.id == attempt.id, Attempt.status == AttemptStatus.OPEN)
        .values(status=status, finished_at=min(moment, attempt.deadline + timedelta(seconds=GRACE_SECONDS)))
        .execution_options(synchronize_session=False)).rowcount
    db.session.refresh(attempt)
    if not won:
        return False
    _grade(attempt)
    from learning.quizzes import outcomes

    outcomes.on_graded(attempt)
    return True


def _grade(attempt: Attempt) -> None:
    limit = attempt.deadline + timedelta(seconds=GRACE_SECONDS)
    total, correct, last = 0.0, 0, None
    for item in attempt.items:
        counted = item.response is not None and item.answered_at is not None and item.answered_at <= limit
        item.score = grading.score(item.question.kind, item.question.answers, item.response) if counted else 0.0
        item.correct = item.score >= grading.CORRECT
        total += item.score
        correct += int(item.correct)
        if counted and (last is None or item.answered_at > last):
            last = item.answered_at
    attempt.score = round(100 * total / max(1, attempt.question_count), 2)
    attempt.correct_count = correct
    attempt.passed = attempt.score >= attempt.quiz.pass_percent
    end = last or attempt.finished_at
    attempt.seconds = max(0, min(int((end - attempt.started_at).total_seconds()),
                                 attempt.quiz.time_limit_seconds))
    db.session.flush()


def expire_overdue(limit: int = 500, member: Member | None = None) -> int:
    """Grade attempts abandoned past their deadline: everyone's (the scheduler's job) or one
    member's (on their next visit)."""
    cutoff = now() - timedelta(seconds=GRACE_SECONDS)
    query = select(Attempt).where(Attempt.status == AttemptStatus.OPEN, Attempt.deadline < cutoff)
    if member is not None:
        query = query.where(Attempt.member_id == member.id)
    overdue = db.session.scalars(query.order_by(Attempt.deadline).limit(limit)).all()
    return sum(1 for attempt in overdue if finish(attempt, expired=True))


def expire_mine(member: Member) -> None:
    expire_overdue(member=member)


# -- what the client sees -----------------------------------------------------------------------
def _option_label(kind: QuestionKind, text: str) -> str:
    if kind is QuestionKind.TRUE_FALSE:
        return _("True") if text == "true" else _("False")
    return text


def _letters_of(order: list[int], response) -> list[str]:
    return [LETTERS[order.index(i)] for i in response or [] if i in order]


def right_letters(item: AttemptItem) -> list[str]:
    """The letters of the options that earn something, in this attempt's order (for the review)."""
    q = item.question
    return _letters_of(item.option_order, grading.right_indexes(q.kind, q.answers))


def remaining_seconds(attempt: Attempt) -> int:
    if attempt.status is not AttemptStatus.OPEN:
        return 0
    return max(0, int((attempt.deadline - now()).total_seconds()))


def attempt_view(attempt: Attempt) -> dict:
    """Everything a client may know about an attempt in progress (see the module docstring)."""
    items = []
    for item in attempt.items:
        q = item.question
        entry = {"position": item.position, "kind": q.kind.value, "stem": q.stem, "stem_after": q.stem_after,
                 "answered": item.response is not None}
        if q.kind is QuestionKind.FILL_BLANK:
            entry["options"] = []
            entry["text"] = item.response[0] if item.response else None
            entry["choices"] = []
        else:
            entry["options"] = [{"id": LETTERS[i], "text": _option_label(q.kind, q.answers[index]["text"])}
                                for i, index in enumerate(item.option_order)]
            entry["choices"] = _letters_of(item.option_order, item.response)
            entry["text"] = None
        items.append(entry)
    return {
        "token": attempt.token, "quiz": {"slug": attempt.quiz.slug, "title": attempt.quiz.title,
                                         "kind": attempt.quiz.kind.value, "pass_percent": attempt.quiz.pass_percent},
        "status": attempt.status.value, "started_at": attempt.started_at, "deadline": attempt.deadline,
        "remaining_seconds": remaining_seconds(attempt), "question_count": attempt.question_count,
        "answered_count": sum(1 for i in attempt.items if i.response is not None), "items": items,
    }


def key_withheld(attempt: Attempt) -> str | None:
    """Why the review of ``attempt`` does not show the right answers, or None when it does.

    The policy (docs/QUIZZES.md): practice must not hand out the key of questions a live campaign
    can draw.  The daily quiz shows the key only for the day's first finished attempt (the one that
    counts); a course quiz once it is passed; a campaign level only after the campaign closes.
    Every review shows right or wrong and the explanation.
    """
    kind = attempt.quiz.kind
    if kind is QuizKind.LEVEL:
        challenge = attempt.level.challenge if attempt.level is not None else None
        if challenge is not None and challenge.ends_at > now():
            return _("The right answers are shown when the campaign closes.")
        return None
    if kind is QuizKind.COURSE:
        return None if attempt.passed else _("The right answers are shown once you pass this quiz.")
    first = db.session.scalar(
        select(Attempt.id).where(Attempt.member_id == attempt.member_id, Attempt.quiz_id == attempt.quiz_id,
                                 Attempt.local_date == attempt.local_date, Attempt.status != AttemptStatus.OPEN)
        .order_by(Attempt.finished_at, Attempt.id).limit(1))
    return None if first == attempt.id else _("Practice: the right answers are shown for the day's first attempt only.")


def review_view(attempt: Attempt) -> dict:
    """After the attempt is finished: the grade, and per question right or wrong, the explanation,
    and the right answer where the key policy allows (:func:`key_withheld`)."""
    if attempt.status is AttemptStatus.OPEN:
        raise QuizError("not_finished", _("The review is available once the attempt is submitted."))
    view = attempt_view(attempt)
    withheld = key_withheld(attempt)
    view.update(score=attempt.score, passed=attempt.passed, correct_count=attempt.correct_count,
                seconds=attempt.seconds, finished_at=attempt.finished_at, key_shown=withheld is None,
                key_note=withheld)
    for entry, item in zip(view["items"], attempt.items):
        q = item.question
        entry["correct"] = bool(item.correct)
        entry["score"] = item.score or 0.0
        entry["explanation"] = q.explanation
        if withheld is not None:
            entry["right_answers"], entry["right_choices"], entry["feedback"] = [], [], []
            continue
        if q.kind is QuestionKind.FILL_BLANK:
            entry["right_answers"] = [a["text"] for a in q.answers if a["weight"] >= 100] or \
                [a["text"] for a in q.answers if a["weight"] > 0]
            entry["right_choices"] = []
            matched = [a for a in q.answers if item.response and grading.normalise(a["text"]) == grading.normalise(item.response[0])]
            entry["feedback"] = [matched[0]["feedback"]] if matched and matched[0].get("feedback") else []
        else:
            entry["right_choices"] = right_letters(item)
            entry["right_answers"] = [_option_label(q.kind, q.answers[i]["text"])
                                      for i in grading.right_indexes(q.kind, q.answers)]
            entry["feedback"] = [q.answers[i]["feedback"] for i in item.response or [] if q.answers[i].get("feedback")]
    return view
