"""A quiz answer through the API, the hot path of a campaign: on PostgreSQL one statement in autocommit
(``quizzes.answer_sql``: the token, the read, the check and the write), elsewhere the token check
carrying the attempt's read and one update; every refusal of the token, of the attempt and of the
position still holds and stores nothing."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from learning.accounts.models import Account
from learning.quizzes.models import Attempt, AttemptItem
from tests.api.test_api import auth, token_for
from tests.courses.test_beat_api import REFUSALS, statements_seen


def start(client, headers) -> dict:
    started = client.post("/api/v1/quizzes/daily/attempts", headers=headers)
    assert started.status_code == 201, started.get_json()
    return started.get_json()


def payload_for(item: dict) -> dict:
    return {"text": "我的答案"} if item["kind"] == "fill_blank" else {"choices": [item["options"][0]["id"]]}


def stored(db, token: str, position: int):
    db.session.expire_all()
    return db.session.scalar(select(AttemptItem.response).join(Attempt)
                             .where(Attempt.token == token, AttemptItem.position == position))


def test_an_answer_is_one_statement_in_autocommit(client, db, tree, banks, clock):
    headers = auth(token_for(client, "member"))
    body = start(client, headers)
    item = body["items"][0]
    with statements_seen(db) as (seen, connections):
        response = client.put(f"/api/v1/attempts/{body['token']}/items/{item['position']}", json=payload_for(item),
                              headers=headers)
    assert response.status_code == 200 and response.get_json()["position"] == item["position"]
    if db.engine.dialect.name == "postgresql":
        assert seen == [("WITH", True)]
        assert connections[0].autocommit is False  # back in the pool, out of autocommit
    else:
        assert [word for word, _ in seen] == ["SELECT", "UPDATE"]
    shown = client.get(f"/api/v1/attempts/{body['token']}", headers=headers).get_json()
    mine = next(i for i in shown["items"] if i["position"] == item["position"])
    assert mine["answered"] and (mine["text"] == "我的答案" if item["kind"] == "fill_blank"
                                 else mine["choices"] == [item["options"][0]["id"]])


@pytest.mark.parametrize("spoil,status,code", REFUSALS, ids=lambda v: getattr(v, "__name__", str(v)))
def test_a_token_that_no_longer_holds_stores_nothing(client, db, tree, banks, clock, spoil, status, code):
    headers = auth(token_for(client, "member"))
    body = start(client, headers)
    item = body["items"][0]
    spoil(db, db.session.scalar(select(Account).where(Account.username == "member")))
    db.session.commit()
    response = client.put(f"/api/v1/attempts/{body['token']}/items/{item['position']}", json=payload_for(item),
                          headers=headers)
    assert response.status_code == status and response.mimetype == "application/problem+json"
    assert response.get_json().get("code") == code
    assert stored(db, body["token"], item["position"]) is None


def test_someone_elses_attempt_a_missing_position_and_a_finished_attempt_are_refused(client, db, tree, banks, clock):
    mine, theirs = auth(token_for(client, "member")), auth(token_for(client, "g1member"))
    body = start(client, mine)
    item = body["items"][0]
    cases = [(theirs, body["token"], item["position"], 404, "unknown_attempt"),
             (mine, "no-such-attempt", item["position"], 404, "unknown_attempt"),
             (mine, body["token"], 99, 404, "unknown_item"),
             (mine, body["token"], 2**31, 404, None),  # past PostgreSQL's integer: refused before any query
             (mine, body["token"], 2**63, 404, None)]
    for headers, token, position, status, code in cases:
        response = client.put(f"/api/v1/attempts/{token}/items/{position}", json=payload_for(item), headers=headers)
        assert (response.status_code, response.get_json().get("code")) == (status, code), (token, position, response.get_json())
    assert stored(db, body["token"], item["position"]) is None
    assert client.post(f"/api/v1/attempts/{body['token']}/submit", headers=mine).status_code == 200
    late = client.put(f"/api/v1/attempts/{body['token']}/items/{item['position']}", json=payload_for(item),
                      headers=mine)
    assert (late.status_code, late.get_json()["code"]) == (409, "finished")
    assert stored(db, body["token"], item["position"]) is None
