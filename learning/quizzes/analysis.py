"""Item analysis: how each question behaves, so that administrators can fix or retire bad ones.

Classical test theory, over finished attempts: *difficulty* is the share of members who got the
question right (skipped counts as wrong); *discrimination* is that share among the strongest
27 % of attempts (by attempt score) minus the share among the weakest 27 % — near zero or negative
means the question does not separate those who know from those who do not, which usually means
it is ambiguous or its key is wrong.  Counts are SQL aggregates; only the option distribution of
one question reads its responses.
"""
from __future__ import annotations

from collections import Counter

from sqlalchemy import case, func, select

from learning.extensions import db
from learning.quizzes.models import Attempt, AttemptItem, AttemptStatus, Question

GROUP_SHARE = 0.27
MIN_FOR_DISCRIMINATION = 10  # fewer attempts than this: no upper/lower groups worth comparing


def _thresholds(scores: list[float]) -> tuple[float, float] | None:
    if len(scores) < MIN_FOR_DISCRIMINATION:
        return None
    ordered = sorted(scores)
    k = max(1, int(len(ordered) * GROUP_SHARE))
    return ordered[k - 1], ordered[-k]  # at or below: lower group; at or above: upper group


def _population(bank_id: int | None, quiz_ids: list[int] | None):
    where = [Attempt.status != AttemptStatus.OPEN]
    if quiz_ids is not None:
        where.append(Attempt.quiz_id.in_(quiz_ids or [-1]))
    if bank_id is not None:
        where.append(Question.bank_id == bank_id)
    return where


def item_stats(*, bank_id: int | None = None, quiz_ids: list[int] | None = None,
               question_id: int | None = None) -> list[dict]:
    """One row per question of the population; ``question_id`` keeps one row (the groups still
    come from the whole population)."""
    where = _population(bank_id, quiz_ids)
    scores = db.session.scalars(
        select(Attempt.score).where(Attempt.id.in_(
            select(AttemptItem.attempt_id).join(Attempt, Attempt.id == AttemptItem.attempt_id)
            .join(Question, Question.id == AttemptItem.question_id).where(*where)))).all()
    limits = _thresholds([s or 0.0 for s in scores])
    low, high = limits if limits else (-1.0, 101.0)
    correct = case((AttemptItem.correct.is_(True), 1), else_=0)
    upper = Attempt.score >= high
    lower = Attempt.score <= low
    rows = db.session.execute(
        select(Question.id, Question.stem, Question.kind, Question.category, Question.retired_at,
               func.count(AttemptItem.id),
               func.count(AttemptItem.response),
               func.sum(correct),
               func.sum(case((upper, 1), else_=0)), func.sum(case((upper & AttemptItem.correct.is_(True), 1), else_=0)),
               func.sum(case((lower, 1), else_=0)), func.sum(case((lower & AttemptItem.correct.is_(True), 1), else_=0)))
        .join(AttemptItem, AttemptItem.question_id == Question.id)
        .join(Attempt, Attempt.id == AttemptItem.attempt_id)
        .where(*where, *([Question.id == question_id] if question_id is not None else []))
        .group_by(Question.id, Question.stem, Question.kind, Question.category, Question.retired_at)).all()
    out = []
    for qid, stem, kind, category, retired_at, shown, answered, right, n_up, r_up, n_low, r_low in rows:
        discrimination = None
        if limits and n_up and n_low:
            discrimination = round(r_up / n_up - r_low / n_low, 2)
        out.append({"question_id": qid, "stem": stem, "kind": kind, "category": category, "retired": retired_at is not None,
                    "shown": shown, "answered": answered, "correct": int(right or 0),
                    "difficulty": round((right or 0) / shown, 2) if shown else None,
                    "discrimination": discrimination})
    return out


def flag(row: dict) -> str | None:
    """Why a question deserves a look, if it does (the admin page highlights these)."""
    if row["shown"] >= 20 and row["difficulty"] is not None and row["difficulty"] < 0.2:
        return "hard"
    if row["discrimination"] is not None and row["discrimination"] < 0.1:
        return "weak"
    if row["shown"] >= 20 and row["difficulty"] is not None and row["difficulty"] > 0.95:
        return "easy"
    return None


def hardest(quiz_ids: list[int], *, limit: int = 10, min_shown: int = 5) -> list[dict]:
    rows = [r for r in item_stats(quiz_ids=quiz_ids) if r["shown"] >= min_shown]
    rows.sort(key=lambda r: (r["difficulty"], -r["shown"]))
    return rows[:limit]


def option_counts(question: Question, limit: int = 50000) -> dict:
    """How often each option was chosen (choice types) or each text typed (fill-in, top 10)."""
    responses = db.session.scalars(
        select(AttemptItem.response).join(Attempt, Attempt.id == AttemptItem.attempt_id)
        .where(AttemptItem.question_id == question.id, Attempt.status != AttemptStatus.OPEN,
               AttemptItem.response.is_not(None))
        .order_by(AttemptItem.id.desc()).limit(limit)).all()
    if not question.kind.has_options:
        texts = Counter(str(r[0]).strip() for r in responses if r)
        return {"total": len(responses), "texts": texts.most_common(10)}
    counts = Counter(i for r in responses for i in r)
    return {"total": len(responses),
            "options": [{"text": a["text"], "weight": a["weight"], "count": counts.get(i, 0)}
                        for i, a in enumerate(question.answers)]}
