"""季督查, worked by hand on B1 in 2026Q4 (the clock at 20 December 2026, 10:00 in Shanghai).

B1 must hold in Q4 (content/orglife/activities.yaml): one 支部党员大会 and one 党课 (quarterly), three 支委会,
three 主题党日 and, having a group, three 党小组会 (monthly): 11 windows.  It held one 大会 with 王党员 present:
1 of 11.  Nobody studied: 0 of 3 on track.  Of 3 appraised members one took part (the meeting): 1 of 3.  One of
the quarter's three monthly reports was on time.  The checklist gives 30/20/20/10 for those and 10 + 10 entered.
"""
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
import time_machine

from learning.accounts.models import Account, Role
from learning.accounts.services import create_account
from learning.evaluation import inspections, reports
from learning.evaluation.models import DisputeState, InspectionStatus
from learning.notifications.models import Notification
from learning.orglife import activities, checkin
from learning.orgs.models import Member, Organisation
from learning.points.snapshots import close_period
from tests.conftest import csrf_token, login
from tests.factories import PASSWORD

SHANGHAI = timezone(timedelta(hours=8))
TODAY = date(2026, 12, 20)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(datetime(2026, 12, 20, 10, tzinfo=SHANGHAI), tick=False) as traveller:
        yield traveller


def get(db, model, key):
    return db.session.get(model, key)


@pytest.fixture
def quarter(db, tree, rules):
    b1 = get(db, Organisation, tree["orgs"]["B1"])
    secretary = get(db, Account, tree["accounts"]["secretary"])
    meeting = activities.create_activity(b1, actor=secretary, kind="branch_assembly", title="十一月支部党员大会",
                                         starts_at=datetime(2026, 11, 5, 14, tzinfo=SHANGHAI),
                                         ends_at=datetime(2026, 11, 5, 16, tzinfo=SHANGHAI))
    db.session.commit()
    checkin.mark_by_hand(meeting, get(db, Member, tree["members"]["b1_member"]), actor=secretary, reason="现场签到")
    with time_machine.travel(datetime(2026, 12, 3, 10, tzinfo=SHANGHAI), tick=False):
        reports.save(secretary, b1, "2026-11", "一支部十一月工作情况说明。", submit=True)
    db.session.commit()
    return b1


ENTERED = {"ledger_quality": ("8", "台账齐全，记录规范。"), "branch_features": ("7.5", "志愿服务有特色。")}


def test_the_quarters_figures_and_the_total_are_what_the_hand_gives(db, tree, quarter):
    shares = inspections.figures(quarter, "2026Q4", TODAY)
    assert shares == {"meetings_on_schedule": 1 / 11, "study_rate": 0.0, "participation": pytest.approx(1 / 3),
                      "report_punctuality": 1 / 3}
    orgadmin = get(db, Account, tree["accounts"]["orgadmin"])
    inspection = inspections.start(orgadmin, quarter, "2026Q4", TODAY)
    inspections.save(orgadmin, inspection, ENTERED, publish=True)
    db.session.commit()
    assert [(i.code, i.score) for i in inspection.items] == [
        ("meetings_on_schedule", 2.7), ("study_rate", 0.0), ("participation", 6.7), ("report_punctuality", 3.3),
        ("ledger_quality", 8.0), ("branch_features", 7.5)]
    assert inspections.total(inspection) == 28.2 and inspections.maximum(inspection) == 100
    told = db.session.scalars(sa.select(Notification).where(Notification.kind == "inspection_published")).all()
    assert [n.member_id for n in told] == [tree["members"]["b1_secretary"]]


@pytest.mark.parametrize("entered, error", [
    ({"ledger_quality": ("11", "超过满分"), "branch_features": ("5", "一般")}, "请填写 0 到 10 之间的得分（可到 0.5 分）。"),
    ({"ledger_quality": ("7.3", "不是半分"), "branch_features": ("5", "一般")}, "请填写 0 到 10 之间的得分（可到 0.5 分）。"),
    ({"ledger_quality": ("好", "不是数字"), "branch_features": ("5", "一般")}, "请填写 0 到 10 之间的得分。"),
    ({"ledger_quality": ("8", ""), "branch_features": ("5", "一般")}, "发布前请为每个评分项目打分并填写评语：组织生活台账规范。"),
])
def test_bad_scores_are_refused_and_nothing_is_published(db, tree, quarter, entered, error):
    orgadmin = get(db, Account, tree["accounts"]["orgadmin"])
    inspection = inspections.start(orgadmin, quarter, "2026Q4", TODAY)
    db.session.commit()
    with pytest.raises(inspections.InspectionError) as refused:
        inspections.save(orgadmin, inspection, entered, publish=True)
    assert str(refused.value.message) == error
    db.session.rollback()
    assert inspections.inspection_of(quarter, "2026Q4").status == InspectionStatus.DRAFT


def test_the_branch_disputes_an_item_once_and_the_inspector_decides(client, app, db, tree, quarter):
    orgadmin = get(db, Account, tree["accounts"]["orgadmin"])
    inspection = inspections.start(orgadmin, quarter, "2026Q4", TODAY)
    db.session.commit()
    url = f"/admin/evaluation/inspections/{tree['orgs']['B1']}/2026Q4"
    login(client, "secretary", PASSWORD)
    assert client.get(url).status_code == 404  # a draft is the inspectors'
    inspections.save(orgadmin, inspection, ENTERED, publish=True)
    db.session.commit()
    page = client.get(url).get_data(as_text=True)
    assert "28.2" in page and "对“组织生活台账规范”提出异议" in page and "系统计算：本季度 9.1%" in page
    token = csrf_token(client, url)
    sent = client.post(url, data={"csrf_token": token, "action": "dispute", "code": "ledger_quality",
                                  "reason": "十二月的台账已补齐，请复核。"}, follow_redirects=True)
    assert "异议已提交给督查人。" in sent.get_data(as_text=True)
    again = client.post(url, data={"csrf_token": token, "action": "dispute", "code": "ledger_quality",
                                   "reason": "再提一次异议试试。"}, follow_redirects=True)
    assert "该项目已提出过异议：每个项目只能提一次。" in again.get_data(as_text=True)
    committee = app.test_client()
    login(committee, "orgadmin", PASSWORD)
    token = csrf_token(committee, url)
    decided = committee.post(url, data={"csrf_token": token, "action": "decide", "code": "ledger_quality", "accept": "1",
                                        "score": "9.5", "reply": "已复核，台账齐全。"}, follow_redirects=True)
    assert "异议已处理。" in decided.get_data(as_text=True)
    db.session.refresh(inspection)
    item = next(i for i in inspection.items if i.code == "ledger_quality")
    assert item.score == 9.5 and item.dispute_state == DisputeState.ACCEPTED and inspections.total(inspection) == 29.7
    # The branch may not decide, nor score, its own inspection.
    assert client.post(url, data={"csrf_token": csrf_token(client, url), "action": "decide", "code": "branch_features",
                                  "accept": "1", "score": "10", "reply": "自己改分"}).status_code == 404
    assert inspections.may_inspect(get(db, Account, tree["accounts"]["secretary"]), quarter) is False


def test_the_branchs_own_org_admin_does_not_inspect_it(db, tree, quarter):
    own = create_account("b1admin", PASSWORD, role=Role.ORG_ADMIN, organisation=quarter, display_name="支部管理员")
    db.session.commit()
    assert inspections.may_inspect(own, quarter) is False
    with pytest.raises(inspections.InspectionError):
        inspections.start(own, quarter, "2026Q4", TODAY)


def test_everything_is_frozen_with_the_quarter(db, tree, quarter, clock):
    orgadmin = get(db, Account, tree["accounts"]["orgadmin"])
    inspection = inspections.start(orgadmin, quarter, "2026Q4", TODAY)
    inspections.save(orgadmin, inspection, ENTERED, publish=True)
    inspections.dispute(get(db, Account, tree["accounts"]["secretary"]), inspection, "study_rate", "学时统计有遗漏，请复核。")
    db.session.commit()
    clock.move_to(datetime(2027, 1, 2, 10, tzinfo=SHANGHAI))
    close_period("2026Q4", actor=get(db, Account, tree["accounts"]["superadmin"]), today=date(2027, 1, 2))
    db.session.commit()
    with pytest.raises(inspections.InspectionError) as refused:
        inspections.decide(orgadmin, inspection, "study_rate", accept=True, score="20", reply="改为满分")
    assert refused.value.status == 409 and "已结算" in str(refused.value.message)
    with pytest.raises(inspections.InspectionError):
        inspections.dispute(get(db, Account, tree["accounts"]["secretary"]), inspection, "participation", "参与率也有问题。")
    assert inspections.total(inspection) == 28.2


def test_who_reads_the_quarter(client, app, db, tree, quarter):
    orgadmin = get(db, Account, tree["accounts"]["orgadmin"])
    inspections.save(orgadmin, inspections.start(orgadmin, quarter, "2026Q4", TODAY), ENTERED, publish=True)
    inspections.start(orgadmin, get(db, Organisation, tree["orgs"]["B2"]), "2026Q4", TODAY)  # B2: a draft
    db.session.commit()
    reviewer = app.test_client()
    login(reviewer, "reviewer", PASSWORD)
    html = reviewer.get("/admin/evaluation/inspections/?quarter=2026Q4").get_data(as_text=True)
    assert "28.2 / 100" in html and "已发布" in html
    assert reviewer.get(f"/admin/evaluation/inspections/{tree['orgs']['B2']}/2026Q4").status_code == 404  # a draft
    other = app.test_client()
    login(other, "secretary2", PASSWORD)
    assert other.get(f"/admin/evaluation/inspections/{tree['orgs']['B1']}/2026Q4").status_code == 404
    member = app.test_client()
    login(member, "member", PASSWORD)
    assert member.get("/admin/evaluation/inspections/").status_code == 403
    for bad in ("2027Q1", "2026Q5", "2026-12", "x"):
        assert reviewer.get(f"/admin/evaluation/inspections/{tree['orgs']['B1']}/{bad}").status_code == 404, bad


def test_the_api_scores_publishes_reads_and_disputes(client, db, tree, quarter):
    from tests.api.test_api import token_for

    committee = {"Authorization": f"Bearer {token_for(client, 'orgadmin')}"}
    branch = {"Authorization": f"Bearer {token_for(client, 'secretary')}"}
    url = f"/api/v1/evaluations/inspections/{tree['orgs']['B1']}/2026Q4"
    entries = [{"code": c, "score": float(s), "comment": m} for c, (s, m) in ENTERED.items()]
    bad = client.put(url, json={"entries": [{"code": "ledger_quality", "score": 12, "comment": "x"}]}, headers=committee)
    assert bad.status_code == 422 and "ledger_quality" in bad.get_json()["errors"]
    assert client.put(url, json={"entries": entries}, headers=branch).status_code == 404  # the branch scores nothing
    assert client.get(url, headers=branch).status_code == 404  # a draft
    done = client.put(url, json={"entries": entries, "publish": True}, headers=committee)
    assert done.status_code == 200 and done.get_json()["total"] == 28.2 and done.get_json()["status"] == "published"
    assert client.put(url, json={"entries": entries}, headers=committee).status_code == 409
    read = client.get(url, headers=branch).get_json()
    assert [(i["code"], i["score"]) for i in read["items"]][:2] == [("meetings_on_schedule", 2.7), ("study_rate", 0.0)]
    objection = client.post(f"{url}/items/study_rate/dispute", json={"reason": "有两名党员的学时未统计。"}, headers=branch)
    assert objection.status_code == 201
    assert [i["dispute_state"] for i in objection.get_json()["items"]][1] == "open"
    assert client.post(f"{url}/items/study_rate/dispute", json={"reason": "再提一次异议。"}, headers=branch).status_code == 409
    assert client.post(f"{url}/items/nothing/dispute", json={"reason": "没有这一项。"}, headers=branch).status_code == 404
    listing = client.get("/api/v1/evaluations/inspections?quarter=2026Q4", headers=committee).get_json()
    assert [(i["branch"], i["total"]) for i in listing["items"]] == [("一支部", 28.2), ("二支部", None)]
    assert client.get("/api/v1/evaluations/inspections?quarter=2027Q1", headers=committee).status_code == 404
