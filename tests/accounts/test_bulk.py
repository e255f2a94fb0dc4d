"""Bulk actions on the members page: one click for thirty members, the same checks as one at a time."""
import re

import pytest
import sqlalchemy as sa

from learning.accounts.models import Account
from learning.audit.models import AuditEntry
from learning.orgs.models import Member, Organisation
from learning.orgs.services import create_member
from tests.conftest import csrf_token, login
from tests.factories import PASSWORD


def bulk(client, action, member_ids, **extra):
    token = csrf_token(client, "/admin/members")
    return client.post("/admin/members/bulk", data={"csrf_token": token, "action": action,
                                                    "member": [str(i) for i in member_ids], **extra})


def sheet(html: str) -> dict:
    """{name: (username, password)} from the printed login sheet."""
    rows = re.findall(r'<span class="slip-name">(.*?)</span>.*?<code>(.*?)</code>.*?<code class="secret">(.*?)</code>',
                      html, re.S)
    return {name: (username, password) for name, username, password in rows}


def skipped(html: str) -> list[str]:
    block = re.search(r'<ul class="plain" id="bulk-skipped">(.*?)</ul>', html, re.S)
    return re.findall(r"<li>(.*?)</li>", block.group(1)) if block else []


@pytest.fixture
def newcomers(db, tree):
    b1 = db.session.get(Organisation, tree["orgs"]["B1"])
    people = {"ok": create_member("陈新", b1, external_id="M-B1-9"),
              "no_id": create_member("林无号", b1, external_id=None),
              "taken": create_member("何重名", b1, external_id="member")}  # the registry id is someone's username
    db.session.commit()
    return {k: m.id for k, m in people.items()}


def test_a_secretary_opens_accounts_for_new_members_and_prints_their_login_sheet(app, client, db, tree, newcomers):
    login(client, "secretary", PASSWORD)
    page = client.get("/admin/members?org=%d" % tree["orgs"]["B1"]).get_data(as_text=True)
    assert f'name="member" value="{newcomers["ok"]}"' in page and "data-select-all" in page
    answer = bulk(client, "open", [newcomers["ok"], newcomers["no_id"], newcomers["taken"], tree["members"]["b1_member"]])
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    logins = sheet(html)
    assert list(logins) == ["陈新"] and logins["陈新"][0] == "M-B1-9"
    assert skipped(html) == ["何重名：用户名 member 已被使用。",  # in the order of the member list
                             "林无号：没有可用于登录的党员编号，请在该党员页面单独开通",
                             "王党员：已有账号（member）"]
    created = db.session.scalar(sa.select(Account).where(Account.username == "M-B1-9"))
    assert created.member_id == newcomers["ok"] and created.must_change_password
    assert [g.role.value for g in created.grants] == ["member"]
    audit = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "account.created")).all()
    assert [(a.target, a.actor_account_id) for a in audit] == [(f"account:{created.id}", tree["accounts"]["secretary"])]
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert login(client, "M-B1-9", logins["陈新"][1]).status_code == 302
    assert client.get("/").headers["Location"].endswith("/account")  # first, a password of their own


def test_a_batch_reset_gives_new_passwords_and_never_touches_ones_own_account(client, db, tree):
    login(client, "secretary", PASSWORD)
    mine = [tree["members"][k] for k in ("b1_member", "g1_member", "b1_secretary")]
    html = bulk(client, "reset", mine).get_data(as_text=True)
    logins = sheet(html)
    assert sorted(logins) == ["王党员", "赵小组"] and len({p for _u, p in logins.values()}) == 2
    assert skipped(html) == ["李书记：您无权管理该账号。"]
    for username in ("member", "g1member"):
        account = db.session.scalar(sa.select(Account).where(Account.username == username))
        db.session.refresh(account)
        assert account.must_change_password
    assert login(client.application.test_client(), "member", PASSWORD).status_code == 200  # the old one is refused
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "account.password_reset")) == 2


def test_lock_and_unlock_in_bulk_say_who_was_already_so(client, db, tree):
    login(client, "secretary", PASSWORD)
    ids = [tree["members"]["b1_member"], tree["members"]["g1_member"]]
    bulk(client, "lock", ids[:1])
    html = bulk(client, "lock", ids).get_data(as_text=True)
    assert 'id="bulk-done"' in html and "赵小组" in html and skipped(html) == ["王党员：已经锁定"]
    assert not any(db.session.scalars(sa.select(Account.active).where(Account.username.in_(["member", "g1member"]))))
    html = bulk(client, "unlock", ids).get_data(as_text=True)
    assert skipped(html) == []
    assert all(db.session.scalars(sa.select(Account.active).where(Account.username.in_(["member", "g1member"]))))


def test_one_member_outside_the_scope_refuses_the_whole_batch(client, db, tree):
    login(client, "secretary", PASSWORD)
    before = db.session.scalar(sa.select(Account.password_hash).where(Account.username == "member"))
    answer = bulk(client, "reset", [tree["members"]["b1_member"], tree["members"]["b2_member"]])
    assert answer.status_code == 302
    follow = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "部分所选党员不在您的管理范围内，未做任何操作。" in follow
    db.session.expire_all()
    assert db.session.scalar(sa.select(Account.password_hash).where(Account.username == "member")) == before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == 0


@pytest.mark.parametrize("action, ids, message", [
    ("", [1], "请选择要对所选党员执行的操作。"),
    ("delete", [1], "请选择要对所选党员执行的操作。"),
    ("lock", [], "请至少选择一名党员。"),
    ("lock", list(range(1, 202)), "每次最多选择 200 名党员。"),
    ("lock", [2_147_483_648, 9_999_999_999], "部分所选党员不在您的管理范围内，未做任何操作。"),  # past int4: no 500
    ("lock", ["-1", "1e3", "x"], "部分所选党员不在您的管理范围内，未做任何操作。"),
])
def test_bad_batches_get_a_clear_error(client, tree, action, ids, message):
    login(client, "secretary", PASSWORD)
    answer = bulk(client, action, ids)
    assert answer.status_code == 302
    assert message in client.get(answer.headers["Location"]).get_data(as_text=True)


def test_who_may_act_in_bulk_and_where_it_returns(client, db, tree):
    login(client, "reviewer", PASSWORD)  # sees members, manages none
    assert "data-select-all" not in client.get("/admin/members").get_data(as_text=True)
    assert bulk(client, "lock", [tree["members"]["b3_member"]]).status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, "secretary", PASSWORD)
    answer = bulk(client, "lock", [], next="//evil.example/admin/members")
    assert answer.headers["Location"].endswith("/admin/members")
    answer = bulk(client, "lock", [], next="/admin/members?org=%d&page=2" % tree["orgs"]["B1"])
    assert answer.headers["Location"].endswith("/admin/members?org=%d&page=2" % tree["orgs"]["B1"])
    assert db.session.get(Member, tree["members"]["b3_member"]) is not None
