"""Quizzes fixtures: the shipped banks and quizzes imported, a clock the tests move, a campaign."""
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from learning.orgs.models import Member, Organisation
from learning.quizzes import attempts, challenges
from learning.quizzes.banks import bank_by_slug, import_content
from learning.quizzes.challenges import ChallengeSpec, LevelSpec
from tests.courses.conftest import Clock, courses  # noqa: F401  (the course fixtures and clock, shared)

CONTENT = Path(__file__).resolve().parents[2] / "learning" / "content" / "quizzes"


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(attempts, "now", clock)
    return clock


@pytest.fixture
def banks(db, tree, rules, courses):
    report = import_content(CONTENT)
    assert report.ok, report.errors
    db.session.commit()
    return report


def make_campaign(db, tree, *, org="C", levels=3, attempts_per_day=3, status_open=True, start=None, end=None):
    organisation = db.session.get(Organisation, tree["orgs"][org])
    start = start or datetime(2026, 11, 1, tzinfo=timezone.utc)
    spec = ChallengeSpec(
        title="学党章 守纪律 答题闯关", description="", starts_at=start,
        ends_at=end or start + timedelta(days=30), attempts_per_day=attempts_per_day,
        bank_ids=[bank_by_slug("party-basics").id, bank_by_slug("park-enterprise").id],
        levels=[LevelSpec(f"第{i}关", question_count=3 + i, pass_percent=60, seconds_per_question=30, points=i + 1)
                for i in range(1, levels + 1)])
    challenge = challenges.create_challenge(organisation, spec)
    if status_open:
        challenges.publish(challenge)
    db.session.commit()
    return challenge


@pytest.fixture
def campaign(db, tree, banks, clock):
    return make_campaign(db, tree)


def member(db, tree, key="b1_member") -> Member:
    return db.session.get(Member, tree["members"][key])


def answer_all(member_, attempt, *, right=True):
    """Answer every question of ``attempt`` right (or wrong), as a member who knows (or not) would."""
    from learning.quizzes.models import QuestionKind

    for item in attempt.items:
        q = item.question
        if q.kind is QuestionKind.FILL_BLANK:
            text = q.answers[0]["text"] if right else "不知道"
            attempts.answer(member_.id, attempt.token, item.position, text=text)
            continue
        good = attempts.right_letters(item)
        # Wrong: a wrong option, or for "all of the above" one right option only (a partial answer).
        letters = good if right else ([o for o in attempts.LETTERS[:len(q.answers)] if o not in good][:1] or good[:1])
        attempts.answer(member_.id, attempt.token, item.position, choices=letters)
