"""The JSON API: tokens, problem+json errors, scoping, and the OpenAPI document."""
import pytest

from learning.accounts.models import ApiToken
from tests.factories import PASSWORD

PROBLEM = "application/problem+json"


def token_for(client, username, password=PASSWORD):
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["token"]


def auth(token):
    return {"Authorization": f"Bearer {token}"}


def test_token_then_me(client, tree):
    token = token_for(client, "secretary")
    body = client.get("/api/v1/me", headers=auth(token)).get_json()
    assert body["username"] == "secretary" and body["name"] == "李书记"
    assert {"role": "branch_secretary", "organisation_id": tree["orgs"]["B1"], "organisation_name": "一支部"} in body["roles"]


def test_tokens_are_stored_hashed(client, db, tree):
    token = token_for(client, "member")
    stored = db.session.query(ApiToken).one()
    assert token not in (stored.token_hash, stored.prefix) and len(stored.token_hash) == 64


def test_wrong_password_is_a_401_problem(client, tree):
    response = client.post("/api/v1/auth/token", json={"username": "member", "password": "nope-nope1"})
    assert response.status_code == 401 and response.mimetype == PROBLEM
    assert response.get_json()["status"] == 401


def test_token_endpoint_is_rate_limited(client, tree):
    for _ in range(5):
        client.post("/api/v1/auth/token", json={"username": "member", "password": "nope-nope1"})
    response = client.post("/api/v1/auth/token", json={"username": "member", "password": PASSWORD})
    assert response.status_code == 429 and response.mimetype == PROBLEM
    assert "Retry-After" in response.headers


def test_malformed_json_is_a_400_problem(client, tree):
    response = client.post("/api/v1/auth/token", data="{not json", content_type="application/json")
    assert response.status_code == 400 and response.mimetype == PROBLEM


@pytest.mark.parametrize(
    "payload,fields",
    [
        ({}, {"username", "password"}),
        ({"username": 5, "password": ["x"]}, {"username", "password"}),
        ({"username": "member", "password": "x", "extra": 1}, {"extra"}),
        ({"username": "", "password": "x"}, {"username"}),
    ],
)
def test_wrong_types_are_a_422_problem_naming_the_fields(client, tree, payload, fields):
    response = client.post("/api/v1/auth/token", json=payload)
    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert set(response.get_json()["errors"]) == fields


def test_a_json_array_body_is_refused_cleanly(client, tree):
    response = client.post("/api/v1/auth/token", json=[1, 2])
    assert response.status_code == 422 and response.mimetype == PROBLEM


def test_missing_and_bad_tokens_are_401(client, tree):
    for headers in ({}, {"Authorization": "Bearer lrn_nonsense"}, {"Authorization": "Basic abc"}):
        response = client.get("/api/v1/me", headers=headers)
        assert response.status_code == 401 and response.mimetype == PROBLEM
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_token_stops_working(client, tree):
    token = token_for(client, "member")
    assert client.delete("/api/v1/auth/token", headers=auth(token)).status_code == 204
    assert client.get("/api/v1/me", headers=auth(token)).status_code == 401


def test_an_expired_token_stops_working(client, db, tree):
    from datetime import timedelta

    from learning.db import utcnow

    token = token_for(client, "member")
    db.session.query(ApiToken).one().expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.get("/api/v1/me", headers=auth(token)).status_code == 401


def test_member_lists_are_scoped(client, tree):
    token = token_for(client, "secretary")
    body = client.get("/api/v1/members?per_page=100", headers=auth(token)).get_json()
    assert {m["external_id"] for m in body["items"]} == {"M-B1-S", "M-B1-1", "M-G1-1"}
    assert body["total"] == 3


@pytest.mark.parametrize("key", ["b2_member", "bx_member"])
def test_a_sibling_member_is_404_and_nothing_leaks(client, tree, key):
    token = token_for(client, "secretary")
    response = client.get(f"/api/v1/members/{tree['members'][key]}", headers=auth(token))
    assert response.status_code == 404 and response.mimetype == PROBLEM
    text = response.get_data(as_text=True)
    assert "钱二支" not in text and "吴外部" not in text and "M-B" not in text
    missing = client.get("/api/v1/members/999999", headers=auth(token))
    assert missing.get_json() == response.get_json()  # indistinguishable from an id that does not exist


def test_a_sibling_organisation_filter_is_404(client, tree):
    token = token_for(client, "secretary")
    assert client.get(f"/api/v1/members?org={tree['orgs']['B2']}", headers=auth(token)).status_code == 404
    assert client.get(f"/api/v1/orgs?parent={tree['orgs']['C']}", headers=auth(token)).status_code == 404


def test_a_member_reads_only_their_own_record(client, tree):
    token = token_for(client, "member")
    assert client.get(f"/api/v1/members/{tree['members']['b1_member']}", headers=auth(token)).status_code == 200
    assert client.get(f"/api/v1/members/{tree['members']['b1_secretary']}", headers=auth(token)).status_code == 404
    assert client.get("/api/v1/members", headers=auth(token)).get_json()["total"] == 0


def test_orgs_start_at_the_scope_root(client, tree):
    token = token_for(client, "orgadmin")
    roots = client.get("/api/v1/orgs", headers=auth(token)).get_json()["items"]
    assert [o["external_id"] for o in roots] == ["GB"]
    children = client.get(f"/api/v1/orgs?parent={tree['orgs']['GB']}", headers=auth(token)).get_json()["items"]
    assert sorted(o["external_id"] for o in children) == ["B1", "B2"]


def test_bad_query_parameters_are_422(client, tree):
    token = token_for(client, "reviewer")
    response = client.get("/api/v1/members?page=0&per_page=1000&status=boss", headers=auth(token))
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"page", "per_page", "status"}


def test_unknown_paths_and_methods_are_problems(client, tree):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.mimetype == PROBLEM
    response = client.put("/api/v1/me")
    assert response.status_code == 405 and response.mimetype == PROBLEM


def test_html_pages_keep_html_errors(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404 and response.mimetype == "text/html"


def test_openapi_document_describes_the_api(client):
    from openapi_spec_validator import validate

    spec = client.get("/api/v1/openapi.json").get_json()
    validate(spec)
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    for path in ("/api/v1/auth/token", "/api/v1/me", "/api/v1/members", "/api/v1/members/{member_id}", "/api/v1/orgs"):
        assert path in spec["paths"], path
    token_body = spec["paths"]["/api/v1/auth/token"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert token_body["$ref"].endswith("TokenRequest")
    assert spec["paths"]["/api/v1/me"]["get"]["security"] == [{"bearerAuth": []}]


def test_health_and_readiness(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/readyz").get_json()["checks"]["database"] == "ok"
