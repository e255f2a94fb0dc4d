"""SCIM 2.0 at /scim/v2: scim2-tester's whole checklist, then what the checklist cannot know about
our domain (members are kept on DELETE, transfers, filters in SQL, tokens)."""
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import Field
from scim2_client.engines.wsgi import WSGISCIMClient
from scim2_models import ScimProvider
from scim2_tester import Status, check_server, get_all_available_tags
from sqlalchemy import func, select

from learning.orgs.models import Member, Organisation
from learning.points import services as points
from learning.points.models import LedgerEntry
from learning.registry import scim
from learning.registry.services import create_connection, revoke_connection

SCIM_JSON = "application/scim+json"
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def issued(db, tree):
    issued = create_connection("党员信息库")
    db.session.commit()
    return issued


@pytest.fixture
def auth(issued):
    return {"Authorization": f"Bearer {issued.token}"}


class ExampleDatesMemberExtension(scim.MemberExtension):
    """scim2-tester 0.5 fills a dateTime attribute with a random UUID string, which no server
    accepts; given example dates (midnight in Asia/Shanghai, the precision we keep) it uses those.
    Everything else is the server's own published description."""

    __schema__ = scim.MemberExtension.__schema__
    join_date: datetime | None = Field(None, examples=[datetime(2001, 7, 1, tzinfo=SHANGHAI),
                                                       datetime(2019, 10, 1, tzinfo=SHANGHAI)])


def scim_client(app, token):
    published = scim.build_provider()
    provider = ScimProvider(
        models=[scim.ScimMember, ExampleDatesMemberExtension, scim.ScimOrganisation, scim.OrganisationExtension],
        resource_types=published.resource_types, config=published.config,
    )
    return WSGISCIMClient(app, base_url="http://localhost/scim/v2",
                          headers={"Authorization": f"Bearer {token}"}, provider=provider)


def test_scim2_tester_checks_all_succeed(app, db, tree, issued):
    results = check_server(scim_client(app, issued.token), include_tags=get_all_available_tags())
    failures = [(r.title, r.resource_type, r.status.name, r.reason) for r in results
                if r.status not in (Status.SUCCESS, Status.SKIPPED)]
    assert failures == []
    ran = {(r.title, r.resource_type) for r in results if r.status == Status.SUCCESS}
    for title in ("object_creation", "object_replacement", "object_deletion", "check_replace_attribute"):
        assert (title, "User") in ran and (title, "Group") in ran
    assert len(results) > 40


def new_user(org_id, user_name="310101199001011234", name="陈新党员", external_id="M-NEW-1", **extension):
    return {
        "schemas": [scim.USER_SCHEMA, scim.MEMBER_EXTENSION],
        "userName": user_name, "displayName": name, "active": True, "externalId": external_id,
        scim.MEMBER_EXTENSION: {"organization": f"Groups/{org_id}", "status": "probationary",
                                "joinDate": "2025-07-01T00:00:00+08:00", **extension},
    }


def test_discovery_needs_no_token_but_resources_do(client, db, tree, issued, auth):
    config = client.get("/scim/v2/ServiceProviderConfig")
    assert config.status_code == 200
    assert config.get_json()["authenticationSchemes"][0]["type"] == "oauthbearertoken"
    assert config.get_json()["filter"] == {"supported": True, "maxResults": scim.MAX_RESULTS}
    assert client.get("/scim/v2/Users").status_code == 401
    assert client.get("/scim/v2/Users", headers={"Authorization": "Bearer reg_not-a-token"}).status_code == 401
    assert client.get("/scim/v2/Users", headers=auth).status_code == 200
    revoke_connection(issued.connection)
    db.session.commit()
    refused = client.get("/scim/v2/Users", headers=auth)
    assert refused.status_code == 401
    assert refused.get_json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]


def test_existing_members_are_users_with_their_member_number(client, tree, auth):
    body = client.get("/scim/v2/Users?filter=" + 'userName eq "M-B1-1"', headers=auth).get_json()
    assert body["totalResults"] == 1
    user = body["Resources"][0]
    assert user["id"] == str(tree["members"]["b1_member"]) and user["displayName"] == "王党员"
    ours = user[scim.MEMBER_EXTENSION]
    assert ours["organization"] == f"http://localhost/scim/v2/Groups/{tree['orgs']['B1']}"
    assert ours["status"] == "full"


def test_create_read_and_filter_members(client, db, tree, auth):
    created = client.post("/scim/v2/Users", json=new_user(tree["orgs"]["B1"]), headers=auth)
    assert created.status_code == 201, created.get_data(as_text=True)
    body = created.get_json()
    assert created.headers["Location"] == body["meta"]["location"]
    assert created.headers["ETag"] == body["meta"]["version"]
    member = db.session.get(Member, int(body["id"]))
    assert (member.name, member.organisation_id, member.status.value, member.joined_on.isoformat(), member.user_name) == \
        ("陈新党员", tree["orgs"]["B1"], "probationary", "2025-07-01", "310101199001011234")
    assert body[scim.MEMBER_EXTENSION]["joinDate"].startswith("2025-07-01T00:00:00")

    def found(query):
        response = client.get("/scim/v2/Users", query_string={"filter": query}, headers=auth)
        assert response.status_code == 200, response.get_data(as_text=True)
        return sorted(r["displayName"] for r in response.get_json()["Resources"])

    assert found('displayName co "书记"') == ["孙书记", "李书记"]
    assert found('userName sw "m-b2"') == ["孙书记", "钱二支"]  # userName is case-insensitive
    assert found(f'{scim.MEMBER_EXTENSION}:status eq "probationary" and not (displayName eq "赵小组")') == ["陈新党员"]
    assert found(f'{scim.MEMBER_EXTENSION}:organization eq "Groups/{tree["orgs"]["G1"]}"') == ["赵小组"]
    assert found('externalId eq "m-b1-1"') == []  # externalId is case-exact
    bad = client.get("/scim/v2/Users", query_string={"filter": 'nickName eq "x"'}, headers=auth)
    assert bad.status_code == 400 and bad.get_json()["scimType"] == "invalidFilter"

    page = client.get("/scim/v2/Users", query_string={"startIndex": 5, "count": 2, "sortBy": "userName"},
                      headers=auth).get_json()
    assert page["totalResults"] == 10 and page["startIndex"] == 5 and page["itemsPerPage"] == 2
    assert [r["userName"] for r in page["Resources"]] == ["M-B2-1", "M-B2-S"]


def test_duplicate_user_name_is_a_conflict_and_writes_nothing(client, db, tree, auth):
    before = db.session.scalar(select(func.count()).select_from(Member))
    response = client.post("/scim/v2/Users", json=new_user(tree["orgs"]["B1"], user_name="m-b1-1", external_id="X"),
                           headers=auth)
    assert response.status_code == 409 and response.get_json()["scimType"] == "uniqueness"
    unknown_org = client.post("/scim/v2/Users", json=new_user(999999), headers=auth)
    assert unknown_org.status_code == 400 and "Group 999999" in unknown_org.get_json()["detail"]
    bad_status = client.post("/scim/v2/Users", json=new_user(tree["orgs"]["B1"], status="hero"), headers=auth)
    assert bad_status.status_code == 400 and "status" in bad_status.get_json()["detail"]
    assert db.session.scalar(select(func.count()).select_from(Member)) == before


def test_patch_organization_transfers_and_history_stays(client, db, tree, rules, auth):
    member_id = tree["members"]["b1_member"]
    points.award("meeting_attended", member=db.session.get(Member, member_id), source_key="before-transfer")
    db.session.commit()
    patch = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
             "Operations": [{"op": "replace", "path": f"{scim.MEMBER_EXTENSION}:organization",
                             "value": f"Groups/{tree['orgs']['B2']}"}]}
    response = client.patch(f"/scim/v2/Users/{member_id}", json=patch, headers=auth)
    assert response.status_code in (200, 204), response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Member, member_id).organisation_id == tree["orgs"]["B2"]
    points.award("meeting_attended", member=db.session.get(Member, member_id), source_key="after-transfer")
    db.session.commit()
    by_org = dict(db.session.execute(
        select(LedgerEntry.organisation_id, func.sum(LedgerEntry.points))
        .where(LedgerEntry.member_id == member_id).group_by(LedgerEntry.organisation_id)).all())
    assert by_org == {tree["orgs"]["B1"]: 5, tree["orgs"]["B2"]: 5}


def test_delete_keeps_the_member_and_provisioning_again_brings_them_back(client, db, tree, rules, auth):
    member_id = tree["members"]["b1_member"]
    points.award("meeting_attended", member=db.session.get(Member, member_id), source_key="m1")
    db.session.commit()
    assert client.delete(f"/scim/v2/Users/{member_id}", headers=auth).status_code == 204
    assert client.get(f"/scim/v2/Users/{member_id}", headers=auth).status_code == 404
    db.session.expire_all()
    member = db.session.get(Member, member_id)
    assert member is not None and not member.active and member.deprovisioned_at is not None
    assert points.ledger_sum(member.id, "all") == 5

    again = client.post("/scim/v2/Users", json=new_user(tree["orgs"]["B2"], user_name="M-B1-1", external_id="M-B1-1"),
                        headers=auth)
    assert again.status_code == 201, again.get_data(as_text=True)
    assert again.get_json()["id"] == str(member_id)
    db.session.expire_all()
    member = db.session.get(Member, member_id)
    assert member.active and member.deprovisioned_at is None and member.organisation_id == tree["orgs"]["B2"]
    assert points.ledger_sum(member.id, "all") == 5


def test_groups_mirror_the_registry_tree(client, db, tree, auth):
    group = {"schemas": [scim.GROUP_SCHEMA, scim.ORGANISATION_EXTENSION], "displayName": "四支部", "externalId": "B4",
             scim.ORGANISATION_EXTENSION: {"kind": "branch", "parent": f"Groups/{tree['orgs']['GB']}"}}
    created = client.post("/scim/v2/Groups", json=group, headers=auth)
    assert created.status_code == 201, created.get_data(as_text=True)
    org = db.session.get(Organisation, int(created.get_json()["id"]))
    assert org.path == f"/{tree['orgs']['C']}/{tree['orgs']['GB']}/{org.id}/" and org.kind.value == "branch"

    # Moving a subtree re-paths everything below it.
    move = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": f"{scim.ORGANISATION_EXTENSION}:parent",
                            "value": f"Groups/{tree['orgs']['OTHER']}"}]}
    assert client.patch(f"/scim/v2/Groups/{tree['orgs']['B1']}", json=move, headers=auth).status_code in (200, 204)
    db.session.expire_all()
    assert db.session.get(Organisation, tree["orgs"]["G1"]).path.startswith(f"/{tree['orgs']['OTHER']}/")
    cycle = {**move, "Operations": [{**move["Operations"][0], "value": f"Groups/{tree['orgs']['G1']}"}]}
    refused = client.patch(f"/scim/v2/Groups/{tree['orgs']['B1']}", json=cycle, headers=auth)
    assert refused.status_code == 400 and "under itself" in refused.get_json()["detail"]

    with_members = client.delete(f"/scim/v2/Groups/{tree['orgs']['B2']}", headers=auth)
    assert with_members.status_code == 409 and "active members" in with_members.get_json()["detail"]
    db.session.expire_all()
    assert db.session.get(Organisation, tree["orgs"]["B2"]).active
    assert client.delete(f"/scim/v2/Groups/{org.id}", headers=auth).status_code == 204
    assert client.get(f"/scim/v2/Groups/{org.id}", headers=auth).status_code == 404


def test_if_match_with_a_stale_version_is_refused(client, db, tree, auth):
    url = f"/scim/v2/Users/{tree['members']['b2_member']}"
    current = client.get(url, headers=auth)
    etag = current.headers["ETag"]
    replacement = current.get_json()
    replacement["displayName"] = "钱改名"
    assert client.put(url, json=replacement, headers={**auth, "If-Match": etag}).status_code == 200
    replacement["displayName"] = "钱再改"
    stale = client.put(url, json=replacement, headers={**auth, "If-Match": etag})
    assert stale.status_code == 412
    db.session.expire_all()
    assert db.session.get(Member, tree["members"]["b2_member"]).name == "钱改名"
