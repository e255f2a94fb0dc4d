"""Attempts through the API: nothing gives an answer away before submission, the server's clock
decides what counts, submitting twice grades once, and what the grades lead to."""
import json
import threading
from collections import Counter

import pytest
from sqlalchemy import func, select

from learning.points.models import LedgerEntry
from learning.quizzes import attempts, banks as bank_service
from learning.quizzes.models import Attempt, AttemptStatus, Quiz, QuizKind
from tests.api.test_api import auth, token_for
from tests.conftest import at_once
from tests.quizzes.conftest import answer_all, member

SECRET_BANK = """
title: 泄露检查
questions:
  - {id: s1, type: single, question: 单选题干, options: [选项甲, 选项乙, 选项丙, 选项丁], answer: C,
     explanation: EXPLANATION-SINGLE-7f3}
  - {id: m1, type: multiple, question: 多选题干, options: [多甲, 多乙, 多丙, 多丁], answer: [A, D],
     explanation: EXPLANATION-MULTIPLE-8a1}
  - {id: t1, type: true_false, question: 判断题干, answer: false, explanation: EXPLANATION-TF-2b9}
  - {id: f1, type: fill_blank, question: 填空题干, after: 之后, answer: [RIGHT-FILL-ANSWER, ALSO-RIGHT-FILL],
     explanation: EXPLANATION-FILL-5c4}
"""
GIFT_FEEDBACK = "::g1:: GIFT 题干 {=GIFT-RIGHT#FEEDBACK-RIGHT-1d ~GIFT-WRONG#FEEDBACK-WRONG-9e ####EXPLANATION-GIFT-3a}\n"
SECRETS = ["EXPLANATION-", "FEEDBACK-", "RIGHT-FILL-ANSWER", "ALSO-RIGHT-FILL", "weight", "correct", "explanation",
           "feedback", "right_", "score", "passed", "question_id", "answers"]
def quiz_awards(db) -> int:
    """Ledger entries from quizzes (logging in through the API earns a daily_login entry too)."""
    return db.session.scalar(select(func.count()).select_from(LedgerEntry).where(
        LedgerEntry.source_key.like("daily:%") | LedgerEntry.source_key.like("level:%")))


ITEM_KEYS = {"position", "kind", "stem", "stem_after", "options", "answered", "choices", "text"}


@pytest.fixture
def secret_quiz(db, tree, rules, courses):
    bank = bank_service.create_bank("secret", "泄露检查")
    assert bank_service.import_upload(bank, "secret.yaml", SECRET_BANK.encode()).ok
    assert bank_service.import_upload(bank, "more.gift", GIFT_FEEDBACK.encode()).ok
    quiz = Quiz(slug="daily", title="每日答题", kind=QuizKind.DAILY, bank_ids=[bank.id], question_count=5,
                seconds_per_question=30, pass_percent=60)
    db.session.add(quiz)
    db.session.commit()
    return quiz


def assert_reveals_nothing(body: dict):
    """Every field of an attempt before submission, checked against what would give an answer away."""
    text = json.dumps(body, ensure_ascii=False)
    for secret in SECRETS:
        assert secret not in text, (secret, text)
    assert set(body) == {"token", "quiz", "status", "started_at", "deadline", "remaining_seconds", "question_count",
                         "answered_count", "items"}
    assert set(body["quiz"]) == {"slug", "title", "kind", "pass_percent"}
    for item in body["items"]:
        assert set(item) == ITEM_KEYS, item
        for option in item["options"]:
            assert set(option) == {"id", "text"}
        assert [o["id"] for o in item["options"]] == list("abcdefghij"[:len(item["options"])])


def assert_shows_exactly_the_attempt(db, body: dict):
    """Values, not only keys: every item is the stored one, its options in this attempt's order, and
    the member's own answers (none for unanswered items)."""
    db.session.expire_all()
    attempt = db.session.scalar(select(Attempt).where(Attempt.token == body["token"]))
    assert body["status"] == "open" and body["question_count"] == attempt.question_count == len(body["items"])
    assert body["answered_count"] == sum(1 for i in attempt.items if i.response is not None)
    assert body["quiz"] == {"slug": attempt.quiz.slug, "title": attempt.quiz.title, "kind": attempt.quiz.kind.value,
                            "pass_percent": attempt.quiz.pass_percent}
    for shown, item in zip(body["items"], attempt.items):
        q = item.question
        assert (shown["position"], shown["kind"], shown["stem"], shown["stem_after"]) == (
            item.position, q.kind.value, q.stem, q.stem_after)
        assert shown["answered"] is (item.response is not None)
        if q.kind.value == "fill_blank":
            assert shown["options"] == [] and shown["choices"] == []
            assert shown["text"] == (item.response[0] if item.response else None)
            continue
        texts = [q.answers[i]["text"] for i in item.option_order]
        if q.kind.value == "true_false":
            texts = ["正确" if t == "true" else "错误" for t in texts]
        assert [o["text"] for o in shown["options"]] == texts
        assert shown["choices"] == [attempts.LETTERS[item.option_order.index(i)] for i in item.response or []]
        assert shown["text"] is None


def test_no_response_before_submission_reveals_an_answer_for_any_question_type(client, db, tree, secret_quiz, clock):
    headers = auth(token_for(client, "member"))
    started = client.post("/api/v1/quizzes/daily/attempts", headers=headers)
    assert started.status_code == 201
    body = started.get_json()
    assert_reveals_nothing(body)
    assert_shows_exactly_the_attempt(db, body)
    assert all(i["choices"] == [] and i["text"] is None and not i["answered"] for i in body["items"])
    assert sorted(i["kind"] for i in body["items"]) == ["fill_blank", "multiple", "single", "single", "true_false"]
    token = body["token"]
    for item in body["items"]:
        payload = {"text": "我的答案"} if item["kind"] == "fill_blank" else {"choices": [item["options"][0]["id"]]}
        answered = client.put(f"/api/v1/attempts/{token}/items/{item['position']}", json=payload, headers=headers)
        assert answered.status_code == 200 and set(answered.get_json()) == {"position", "answered_at"}
        assert answered.get_json()["position"] == item["position"]
        now_shown = client.get(f"/api/v1/attempts/{token}", headers=headers).get_json()
        assert_reveals_nothing(now_shown)
        assert_shows_exactly_the_attempt(db, now_shown)
        mine = next(i for i in now_shown["items"] if i["position"] == item["position"])
        assert mine["answered"] and (mine["text"] == "我的答案" if item["kind"] == "fill_blank"
                                     else mine["choices"] == [item["options"][0]["id"]])
    assert client.get(f"/api/v1/attempts/{token}/review", headers=headers).status_code == 409
    listing = client.get("/api/v1/quizzes", headers=headers).get_json()
    assert not any(s in json.dumps(listing, ensure_ascii=False) for s in SECRETS[:4])
    # The page a member sees carries no more than the API does.
    from tests.conftest import login
    from tests.factories import PASSWORD

    login(client, "member", PASSWORD)
    page = client.get(f"/quizzes/attempts/{token}").get_data(as_text=True)
    assert not any(s in page for s in SECRETS[:4])
    # After submission the review has it all.
    review = client.post(f"/api/v1/attempts/{token}/submit", headers=headers).get_json()
    text = json.dumps(review, ensure_ascii=False)
    assert "EXPLANATION-FILL-5c4" in text and "RIGHT-FILL-ANSWER" in text and "FEEDBACK-" in text


def test_option_order_is_shuffled_per_attempt_so_the_letter_of_the_right_option_varies(db, tree, secret_quiz, clock):
    who = member(db, tree)
    letters = Counter()
    for _ in range(40):
        attempt, _created = attempts.start(who, secret_quiz)
        item = next(i for i in attempt.items if i.question.key == "s1")
        letters[attempts.LETTERS[item.option_order.index(2)]] += 1  # C, the right one, in this attempt
        attempts.finish(attempt)
        db.session.commit()
    assert len(letters) == 4 and max(letters.values()) < 25, letters


def test_a_late_answer_does_not_count_and_the_attempt_is_graded_with_what_came_in_time(client, db, tree, secret_quiz, clock):
    headers = auth(token_for(client, "member"))
    body = client.post("/api/v1/quizzes/daily/attempts", headers=headers).get_json()
    assert body["remaining_seconds"] == 150
    who = member(db, tree)
    attempt = db.session.scalar(select(Attempt).where(Attempt.token == body["token"]))
    first, second = attempt.items[0], attempt.items[1]
    answer_all_one = lambda item: answer_all(who, type("A", (), {"items": [item], "token": body["token"]})(), right=True)
    answer_all_one(first)
    db.session.commit()
    clock.advance(150 + attempts.GRACE_SECONDS + 1)
    late = client.put(f"/api/v1/attempts/{body['token']}/items/{second.position}", json={"choices": ["a"], "text": "x"},
                      headers=headers)
    assert late.status_code == 409 and late.get_json()["code"] == "time_up"
    review = client.post(f"/api/v1/attempts/{body['token']}/submit", headers=headers).get_json()
    assert review["status"] == "expired" and review["correct_count"] == 1 and review["score"] == 20.0
    assert [i["answered"] for i in review["items"]].count(True) == 1


def test_submitting_twice_grades_once_and_awards_once(client, db, tree, rules, secret_quiz, clock):
    headers = auth(token_for(client, "member"))
    body = client.post("/api/v1/quizzes/daily/attempts", headers=headers).get_json()
    who = member(db, tree)
    answer_all(who, db.session.scalar(select(Attempt).where(Attempt.token == body["token"])))
    db.session.commit()
    first = client.post(f"/api/v1/attempts/{body['token']}/submit", headers=headers)
    clock.advance(5)
    second = client.post(f"/api/v1/attempts/{body['token']}/submit", headers=headers)
    assert first.status_code == second.status_code == 200
    assert first.get_json()["score"] == second.get_json()["score"] == 100.0
    assert first.get_json()["finished_at"] == second.get_json()["finished_at"]
    assert quiz_awards(db) == 1
    again = client.put(f"/api/v1/attempts/{body['token']}/items/1", json={"choices": ["a"]}, headers=headers)
    assert again.status_code == 409 and again.get_json()["code"] == "finished"


@pytest.mark.postgresql_only
def test_double_submission_raced_from_threads_grades_and_awards_once(app, db, tree, campaign, clock):
    who = member(db, tree)
    level = campaign.levels[0]
    from learning.quizzes import challenges

    attempt, _ = challenges.start_level(who, level)
    answer_all(who, attempt)
    db.session.commit()
    token, member_id = attempt.token, who.id
    barrier = threading.Barrier(8)
    outcomes = []

    def submit():
        with app.app_context():
            from learning.extensions import db as _db
            from learning.orgs.models import Member

            try:
                barrier.wait()
                done = attempts.submit(_db.session.get(Member, member_id), token)
                _db.session.commit()
                outcomes.append(done.score)
            finally:
                _db.session.remove()

    at_once([submit] * 8)
    db.session.expire_all()
    assert outcomes == [100.0] * 8
    assert quiz_awards(db) == 1
    from learning.quizzes.models import ChallengeStanding, LevelResult

    assert db.session.scalar(select(LevelResult.attempts)) == 1
    assert db.session.scalar(select(ChallengeStanding.levels_passed)) == 1


def test_an_abandoned_attempt_is_graded_when_its_time_is_over(db, tree, secret_quiz, clock):
    who = member(db, tree)
    attempt, _ = attempts.start(who, secret_quiz)
    answer_all(who, type("Part", (), {"items": attempt.items[:2], "token": attempt.token})())
    db.session.commit()
    clock.advance(60)
    assert attempts.expire_overdue() == 0  # still running
    clock.advance(200)
    assert attempts.expire_overdue() == 1
    db.session.commit()
    db.session.refresh(attempt)
    assert attempt.status is AttemptStatus.EXPIRED and attempt.correct_count == 2 and attempt.score == 40.0
    # The first finished attempt of the day counted, and it failed: no daily points today, even for a perfect second try.
    again, created = attempts.start(who, secret_quiz)
    assert created and again.id != attempt.id
    answer_all(who, again)
    assert attempts.submit(who, again.token).score == 100.0
    db.session.commit()
    assert quiz_awards(db) == 0
    # The next day's first attempt counts: a perfect score earns the "perfect" variant.
    clock.advance(24 * 3600)
    third, _ = attempts.start(who, secret_quiz)
    answer_all(who, third)
    attempts.submit(who, third.token)
    db.session.commit()
    assert db.session.scalar(select(LedgerEntry.points).where(LedgerEntry.source_key.like("daily:%"))) == 2


def test_starting_again_resumes_the_open_attempt(client, db, tree, secret_quiz, clock):
    headers = auth(token_for(client, "member"))
    first = client.post("/api/v1/quizzes/daily/attempts", headers=headers)
    second = client.post("/api/v1/quizzes/daily/attempts", headers=headers)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.get_json()["token"] == second.get_json()["token"]
    assert [i["stem"] for i in first.get_json()["items"]] == [i["stem"] for i in second.get_json()["items"]]


def test_bad_answers_get_a_clear_problem_and_change_nothing(client, db, tree, secret_quiz, clock):
    headers = auth(token_for(client, "member"))
    body = client.post("/api/v1/quizzes/daily/attempts", headers=headers).get_json()
    token = body["token"]
    kinds = {i["kind"]: i["position"] for i in body["items"]}
    cases = [
        (kinds["single"], {"choices": ["a", "b"]}, 422, "bad_answer"),
        (kinds["single"], {"choices": ["z"]}, 422, "bad_answer"),
        (kinds["multiple"], {"choices": ["a", "a"]}, 422, "bad_answer"),
        (kinds["fill_blank"], {"text": "  "}, 422, "bad_answer"),
        (kinds["single"], {"choices": ["a"], "score": 100}, 422, None),
        (99, {"choices": ["a"]}, 404, "unknown_item"),
    ]
    for position, payload, status, code in cases:
        response = client.put(f"/api/v1/attempts/{token}/items/{position}", json=payload, headers=headers)
        assert response.status_code == status, (payload, response.get_json())
        assert response.mimetype == "application/problem+json"
        if code:
            assert response.get_json()["code"] == code
    assert client.get(f"/api/v1/attempts/{token}", headers=headers).get_json()["answered_count"] == 0
    other = auth(token_for(client, "g1member"))
    assert client.put(f"/api/v1/attempts/{token}/items/1", json={"choices": ["a"]}, headers=other).status_code == 404
    assert client.get(f"/api/v1/attempts/{token}", headers=other).status_code == 404


@pytest.mark.parametrize("choices", [[""], ["ab"], ["a", ""]], ids=["empty", "two-letters", "a-and-empty"])
def test_only_single_letters_shown_are_choices(db, tree, banks, clock, choices):
    """The pages' saves are not checked by the API's schema: "" and "ab" are in "abcd", yet no letter
    (they counted as "a")."""
    who = member(db, tree)
    attempt, _ = attempts.start(who, db.session.scalar(select(Quiz).where(Quiz.slug == "daily")))
    db.session.commit()
    item = next(i for i in attempt.items if i.option_order)
    with pytest.raises(attempts.QuizError) as refused:
        attempts.answer(who.id, attempt.token, item.position, choices=choices)
    assert refused.value.code == "bad_answer"
    db.session.rollback()
    assert db.session.get(type(item), item.id).response is None


def test_recently_seen_questions_are_drawn_last(db, tree, banks, clock):
    who = member(db, tree)
    quiz = db.session.scalar(select(Quiz).where(Quiz.slug == "daily"))
    seen = set()
    for _ in range(6):
        attempt, _ = attempts.start(who, quiz)
        drawn = {item.question_id for item in attempt.items}
        assert len(drawn) == quiz.question_count and not drawn & seen
        seen |= drawn
        attempts.finish(attempt)
        db.session.commit()


def test_a_course_quiz_needs_the_lessons_allows_three_attempts_and_counts_the_highest(db, tree, banks, clock):
    from learning.courses.models import Course, LessonProgress
    from learning.db import utcnow
    from learning.quizzes import grading, services
    from learning.quizzes.attempts import QuizError

    who = member(db, tree)
    quiz = services.quiz_by_slug("party-discipline-quiz")
    with pytest.raises(QuizError) as locked:
        services.start_quiz(who, quiz)
    assert locked.value.code == "locked"
    course = db.session.scalar(select(Course).where(Course.slug == "party-discipline"))
    for lesson in course.live_lessons:
        db.session.add(LessonProgress(member_id=who.id, lesson_id=lesson.id, seconds=lesson.min_seconds,
                                      completed_at=utcnow()))
    db.session.commit()
    scores = []
    for right in (True, False, False):
        attempt, _ = services.start_quiz(who, quiz)
        answer_all(who, attempt, right=right)
        scores.append(attempts.submit(who, attempt.token).score)
        db.session.commit()
    assert scores[0] == 100.0 and scores[1] < 80
    with pytest.raises(QuizError) as used:
        services.start_quiz(who, quiz)
    assert used.value.code == "no_attempts_left"
    assert grading.counted_attempt(who.id, quiz).score == 100.0 and grading.quiz_passed(who.id, quiz.slug)
    quiz.grading = quiz.grading.__class__("last")
    assert not grading.quiz_passed(who.id, quiz.slug)


def test_a_campaign_level_start_shows_exactly_the_attempt_and_no_answer(client, db, tree, campaign, clock):
    headers = auth(token_for(client, "member"))
    started = client.post(f"/api/v1/challenges/{campaign.id}/levels/1/attempts", headers=headers)
    assert started.status_code == 201
    body = started.get_json()
    assert_reveals_nothing(body)
    assert_shows_exactly_the_attempt(db, body)
    level = campaign.levels[0]
    assert body["question_count"] == level.quiz.question_count == 4
    assert body["remaining_seconds"] == 4 * level.quiz.seconds_per_question  # the server's frozen clock
    assert body["quiz"]["kind"] == "level" and all(not i["answered"] for i in body["items"])
