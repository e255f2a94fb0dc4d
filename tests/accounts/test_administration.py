"""Who may administer which account (one rule for every path), and what ends sessions and tokens."""
import re

import pytest
import sqlalchemy as sa

from learning.accounts import administration
from learning.accounts.models import Account, ApiToken, Role, WebSession
from learning.accounts.services import create_account
from learning.audit.models import AuditEntry
from learning.orgs.models import Member, Organisation, OrgKind
from learning.orgs.scoping import Permission, Scope
from learning.orgs.services import create_member, create_organisation
from tests.conftest import csrf_token, login
from tests.factories import PASSWORD

# Target accounts: (key, member's organisation, extra role, organisation of that role)
TARGETS = [
    ("member_b1", "B1", None, None),
    ("member_b2", "B2", None, None),
    ("secretary_b1", "B1", Role.BRANCH_SECRETARY, "B1"),
    ("admin_c_in_b1", "B1", Role.ORG_ADMIN, "C"),  # the attack: a committee admin whose member sits in B1
    ("admin_gb", "B2", Role.ORG_ADMIN, "GB"),
    ("admin_b1", "G1", Role.ORG_ADMIN, "B1"),
    ("reviewer_c", "B1", Role.REVIEWER, "C"),
    ("member_bx", "BX", None, None),
    ("root2", None, Role.SUPERADMIN, None),
]

# Which targets each actor may administer; everything else is refused.
MAY = {
    "member": set(),
    "secretary": {"member_b1"},
    "reviewer": set(),
    "orgadmin": {"member_b1", "member_b2", "secretary_b1", "admin_gb", "admin_b1"},
    "superadmin": {key for key, *_ in TARGETS},
}


def _targets(db, tree):
    ids = {}
    for key, org_key, role, role_org in TARGETS:
        member = None
        if org_key:
            member = create_member("目标" + key, db.session.get(Organisation, tree["orgs"][org_key]))
        account = create_account("t_" + key, PASSWORD, member=member, role=role or Role.MEMBER,
                                 organisation=db.session.get(Organisation, tree["orgs"][role_org]) if role_org else None)
        ids[key] = account.id
    db.session.commit()
    return ids


@pytest.mark.parametrize("actor", sorted(MAY))
def test_the_administration_matrix(db, tree, actor):
    targets = _targets(db, tree)
    who = db.session.get(Account, tree["accounts"][actor])
    allowed = {key for key, account_id in targets.items()
               if administration.may_administer(who, db.session.get(Account, account_id))}
    assert allowed == MAY[actor]
    assert not administration.may_administer(who, who)  # one's own account: the account page


def test_a_secretary_cannot_take_over_a_committee_admin_whose_member_is_in_the_branch(app, client, db, tree):
    targets = _targets(db, tree)
    victim = db.session.get(Account, targets["admin_c_in_b1"])
    login(client, "secretary", PASSWORD)
    page = client.get(f"/admin/members/{victim.member_id}").get_data(as_text=True)
    assert f"/admin/accounts/{victim.id}/reset-password" not in page
    token = csrf_token(client, "/account")
    for action in ("reset-password", "sign-out", "lock"):
        response = client.post(f"/admin/accounts/{victim.id}/{action}", data={"csrf_token": token, "locked": "1"})
        assert response.status_code == 404, action
    db.session.expire_all()
    victim = db.session.get(Account, targets["admin_c_in_b1"])
    assert victim.active and not victim.must_change_password
    assert login(app.test_client(), "t_admin_c_in_b1", PASSWORD).status_code == 302  # password unchanged
    with pytest.raises(administration.AdministrationError):
        administration.reset_password(db.session.get(Account, tree["accounts"]["secretary"]), victim)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == 0


def test_a_secretary_resets_a_plain_members_password_and_the_members_sessions_and_tokens_end(app, client, db, tree):
    targets = _targets(db, tree)
    phone = app.test_client()
    token = phone.post("/api/v1/auth/token", json={"username": "t_member_b1", "password": PASSWORD}).get_json()["token"]
    browser = app.test_client()
    login(browser, "t_member_b1", PASSWORD)
    assert browser.get("/points").status_code == 200
    assert phone.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200

    login(client, "secretary", PASSWORD)
    html = client.post(f"/admin/accounts/{targets['member_b1']}/reset-password",
                       data={"csrf_token": csrf_token(client, "/account")}).get_data(as_text=True)
    temporary = re.search(r'<code class="secret">([^<]+)</code>', html).group(1)
    assert phone.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert browser.get("/points").status_code == 302  # back to the login page
    audit = db.session.scalars(sa.select(AuditEntry)).all()
    assert [(a.action, a.target, a.actor_account_id, a.organisation_id) for a in audit] == [
        ("account.password_reset", f"account:{targets['member_b1']}", tree["accounts"]["secretary"], tree["orgs"]["B1"])]
    assert audit[0].address == "127.0.0.1"
    assert login(app.test_client(), "t_member_b1", temporary).status_code == 302


def test_an_org_admin_grants_and_takes_away_roles_within_the_rule(client, db, tree):
    targets = _targets(db, tree)
    login(client, "orgadmin", PASSWORD)
    token = csrf_token(client, "/account")
    # Granting on the parent committee is refused; on B2 it is allowed.
    client.post(f"/admin/accounts/{targets['member_b2']}/roles",
                data={"csrf_token": token, "role": "org_admin", "organisation": tree["orgs"]["C"]})
    client.post(f"/admin/accounts/{targets['member_b2']}/roles",
                data={"csrf_token": token, "role": "branch_secretary", "organisation": tree["orgs"]["B2"]})
    account = db.session.get(Account, targets["member_b2"])
    assert sorted((g.role.value, g.organisation_id) for g in account.grants) == [
        ("branch_secretary", tree["orgs"]["B2"]), ("member", None)]
    grant = next(g for g in account.grants if g.role == Role.BRANCH_SECRETARY)
    client.post(f"/admin/accounts/{account.id}/roles/{grant.id}/revoke", data={"csrf_token": token})
    db.session.expire_all()
    assert [g.role.value for g in db.session.get(Account, targets["member_b2"]).grants] == ["member"]
    actions = db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["role.granted", "role.revoked"]


def test_locking_and_signing_out(app, client, db, tree):
    targets = _targets(db, tree)
    victim = app.test_client()
    login(victim, "t_member_b2", PASSWORD)
    assert victim.get("/points").status_code == 200
    login(client, "orgadmin", PASSWORD)
    token = csrf_token(client, "/account")
    client.post(f"/admin/accounts/{targets['member_b2']}/sign-out", data={"csrf_token": token})
    assert victim.get("/points").status_code == 302
    client.post(f"/admin/accounts/{targets['member_b2']}/lock", data={"csrf_token": token, "locked": "1"})
    assert login(app.test_client(), "t_member_b2", PASSWORD).status_code == 200  # refused: the form again
    client.post(f"/admin/accounts/{targets['member_b2']}/lock", data={"csrf_token": token, "locked": "0"})
    assert login(app.test_client(), "t_member_b2", PASSWORD).status_code == 302
    assert db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)).all() == [
        "account.signed_out", "account.locked", "account.unlocked"]


def test_scope_does_not_confuse_sibling_ids_sharing_a_prefix(db, tree):
    general = db.session.get(Organisation, tree["orgs"]["GB"])
    made = None
    while made is None or made.id < 30:
        made = create_organisation(f"支部{made.id + 1 if made else 0}", OrgKind.BRANCH, general)
    db.session.commit()
    thirty = db.session.get(Organisation, 30)
    three = db.session.get(Organisation, tree["orgs"]["B1"])
    assert three.id == 3 and thirty.path.startswith(general.path) and thirty.path.endswith("/30/")
    scope = Scope(db.session.get(Account, tree["accounts"]["secretary"]))
    assert scope.can_org(Permission.MANAGE_MEMBERS, three)
    assert not scope.can_org(Permission.MANAGE_MEMBERS, thirty)
    stranger = create_member("三十支部党员", thirty)
    db.session.commit()
    ids = set(db.session.scalars(scope.members(Permission.MANAGE_MEMBERS).with_only_columns(Member.id)))
    assert stranger.id not in ids and tree["members"]["b1_member"] in ids


# -- credentials --------------------------------------------------------------------------------
def _token(client, username, password):
    return client.post("/api/v1/auth/token", json={"username": username, "password": password})


def test_a_temporary_password_gets_a_token_only_for_changing_it(app, client, db, tree):
    member = create_member("新人", db.session.get(Organisation, tree["orgs"]["B1"]))
    create_account("newbie", "Temp0rary-pw", member=member, must_change_password=True)
    db.session.commit()
    issued = _token(client, "newbie", "Temp0rary-pw").get_json()
    assert issued["scope"] == "password_change" and issued["must_change_password"] is True
    auth = {"Authorization": f"Bearer {issued['token']}"}
    for method, path in (("get", "/api/v1/me"), ("get", "/api/v1/me/points"), ("get", "/api/v1/courses"),
                         ("get", "/api/v1/quizzes"), ("put", "/api/v1/attempts/x/items/1")):
        response = getattr(client, method)(path, headers=auth)
        assert response.status_code == 403, path
        assert response.get_json()["code"] == "password_change_required"
    weak = client.post("/api/v1/me/password", headers=auth, json={"current_password": "Temp0rary-pw", "new_password": "short"})
    assert weak.status_code == 422 and "new_password" in weak.get_json()["errors"]
    changed = client.post("/api/v1/me/password", headers=auth,
                          json={"current_password": "Temp0rary-pw", "new_password": "Mine-0wn-pw"})
    assert changed.status_code == 200 and changed.get_json()["scope"] == "full"
    assert client.get("/api/v1/me", headers=auth).status_code == 401  # the old token ended with the change
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {changed.get_json()['token']}"})
    assert me.status_code == 200 and me.get_json()["must_change_password"] is False


def test_a_password_change_ends_every_token_and_other_session(app, client, db, tree):
    other = app.test_client()
    login(other, "member", PASSWORD)
    token = _token(app.test_client(), "member", PASSWORD).get_json()["token"]
    login(client, "member", PASSWORD)
    client.post("/account", data={"csrf_token": csrf_token(client, "/account"), "current_password": PASSWORD,
                                  "new_password": "New-passw0rd", "confirm": "New-passw0rd"})
    assert client.get("/points").status_code == 200  # the session it was changed in stays
    assert other.get("/points").status_code == 302
    assert app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken).where(ApiToken.revoked_at.is_(None))) == 0


def test_a_cookie_copied_before_logout_is_refused_afterwards(app, client, db, tree):
    login(client, "member", PASSWORD)
    assert client.get("/points").status_code == 200
    cookie = client.get_cookie("session").value
    client.post("/logout", data={"csrf_token": csrf_token(client, "/account")})
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    assert thief.get("/points").status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WebSession).where(WebSession.ended_at.is_(None))) == 0
