"""Quiz integrity: campaign points come from the rules, and practice does not hand out a live
campaign's answer key."""
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from learning.orgs.models import Organisation
from learning.points import services as points
from learning.points.models import LedgerEntry, PointRule
from learning.quizzes import attempts, boards, challenges
from learning.quizzes.attempts import QuizError
from learning.quizzes.banks import bank_by_slug, daily_quiz, set_contest_only
from learning.quizzes.challenges import ChallengeSpec, LevelSpec
from learning.quizzes.models import AttemptItem, Question
from learning.quizzes.services import start_quiz
from tests.quizzes.conftest import answer_all, member


def spec(levels, *, pass_percent=60, points=3, questions=3, banks=("party-basics",)):
    start = datetime(2026, 11, 1, tzinfo=timezone.utc)
    return ChallengeSpec("闯关", "", start, start + timedelta(days=60), 50, [bank_by_slug(b).id for b in banks],
                         [LevelSpec(f"第{i}关", questions, pass_percent, 30, points) for i in range(1, levels + 1)])


def branch(db, tree, key="B1"):
    return db.session.get(Organisation, tree["orgs"][key])


def campaign_points(db, member_id):
    return db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(LedgerEntry.points), 0))
                             .join(PointRule, PointRule.id == LedgerEntry.rule_id)
                             .where(LedgerEntry.member_id == member_id, PointRule.code == "challenge_level_passed"))


# -- campaign points come from the rules --------------------------------------------------------
@pytest.mark.parametrize("bad, code", [({"pass_percent": 0}, "pass_mark"), ({"points": 100}, "level_points"),
                                        ({"points": 0}, "level_points")])
def test_a_campaign_creator_cannot_set_a_free_pass_or_big_points(db, tree, banks, clock, bad, code):
    with pytest.raises(QuizError) as refused:
        challenges.create_challenge(branch(db, tree), spec(20, **bad))
    assert refused.value.code == code


def test_a_level_without_enough_questions_cannot_be_published(db, tree, banks, clock):
    available = db.session.scalar(sa.select(sa.func.count()).select_from(Question)
                                  .where(Question.bank_id == bank_by_slug("park-enterprise").id, Question.retired_at.is_(None)))
    challenge = challenges.create_challenge(branch(db, tree), spec(1, questions=available + 1, banks=("park-enterprise",)))
    with pytest.raises(QuizError) as refused:
        challenges.publish(challenge)
    assert refused.value.code == "too_few_questions" and str(available) in str(refused.value)
    assert challenge.status.value == "draft"


def test_playing_your_own_branchs_campaign_earns_within_the_rules_caps(db, tree, banks, clock):
    """The secretary's own campaign: five levels of 10 points.  The rule pays 1 per level point, at
    most 10 a day and 30 a quarter, whoever made the campaign."""
    challenge = challenges.create_challenge(branch(db, tree), spec(5, points=10))
    challenges.publish(challenge)
    db.session.commit()
    me = member(db, tree, "b1_secretary")
    earned_by_day = []
    for _day in range(4):
        for level in challenge.levels:
            if challenges.level_states(me, challenge)[level.position - 1]["state"] == "passed":
                continue
            attempt, _ = challenges.start_level(me, level)
            answer_all(me, attempt)
            assert attempts.submit(me, attempt.token).passed
            db.session.commit()
        earned_by_day.append(campaign_points(db, me.id))
        clock.advance(24 * 3600)
    assert earned_by_day == [10, 10, 10, 10]  # all five passed on day one, the daily cap held
    entries = db.session.scalars(sa.select(LedgerEntry).join(PointRule).where(
        PointRule.code == "challenge_level_passed")).all()
    assert len(entries) == 5 and sum(e.requested_points for e in entries) == 50 and sum(e.points for e in entries) == 10
    assert points.verify_totals() == []


# -- answer keys ----------------------------------------------------------------------------------
def _keys(view):
    return [i for i in view["items"] if i["right_choices"] or i["right_answers"] or i["feedback"]]


def test_practice_reveals_the_key_of_the_days_first_attempt_only(db, tree, banks, clock):
    me = member(db, tree)
    quiz = daily_quiz()
    first, _ = start_quiz(me, quiz)
    attempts.submit(me, first.token)
    db.session.commit()
    view = attempts.review_view(first)
    assert view["key_shown"] and len(_keys(view)) == quiz.question_count
    revealed = set()
    for _n in range(35):  # the attack: empty submissions, one after another, collecting reviews
        attempt, _ = start_quiz(me, quiz)
        attempts.submit(me, attempt.token)
        view = attempts.review_view(attempt)
        assert not view["key_shown"] and view["key_note"] == "练习：只显示当天第一次作答的正确答案。"
        assert _keys(view) == [] and all(i["explanation"] is not None for i in view["items"])
        revealed |= {i["stem"] for i in _keys(view)}
    db.session.commit()
    assert revealed == set()


def test_a_campaign_attempts_key_is_shown_only_after_the_campaign_closes(client, db, tree, banks, clock):
    challenge = challenges.create_challenge(branch(db, tree, "C"), spec(1))
    challenges.publish(challenge)
    db.session.commit()
    me = member(db, tree)
    attempt, _ = challenges.start_level(me, challenge.levels[0])
    answer_all(me, attempt, right=False)
    attempts.submit(me, attempt.token)
    db.session.commit()
    hidden = attempts.review_view(attempt)
    assert not hidden["key_shown"] and _keys(hidden) == []
    assert [i["correct"] for i in hidden["items"]] == [False] * len(hidden["items"])
    clock.moment = challenge.ends_at + timedelta(seconds=1)
    shown = attempts.review_view(attempt)
    assert shown["key_shown"] and len(_keys(shown)) == len(shown["items"])


def test_a_contest_only_bank_is_never_drawn_by_practice(db, tree, banks, clock):
    set_contest_only(bank_by_slug("park-enterprise"), True)
    db.session.commit()
    me = member(db, tree)
    quiz = daily_quiz()
    drawn = set()
    for _n in range(15):
        attempt, _ = start_quiz(me, quiz)
        drawn |= {item.question.bank_id for item in attempt.items}
        attempts.submit(me, attempt.token)
        db.session.commit()
    assert drawn == {bank_by_slug("party-basics").id}
    # A campaign still draws it.
    challenge = challenges.create_challenge(branch(db, tree, "C"), spec(1, questions=5, banks=("park-enterprise",)))
    challenges.publish(challenge)
    level_attempt, _ = challenges.start_level(me, challenge.levels[0])
    assert {i.question.bank_id for i in level_attempt.items} == {bank_by_slug("park-enterprise").id}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AttemptItem)) > 0


def test_the_leaderboard_breaks_a_tie_in_score_by_time(db, tree, banks, clock):
    challenge = challenges.create_challenge(branch(db, tree, "C"), spec(1))
    challenges.publish(challenge)
    db.session.commit()
    slow, fast = member(db, tree), member(db, tree, "g1_member")
    for who, seconds in ((slow, 40), (fast, 10)):  # the slow player reached the score first
        attempt, _ = challenges.start_level(who, challenge.levels[0])
        clock.advance(seconds)
        answer_all(who, attempt)
        attempts.submit(who, attempt.token)
        db.session.commit()
    board = boards.member_board(challenge)
    assert [(r["name"], r["score"], r["seconds"]) for r in board] == [("赵小组", 100.0, 10), ("王党员", 100.0, 40)]
