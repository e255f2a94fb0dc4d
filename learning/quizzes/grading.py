"""How an answer is scored, and which attempt counts.

One rule for every question type, Moodle's: the score of an answer is the weight of what was
chosen, in percent, summed over the chosen options for multiple choice and kept between 0 and
100.  Our own YAML format gives each wrong option of a multiple-choice question -100 %, so one
wrong choice loses the question ("错选不得分") while a right subset earns its share.

This module reads; it imports no other feature (courses ask it whether a member passed).
"""
from __future__ import annotations

import re
import unicodedata

from sqlalchemy import select

from learning.extensions import db
from learning.quizzes.models import Attempt, AttemptStatus, Grading, Quiz, QuestionKind

CORRECT = 0.999  # a score at or above this is "correct" (weights such as 33.33333 % add to 99.99999)
_PUNCTUATION = "。．.，,；;！!？?、 "


def normalise(text: str) -> str:
    """Fill-in answers compare after NFKC (full-width → half-width), case folding and spacing."""
    text = unicodedata.normalize("NFKC", str(text)).casefold()
    text = re.sub(r"\s+", " ", text).strip()
    return text.strip(_PUNCTUATION)


def score(kind: QuestionKind, answers: list[dict], response: list | None) -> float:
    """0–1 for one answer; ``response`` is chosen indexes into ``answers`` or ``[text]``."""
    if not response:
        return 0.0
    if kind is QuestionKind.FILL_BLANK:
        given = normalise(response[0])
        weights = [a["weight"] for a in answers if normalise(a["text"]) == given]
        total = max(weights) if weights else 0.0
    elif kind is QuestionKind.MULTIPLE:
        total = sum(answers[i]["weight"] for i in set(response))
    else:
        total = answers[response[0]]["weight"]
    return max(0.0, min(100.0, total)) / 100.0


def right_indexes(kind: QuestionKind, answers: list[dict]) -> list[int]:
    """The options that earn something: shown in the review after submission."""
    if kind is QuestionKind.SINGLE or kind is QuestionKind.TRUE_FALSE:
        best = max(a["weight"] for a in answers)
        return [i for i, a in enumerate(answers) if a["weight"] == best]
    return [i for i, a in enumerate(answers) if a["weight"] > 0]


def finished_attempts(member_id: int, quiz: Quiz) -> list[Attempt]:
    return list(db.session.scalars(
        select(Attempt).where(Attempt.member_id == member_id, Attempt.quiz_id == quiz.id,
                              Attempt.status != AttemptStatus.OPEN)
        .order_by(Attempt.finished_at, Attempt.id)))


def counted_attempt(member_id: int, quiz: Quiz, attempts: list[Attempt] | None = None) -> Attempt | None:
    """The attempt whose grade counts: the highest (first of equals) or the last, as the quiz says.
    ``attempts`` are the member's finished ones, when the caller has them already."""
    attempts = finished_attempts(member_id, quiz) if attempts is None else attempts
    if not attempts:
        return None
    if quiz.grading is Grading.LAST:
        return attempts[-1]
    return max(attempts, key=lambda a: (a.score or 0, -a.id))


def quiz_passed(member_id: int, quiz_slug: str) -> bool:
    quiz = db.session.scalar(select(Quiz).where(Quiz.slug == quiz_slug))
    if quiz is None:
        return False
    counted = counted_attempt(member_id, quiz)
    return bool(counted and counted.passed)
