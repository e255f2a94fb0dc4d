"""表彰 of 2026 on the small tree (clock: 10 January 2027).  B1's year quota of hours is set to 0, so its members
meet the gate; B2 keeps the default quota nobody met.  B1 gets two more full members: 陈一, and 陈二 whose year
ends at −5 points (suggested 不合格).  Default quotas (honours.yaml): one nomination per title and nominator."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa
import time_machine

from learning.accounts.models import Account
from learning.courses.services import set_quota
from learning.evaluation import honours
from learning.evaluation.models import NominationStatus
from learning.orgs.models import Member, MemberStatus, Organisation
from learning.orgs.services import create_member
from tests.conftest import csrf_token, login
from tests.factories import PASSWORD, give_points

SHANGHAI = timezone(timedelta(hours=8))


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(datetime(2027, 1, 10, 10, tzinfo=SHANGHAI), tick=False):
        yield


def get(db, model, key):
    return db.session.get(model, key)


@pytest.fixture
def people(db, tree, rules):
    b1 = get(db, Organisation, tree["orgs"]["B1"])
    set_quota(b1, "year", Decimal(0), Decimal(0))
    found = {k: get(db, Member, tree["members"][v]) for k, v in
             (("S", "b1_secretary"), ("W", "b1_member"), ("P", "g1_member"), ("Q", "b2_member"))}
    found["A"] = create_member("陈一", b1, MemberStatus.FULL, external_id="M-B1-A")
    found["B"] = create_member("陈二", b1, MemberStatus.FULL, external_id="M-B1-B")
    give_points(found["B"], -5, get(db, Account, tree["accounts"]["superadmin"]),
                occurred_at=datetime(2026, 6, 1, 10, tzinfo=SHANGHAI))
    db.session.commit()
    return found


def account(db, tree, key):
    return get(db, Account, tree["accounts"][key])


REASON = "全年学习积极，带头参加志愿服务。"


@pytest.mark.parametrize("who, message", [
    ("S", "不能推荐自己。"),
    ("P", "只有在册正式党员可以获得表彰。"),
    ("B", "年度评议建议为不合格。"),
    ("Q", "党员由所在党支部推荐。"),
])
def test_the_ineligible_are_refused(db, tree, people, who, message):
    with pytest.raises(honours.HonourError) as refused:
        honours.nominate(account(db, tree, "secretary"), 2026, "excellent_member", member=people[who], reason=REASON)
    assert str(refused.value.message) == message


def test_missing_the_years_hours_refuses_a_nomination(db, tree, people):
    with pytest.raises(honours.HonourError) as refused:
        honours.nominate(account(db, tree, "secretary2"), 2026, "excellent_member", member=people["Q"], reason=REASON)
    assert str(refused.value.message).startswith("全年学时未达标：2026 的学时未完成")


def test_quotas_bound_the_nominations_and_a_committee_sets_them(db, tree, people):
    secretary = account(db, tree, "secretary")
    first = honours.nominate(secretary, 2026, "excellent_member", member=people["W"], reason=REASON)
    assert first.nominated_by_org_id == tree["orgs"]["B1"] and first.status == NominationStatus.NOMINATED
    with pytest.raises(honours.HonourError) as refused:
        honours.nominate(secretary, 2026, "excellent_member", member=people["A"], reason=REASON)
    assert str(refused.value.message) == "一支部该称号的 1 个推荐名额已用完。"
    assert honours.nominate(secretary, 2026, "excellent_worker", member=people["A"], reason=REASON).id  # another title
    with pytest.raises(honours.HonourError):
        honours.set_quota(secretary, get(db, Organisation, tree["orgs"]["B1"]), 2026, "excellent_member", 3)  # a branch
    honours.set_quota(account(db, tree, "orgadmin"), get(db, Organisation, tree["orgs"]["GB"]), 2026, "excellent_member", 2)
    assert honours.quota(get(db, Organisation, tree["orgs"]["B1"]), 2026, "excellent_member") == 2
    assert honours.nominate(secretary, 2026, "excellent_member", member=people["A"], reason=REASON).id
    with pytest.raises(honours.HonourError) as twice:
        honours.set_quota(account(db, tree, "orgadmin"), get(db, Organisation, tree["orgs"]["GB"]), 2026, "excellent_member", 5)
        db.session.flush()
        honours.nominate(secretary, 2026, "excellent_member", member=people["A"], reason=REASON)
    assert str(twice.value.message) == "今年已经推荐过该称号。"


def test_a_committee_above_approves_never_the_nominator(client, app, db, tree, people):
    nomination = honours.nominate(account(db, tree, "secretary"), 2026, "excellent_member", member=people["W"], reason=REASON)
    branch_title = honours.nominate(account(db, tree, "orgadmin"), 2026, "advanced_branch",
                                    organisation=get(db, Organisation, tree["orgs"]["B1"]), reason="三会一课规范，台账齐全。")
    db.session.commit()
    assert branch_title.nominated_by_org_id == tree["orgs"]["GB"]
    assert honours.may_decide(account(db, tree, "secretary"), nomination) is False
    assert honours.may_decide(account(db, tree, "orgadmin"), branch_title) is False  # GB nominated: C or above decides
    with pytest.raises(honours.HonourError):
        honours.decide(account(db, tree, "orgadmin"), branch_title, approve=True)
    db.session.rollback()
    honours.decide(account(db, tree, "superadmin"), branch_title, approve=True)
    db.session.commit()
    login(client, "orgadmin", PASSWORD)
    token = csrf_token(client, "/admin/evaluation/honours/?year=2026")
    done = client.post("/admin/evaluation/honours/?year=2026", data={"csrf_token": token, "action": "approve",
                                                                    "nomination": nomination.id}, follow_redirects=True)
    assert "已批准。" in done.get_data(as_text=True)
    again = client.post("/admin/evaluation/honours/?year=2026", data={"csrf_token": token, "action": "refuse",
                                                                     "nomination": nomination.id}, follow_redirects=True)
    assert "该推荐已经审批过了。" in again.get_data(as_text=True)
    assert [(n.year, n.title) for n in honours.record_of_member(people["W"].id)] == [(2026, "excellent_member")]
    assert [n.title for n in honours.record_of_org(tree["orgs"]["B1"])] == ["advanced_branch"]
    page = client.get(f"/admin/members/{people['W'].id}").get_data(as_text=True)
    assert 'id="honours-panel"' in page and "2026 · 优秀共产党员" in page
    assert "2026 · 先进基层党组织" in client.get(f"/admin/orgs/{tree['orgs']['B1']}").get_data(as_text=True)
    import io

    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(client.get("/admin/evaluation/honours/export?year=2026").data)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0] == ["称号", "被推荐对象", "组织", "推荐单位", "推荐理由"]
    assert sorted(r[:2] for r in rows[1:]) == [["优秀共产党员", "王党员"], ["先进基层党组织", "一支部"]]


def test_the_honours_page_nominates_and_scopes(client, app, db, tree, people):
    login(client, "secretary", PASSWORD)
    page = client.get("/admin/evaluation/honours/?year=2026").get_data(as_text=True)
    assert f'<option value="{people["W"].id}">王党员</option>' in page and "李书记</option>" not in page  # not himself
    assert "赵小组</option>" not in page and "钱二支</option>" not in page  # probationary; another branch
    token = csrf_token(client, "/admin/evaluation/honours/?year=2026")
    sent = client.post("/admin/evaluation/honours/?year=2026", data={
        "csrf_token": token, "action": "nominate", "title": "excellent_member", "member": people["W"].id, "reason": "太短"},
        follow_redirects=True).get_data(as_text=True)
    assert "请用 10 到 1000 个字写明推荐理由。" in sent
    sent = client.post("/admin/evaluation/honours/?year=2026", data={
        "csrf_token": token, "action": "nominate", "title": "excellent_member", "member": people["W"].id, "reason": REASON},
        follow_redirects=True).get_data(as_text=True)
    assert "推荐已报送上级党委。" in sent and "王党员" in sent
    other = app.test_client()
    login(other, "secretary2", PASSWORD)  # B2 does not see B1's nomination
    assert "王党员" not in other.get("/admin/evaluation/honours/?year=2026").get_data(as_text=True)
    assert client.get("/admin/evaluation/honours/?year=1999").status_code == 404
    member = app.test_client()
    login(member, "member", PASSWORD)
    assert member.get("/admin/evaluation/honours/").status_code == 403
    assert db.session.scalar(sa.select(sa.func.count()).select_from(honours.Nomination)) == 1


def test_the_api_nominates_decides_and_lists(client, db, tree, people):
    from tests.api.test_api import token_for

    branch = {"Authorization": f"Bearer {token_for(client, 'secretary')}"}
    committee = {"Authorization": f"Bearer {token_for(client, 'orgadmin')}"}
    self_ = client.post("/api/v1/honours", json={"year": 2026, "title": "excellent_member", "member_id": people["S"].id,
                                                 "reason": REASON}, headers=branch)
    assert self_.status_code == 422 and self_.get_json()["errors"] == {"member": ["不能推荐自己。"]}
    made = client.post("/api/v1/honours", json={"year": 2026, "title": "excellent_member", "member_id": people["W"].id,
                                                "reason": REASON}, headers=branch)
    assert made.status_code == 201 and made.get_json()["status"] == "nominated" and made.get_json()["title_name"] == "优秀共产党员"
    over = client.post("/api/v1/honours", json={"year": 2026, "title": "excellent_member", "member_id": people["A"].id,
                                                "reason": REASON}, headers=branch)
    assert over.status_code == 409
    assert client.post(f"/api/v1/honours/{made.get_json()['id']}/decision", json={"approve": True},
                       headers=branch).status_code == 404
    decided = client.post(f"/api/v1/honours/{made.get_json()['id']}/decision", json={"approve": True}, headers=committee)
    assert decided.status_code == 200 and decided.get_json()["status"] == "approved"
    listing = client.get("/api/v1/honours?year=2026", headers=committee).get_json()
    assert [(i["nominee"], i["status"]) for i in listing["items"]] == [("王党员", "approved")]
    assert client.post("/api/v1/honours", json={"year": 2026, "title": "excellent_member", "member_id": 2**31,
                                                "reason": REASON}, headers=branch).status_code == 422
