"""Administrators create accounts and reset passwords for members of their subtree only."""
import re

from learning.accounts.models import Account, Role
from tests.conftest import csrf_token, login
from tests.factories import PASSWORD


def _create(client, member_id, **data):
    token = csrf_token(client, f"/admin/members/{member_id}/account")
    return client.post(f"/admin/members/{member_id}/account", data={"csrf_token": token, **data})


def _member_without_account(db, tree, key):
    from learning.orgs.models import Organisation
    from learning.orgs.services import create_member

    org = db.session.get(Organisation, tree["orgs"][key])
    member = create_member("新党员" + key, org)
    db.session.commit()
    return member.id


def test_a_secretary_creates_a_member_account_with_a_temporary_password(app, client, db, tree):
    member_id = _member_without_account(db, tree, "G1")
    login(client, "secretary", PASSWORD)
    response = _create(client, member_id, username="newbie", password="", role="member")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    password = re.search(r'<code class="secret">([^<]+)</code>', html).group(1)
    fresh = app.test_client()
    assert login(fresh, "newbie", password).status_code == 302
    assert fresh.get("/").headers["Location"] == "/account"  # must change it first


def test_a_secretary_cannot_grant_administrative_roles(client, db, tree):
    member_id = _member_without_account(db, tree, "B1")
    login(client, "secretary", PASSWORD)
    form = client.get(f"/admin/members/{member_id}/account").get_data(as_text=True)
    assert 'value="member"' in form and 'value="org_admin"' not in form
    response = _create(client, member_id, username="sneaky", role="org_admin", organisation=str(tree["orgs"]["B1"]))
    assert response.status_code == 200
    assert db.session.query(Account).filter_by(username="sneaky").first() is None


def test_a_secretary_cannot_touch_a_sibling_branch(client, db, tree):
    member_id = _member_without_account(db, tree, "B2")
    login(client, "secretary", PASSWORD)
    assert client.get(f"/admin/members/{member_id}/account").status_code == 404
    token = csrf_token(client, "/account")
    response = client.post(
        f"/admin/members/{member_id}/account", data={"csrf_token": token, "username": "x", "role": "member"}
    )
    assert response.status_code == 404
    assert db.session.query(Account).filter_by(username="x").first() is None


def test_an_org_admin_appoints_a_secretary_in_the_subtree(client, db, tree):
    member_id = _member_without_account(db, tree, "B2")
    login(client, "orgadmin", PASSWORD)
    response = _create(
        client, member_id, username="newsec", password="Secr3tary!", role="branch_secretary",
        organisation=str(tree["orgs"]["B2"]),
    )
    assert response.status_code == 200
    account = db.session.query(Account).filter_by(username="newsec").one()
    assert {(g.role, g.organisation_id) for g in account.grants} == {
        (Role.MEMBER, None),
        (Role.BRANCH_SECRETARY, tree["orgs"]["B2"]),
    }


def test_an_org_admin_cannot_grant_above_their_root(client, db, tree):
    member_id = _member_without_account(db, tree, "B1")
    login(client, "orgadmin", PASSWORD)
    response = _create(client, member_id, username="toohigh", role="reviewer", organisation=str(tree["orgs"]["C"]))
    assert response.status_code == 200
    assert "不是有效的选择" in response.get_data(as_text=True)
    assert db.session.query(Account).filter_by(username="toohigh").first() is None


def test_a_taken_username_is_a_field_error_and_nothing_is_written(client, db, tree):
    member_id = _member_without_account(db, tree, "B1")
    login(client, "secretary", PASSWORD)
    response = _create(client, member_id, username="member", role="member")
    assert "已被使用" in response.get_data(as_text=True)
    assert db.session.query(Account).filter_by(member_id=member_id).first() is None


def test_password_reset_replaces_the_old_password(app, client, db, tree):
    login(client, "secretary", PASSWORD)
    account_id = tree["accounts"]["member"]
    token = csrf_token(client, f"/admin/members/{tree['members']['b1_member']}")
    response = client.post(f"/admin/accounts/{account_id}/reset-password", data={"csrf_token": token})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    temporary = re.search(r'<code class="secret">([^<]+)</code>', response.get_data(as_text=True)).group(1)
    fresh = app.test_client()
    assert login(fresh, "member", PASSWORD).status_code == 200
    assert login(fresh, "member", temporary).status_code == 302


def test_password_reset_outside_the_subtree_is_404(client, db, tree):
    login(client, "secretary", PASSWORD)
    token = csrf_token(client, "/account")
    response = client.post(f"/admin/accounts/{tree['accounts']['secretary2']}/reset-password", data={"csrf_token": token})
    assert response.status_code == 404
    fresh_login = login(client.application.test_client(), "secretary2", PASSWORD)
    assert fresh_login.status_code == 302  # unchanged


def test_a_reviewer_can_read_but_not_reset(client, db, tree):
    login(client, "reviewer", PASSWORD)
    html = client.get(f"/admin/members/{tree['members']['b1_member']}").get_data(as_text=True)
    assert "王党员" in html and "重置密码" not in html
    token = csrf_token(client, "/account")
    response = client.post(f"/admin/accounts/{tree['accounts']['member']}/reset-password", data={"csrf_token": token})
    assert response.status_code == 404
