"""The quiz answer's one statement (``quizzes.answer_sql``) against the checked way (``attempts.answer``):
the same attempt, question and answer, each way in turn; where the statement stores the answer, it
stores what the checked way stores, at the same time; where it declines (None), it stored nothing and
the checked way refuses the answer.  PostgreSQL only (the statement is never tried elsewhere)."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from learning.accounts.services import token_digest
from learning.quizzes import answer_sql, attempts
from learning.quizzes.models import Attempt, AttemptItem, AttemptStatus, Question, QuestionKind
from tests.api.test_api import auth, token_for

from .test_answer_api import start


@pytest.fixture
def bench(client, db, tree, banks, clock):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the one statement runs on PostgreSQL only")
    api_token = token_for(client, "member")
    body = start(client, auth(api_token))
    attempt = db.session.scalar(select(Attempt).where(Attempt.token == body["token"]))
    item = db.session.scalar(select(AttemptItem).where(AttemptItem.attempt_id == attempt.id, AttemptItem.position == 1))
    return attempt.member_id, attempt.id, attempt.token, item.id, item.question_id, token_digest(api_token)


def _set(db, clock, ids, case):
    _member_id, attempt_id, _token, item_id, question_id, _digest = ids
    db.session.rollback()
    db.session.execute(update(Question).where(Question.id == question_id).values(kind=case["kind"]))
    options = 0 if case["kind"] is QuestionKind.FILL_BLANK else case["options"]
    db.session.execute(update(AttemptItem).where(AttemptItem.attempt_id == attempt_id).values(
        response=None, answered_at=None))
    db.session.execute(update(AttemptItem).where(AttemptItem.id == item_id).values(
        option_order=list(reversed(range(options))) if case["reversed"] else list(range(options))))
    db.session.execute(update(Attempt).where(Attempt.id == attempt_id).values(
        status=case["status"], deadline=clock.moment + timedelta(seconds=case["deadline_in"])))
    db.session.commit()


def _rows(db, attempt_id):
    db.session.expire_all()
    items = db.session.execute(select(AttemptItem.position, AttemptItem.response, AttemptItem.answered_at)
                               .where(AttemptItem.attempt_id == attempt_id).order_by(AttemptItem.position)).all()
    return [tuple(row) for row in items], db.session.scalar(select(Attempt.status).where(Attempt.id == attempt_id))


def assert_both_ways_agree(db, clock, ids, case, payload, position=1):
    """Answer each way on the same rows; asserts they agree; returns (checked way's outcome, statement's)."""
    member_id, attempt_id, token, _item_id, _question_id, digest = ids
    _set(db, clock, ids, case)
    try:
        checked = attempts.answer(member_id, token, position, **payload)
        db.session.commit()
    except attempts.QuizError as exc:
        db.session.rollback()
        checked = exc.code
    checked_rows = _rows(db, attempt_id)

    _set(db, clock, ids, case)
    before = _rows(db, attempt_id)
    db.session.rollback()  # as a request starts: the connection in autocommit (api.member_token_required)
    db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    fast = answer_sql.answer(digest, token, position, **payload)
    db.session.commit()
    fast_rows = _rows(db, attempt_id)

    if fast is None:
        assert fast_rows == before, (case, payload)
        assert isinstance(checked, str), (case, payload, checked)
    else:
        assert fast == checked == clock.moment, (case, payload)
        assert fast_rows == checked_rows, (case, payload)
        assert fast_rows != before
    return checked, fast


CASES = st.fixed_dictionaries({
    "kind": st.sampled_from(list(QuestionKind)),
    "options": st.integers(2, 6),
    "reversed": st.booleans(),
    "status": st.sampled_from([AttemptStatus.OPEN] * 3 + [AttemptStatus.SUBMITTED, AttemptStatus.EXPIRED]),
    "deadline_in": st.integers(-10, 60),
})
LETTER = st.sampled_from(list("abcdefghij") + ["k", "A", "", "ab"])
PAYLOADS = st.fixed_dictionaries({
    "choices": st.none() | st.lists(LETTER, max_size=4),
    "text": st.none() | st.sampled_from(["党章", "  党章 ", "", "   ", "x" * 200, "x" * 201, "a\nb"]),
})
OPEN = {"kind": QuestionKind.SINGLE, "options": 4, "reversed": True, "status": AttemptStatus.OPEN, "deadline_in": 30}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])  # profile: conftest
@given(case=CASES, payload=PAYLOADS)
@example(case=OPEN, payload={"choices": ["b"], "text": None})
@example(case={**OPEN, "kind": QuestionKind.MULTIPLE}, payload={"choices": ["d", "a", "c"], "text": None})
@example(case={**OPEN, "kind": QuestionKind.MULTIPLE}, payload={"choices": ["a", "e"], "text": None})  # no e
@example(case={**OPEN, "kind": QuestionKind.SINGLE}, payload={"choices": ["a", "b"], "text": None})  # one only
@example(case={**OPEN, "kind": QuestionKind.FILL_BLANK}, payload={"choices": ["a"], "text": " 党章 "})
@example(case=OPEN, payload={"choices": [""], "text": None})  # "" and "ab" are in "abcd", but no letter
@example(case={**OPEN, "kind": QuestionKind.MULTIPLE}, payload={"choices": ["ab"], "text": None})
@example(case={**OPEN, "deadline_in": -3}, payload={"choices": ["a"], "text": None})  # within the grace
@example(case={**OPEN, "deadline_in": -4}, payload={"choices": ["a"], "text": None})  # past it
def test_the_one_statement_stores_what_the_checked_way_stores_or_declines(db, bench, clock, case, payload):
    checked, stored = assert_both_ways_agree(db, clock, bench, case, payload)
    assert stored is None or stored == checked


def test_the_common_answers_are_taken_and_the_rest_declined(db, bench, clock):
    """The cases the statement is for are taken (not all declined, which would pass the comparison), and
    what it stores is the option order's, not the letters'."""
    taken = [assert_both_ways_agree(db, clock, bench, {**OPEN, **case}, {"choices": None, "text": None, **payload})[1]
             for case, payload in [({}, {"choices": ["b"]}), ({"kind": QuestionKind.MULTIPLE}, {"choices": ["d", "a"]}),
                                   ({"kind": QuestionKind.FILL_BLANK}, {"text": " 党章 "})]]
    assert taken == [clock.moment] * 3
    stored = db.session.scalar(select(AttemptItem.response).where(AttemptItem.id == bench[3]))
    assert stored == ["党章"]
    assert_both_ways_agree(db, clock, bench, {**OPEN, "kind": QuestionKind.MULTIPLE}, {"choices": ["d", "a"], "text": None})
    assert db.session.scalar(select(AttemptItem.response).where(AttemptItem.id == bench[3])) == [0, 3]
    assert_both_ways_agree(db, clock, bench, {**OPEN, "kind": QuestionKind.MULTIPLE, "reversed": False},
             {"choices": ["d", "b"], "text": None})
    assert db.session.scalar(select(AttemptItem.response).where(AttemptItem.id == bench[3])) == [1, 3]
    declined = [assert_both_ways_agree(db, clock, bench, {**OPEN, **case}, {"choices": ["a"], "text": None, **payload}, position)
                for case, payload, position in [({"status": AttemptStatus.SUBMITTED}, {}, 1), ({}, {}, 99),
                                                ({"deadline_in": -4}, {}, 1), ({}, {"choices": ["e"]}, 1)]]
    assert declined == [("finished", None), ("unknown_item", None), ("time_up", None), ("bad_answer", None)]


def test_a_text_answer_is_stored_as_json_the_checked_way_reads(db, bench, clock):
    assert_both_ways_agree(db, clock, bench, {**OPEN, "kind": QuestionKind.FILL_BLANK}, {"choices": None, "text": '引号" \\ 和'})
    raw = db.session.connection().exec_driver_sql(
        "SELECT response::text FROM attempt_item WHERE id = %(id)s", {"id": bench[3]}).scalar()
    assert json.loads(raw) == ['引号" \\ 和']
