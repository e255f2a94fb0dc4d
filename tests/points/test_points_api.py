"""The points API: my points and ledger, scoped rankings, disputes; all problem+json on bad input."""
from sqlalchemy import select

from learning.orgs.models import Member
from learning.points import services
from learning.points.models import LedgerEntry
from tests.api.test_api import auth, token_for


def seed(db, tree):
    for key, n in (("b1_member", 2), ("b1_secretary", 1), ("b2_member", 3)):
        member = db.session.get(Member, tree["members"][key])
        for i in range(n):
            services.award("meeting_attended", member=member, source_key=f"{key}:{i}")
    db.session.commit()


def test_my_points_and_ledger(client, db, tree, rules):
    seed(db, tree)
    token = token_for(client, "member")  # logging in earns the daily point
    body = client.get("/api/v1/me/points", headers=auth(token)).get_json()
    assert body["points"] == 11 and body["today"] == 11 and body["all_time"] == 11
    assert {"rule": "daily_login", "granted_today": 1, "daily_cap": 1} in body["caps_today"]
    ledger = client.get("/api/v1/me/ledger?per_page=2", headers=auth(token)).get_json()
    assert ledger["total"] == 3 and len(ledger["items"]) == 2
    assert ledger["items"][0]["description"] == "每日登录"


def test_bad_period_is_422(client, db, tree, rules):
    token = token_for(client, "member")
    response = client.get("/api/v1/me/points?period=2026Q7", headers=auth(token))
    assert response.status_code == 422 and "period" in response.get_json()["errors"]


def test_rankings_for_an_administrator_are_scoped(client, db, tree, rules):
    seed(db, tree)
    token = token_for(client, "secretary")
    body = client.get("/api/v1/rankings", headers=auth(token)).get_json()
    assert [(i["name"], i["points"], i["rank"]) for i in body["items"]] == [("王党员", 10, 1), ("李书记", 6, 2), ("赵小组", 0, 3)]
    assert client.get(f"/api/v1/rankings?org={tree['orgs']['B2']}", headers=auth(token)).status_code == 404


def test_a_member_sees_their_own_branch_ranking_only(client, db, tree, rules):
    seed(db, tree)
    token = token_for(client, "g1member")  # in a group of B1: sees B1
    body = client.get("/api/v1/rankings", headers=auth(token)).get_json()
    assert body["org"] == tree["orgs"]["B1"] and len(body["items"]) == 3
    assert client.get(f"/api/v1/rankings?org={tree['orgs']['C']}", headers=auth(token)).status_code == 404
    orgs = client.get(f"/api/v1/rankings?kind=org&org={tree['orgs']['B1']}", headers=auth(token)).get_json()
    assert [i["name"] for i in orgs["items"]] == ["一支部第一党小组"]


def test_disputes_through_the_api(client, db, tree, rules):
    seed(db, tree)
    token = token_for(client, "member")
    own = db.session.scalar(select(LedgerEntry.id).where(LedgerEntry.member_id == tree["members"]["b1_member"]))
    other = db.session.scalar(select(LedgerEntry.id).where(LedgerEntry.member_id == tree["members"]["b2_member"]))
    created = client.post(f"/api/v1/ledger/{own}/disputes", json={"reason": "会议没有参加"}, headers=auth(token))
    assert created.status_code == 201 and created.get_json()["status"] == "open"
    again = client.post(f"/api/v1/ledger/{own}/disputes", json={"reason": "会议没有参加"}, headers=auth(token))
    assert again.status_code == 409 and again.mimetype == "application/problem+json"
    assert client.post(f"/api/v1/ledger/{other}/disputes", json={"reason": "这不是我的记录"}, headers=auth(token)).status_code == 404
    short = client.post(f"/api/v1/ledger/{own}/disputes", json={"reason": "短"}, headers=auth(token))
    assert short.status_code == 422 and "reason" in short.get_json()["errors"]


def test_the_points_endpoints_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/api/v1/me/points", "/api/v1/me/ledger", "/api/v1/rankings", "/api/v1/ledger/{entry_id}/disputes"):
        assert path in paths
