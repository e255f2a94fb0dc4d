"""The points pages over HTTP: the member's ledger and disputes, and the scoped admin pages."""
from datetime import datetime, timezone

from openpyxl import load_workbook
import io

from sqlalchemy import func, select

from learning.orgs.models import Member
from learning.points import services
from learning.points.models import Dispute, LedgerEntry, RuleSetting
from tests.conftest import csrf_token, login
from tests.factories import PASSWORD


def at(y, m, d):
    return datetime(y, m, d, 4, tzinfo=timezone.utc)


def seed(db, tree):
    member = db.session.get(Member, tree["members"]["b1_member"])
    course = services.award("course_completed", member=member, source_key="course:1", quantity=1, title="党章学习").entry
    for i in range(7):
        services.award("lesson_completed", member=member, source_key=f"lesson:{i}")
    other = db.session.get(Member, tree["members"]["b2_member"])
    services.award("meeting_attended", member=other, source_key="m1")
    db.session.commit()
    return course.id


def test_my_points_shows_entries_in_plain_chinese_and_caps(client, db, tree, rules):
    seed(db, tree)
    login(client, "member", PASSWORD)  # the login itself earns the daily point
    html = client.get("/points").get_data(as_text=True)
    assert "完成课程《党章学习》" in html and "+2" in html
    assert "已达上限：应得 1，实得 0" in html  # the seventh lesson of the day
    assert '<span class="stat-value" id="points-today">9</span>' in html  # 2 + 6 + 1 (login)
    assert "<svg" in html and "每日登录" in html


def test_a_member_disputes_an_entry_and_the_secretary_accepts(app, client, db, tree, rules):
    course_id = seed(db, tree)
    login(client, "member", PASSWORD)
    token = csrf_token(client, "/points")
    response = client.post(f"/points/entries/{course_id}/dispute", data={"csrf_token": token, "reason": "课程未学完却记了分"})
    assert response.status_code == 302
    assert "申诉处理中" in client.get("/points").get_data(as_text=True)
    twice = client.post(f"/points/entries/{course_id}/dispute", data={"csrf_token": token, "reason": "再申诉一次试试"},
                        follow_redirects=True)
    assert "已有待处理的申诉" in twice.get_data(as_text=True)

    secretary = app.test_client()
    login(secretary, "secretary", PASSWORD)
    queue = secretary.get("/admin/points/disputes").get_data(as_text=True)
    assert "课程未学完却记了分" in queue
    dispute_id = db.session.scalar(select(Dispute.id))
    token = csrf_token(secretary, "/admin/points/disputes")
    response = secretary.post(f"/admin/points/disputes/{dispute_id}",
                              data={"csrf_token": token, "decision": "accept", "resolution": "核实无误，予以冲销"})
    assert response.status_code == 302
    member_id = tree["members"]["b1_member"]
    assert services.ledger_sum(member_id, "all") == 6 + 1  # the course's 2 points cancelled
    assert "更正：完成课程《党章学习》" in client.get("/points").get_data(as_text=True)


def test_a_sibling_secretary_cannot_see_or_resolve_the_dispute(app, client, db, tree, rules):
    course_id = seed(db, tree)
    login(client, "member", PASSWORD)
    client.post(f"/points/entries/{course_id}/dispute",
                data={"csrf_token": csrf_token(client, "/points"), "reason": "课程未学完却记了分"})
    other = app.test_client()
    login(other, "secretary2", PASSWORD)
    assert "课程未学完却记了分" not in other.get("/admin/points/disputes").get_data(as_text=True)
    dispute_id = db.session.scalar(select(Dispute.id))
    response = other.post(f"/admin/points/disputes/{dispute_id}", data={
        "csrf_token": csrf_token(other, "/admin/points/disputes"), "decision": "accept", "resolution": "越权"})
    assert response.status_code == 404


def test_disputing_someone_elses_entry_is_404(client, db, tree, rules):
    seed(db, tree)
    other_entry = db.session.scalar(select(LedgerEntry.id).where(LedgerEntry.member_id == tree["members"]["b2_member"]))
    login(client, "member", PASSWORD)
    response = client.post(f"/points/entries/{other_entry}/dispute",
                           data={"csrf_token": csrf_token(client, "/points"), "reason": "不是我的记录"})
    assert response.status_code == 404


def test_manual_bonus_needs_a_reason_and_a_double_submit_counts_once(client, db, tree, rules):
    member_id = tree["members"]["b1_member"]
    login(client, "secretary", PASSWORD)
    page = client.get(f"/admin/members/{member_id}/points").get_data(as_text=True)
    request_id = page.split('name="request_id" type="hidden" value="')[1].split('"')[0]
    token = csrf_token(client, f"/admin/members/{member_id}/points")
    missing = client.post(f"/admin/members/{member_id}/points",
                          data={"csrf_token": token, "direction": "bonus", "points": "5", "reason": "", "request_id": request_id})
    assert "请填写原因" in missing.get_data(as_text=True)
    data = {"csrf_token": token, "direction": "deduction", "points": "3", "reason": "无故缺席主题党日", "request_id": request_id}
    assert client.post(f"/admin/members/{member_id}/points", data=data).status_code == 302
    assert client.post(f"/admin/members/{member_id}/points", data=data).status_code == 302
    assert services.ledger_sum(member_id, "all") == -3
    entry = db.session.scalar(select(LedgerEntry).where(LedgerEntry.member_id == member_id))
    assert entry.reason == "无故缺席主题党日" and entry.actor_account_id == tree["accounts"]["secretary"]


def test_manual_entries_outside_the_scope_are_404(client, db, tree, rules):
    login(client, "secretary", PASSWORD)
    assert client.get(f"/admin/members/{tree['members']['b2_member']}/points").status_code == 404


def test_rankings_and_appraisal_are_scoped(client, db, tree, rules):
    seed(db, tree)
    login(client, "secretary", PASSWORD)
    html = client.get("/admin/points/rankings").get_data(as_text=True)
    assert "王党员" in html and "钱二支" not in html
    assert client.get(f"/admin/points/rankings?org={tree['orgs']['B2']}").status_code == 404
    appraisal = client.get("/admin/points/appraisal").get_data(as_text=True)
    assert "建议等次" in appraisal and "的学时未完成：必修 0 / 8 学时；选修 0 / 3 学时" in appraisal  # the default quota
    member_client = client.application.test_client()
    login(member_client, "member", PASSWORD)
    assert member_client.get("/admin/points/rankings").status_code == 403


def test_the_appraisal_download_is_a_real_workbook(client, db, tree, rules):
    seed(db, tree)
    login(client, "reviewer", PASSWORD)
    response = client.get(f"/admin/points/export?org={tree['orgs']['C']}&period=all&format=xlsx")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(response.data))
    first = [c.value for c in workbook["党员"][5]]
    assert first[:5] == [1, "王党员", "一支部", "正式党员", 8]


def test_the_workbook_stamps_local_time(client, db, tree, rules):
    import time_machine

    with time_machine.travel(datetime(2026, 11, 26, 17, 30, tzinfo=timezone.utc), tick=False):
        login(client, "reviewer", PASSWORD)
        response = client.get(f"/admin/points/export?org={tree['orgs']['C']}&period=all&format=xlsx")
    assert response.status_code == 200
    stamp = load_workbook(io.BytesIO(response.data))["党员"]["A3"].value
    assert stamp == "生成于 2026-11-27 01:30（Asia/Shanghai）"


def test_an_org_admin_raises_a_rule_for_the_subtree_with_history(client, db, tree, rules):
    login(client, "orgadmin", PASSWORD)
    page = client.get("/admin/points/rules/challenge_level_passed")
    assert page.status_code == 200 and '<option value="0">' not in page.get_data(as_text=True)  # "everyone": superadmins only
    token = csrf_token(client, "/admin/points/rules/challenge_level_passed")
    response = client.post("/admin/points/rules/challenge_level_passed", data={
        "csrf_token": token, "organisation": str(tree["orgs"]["GB"]), "points": "5", "cap_period": "month",
        "active": "y", "note": "闯关月"})
    assert response.status_code == 302
    b1 = db.session.get(Member, tree["members"]["b1_member"])
    b3 = db.session.get(Member, tree["members"]["b3_member"])
    assert services.award("challenge_level_passed", member=b1, source_key="x", quantity=2).points == 10
    assert services.award("challenge_level_passed", member=b3, source_key="x", quantity=2).points == 2
    assert db.session.scalar(select(func.count()).select_from(RuleSetting).where(RuleSetting.note == "闯关月")) == 1
    # A committee outside the admin's subtree cannot be chosen.
    outside = client.post("/admin/points/rules/challenge_level_passed", data={
        "csrf_token": token, "organisation": str(tree["orgs"]["C"]), "points": "9", "cap_period": "month"})
    assert outside.status_code == 200 and "不是有效的选择" in outside.get_data(as_text=True)


def test_only_superadmins_close_periods(app, client, db, tree, rules):
    member = db.session.get(Member, tree["members"]["b1_member"])
    services.award("meeting_attended", member=member, source_key="q3", occurred_at=at(2026, 8, 1))
    db.session.commit()
    login(client, "orgadmin", PASSWORD)
    assert client.get("/admin/points/periods").status_code == 403
    root = app.test_client()
    login(root, "root", PASSWORD)
    assert "已结束，未结算" in root.get("/admin/points/periods").get_data(as_text=True)
    token = csrf_token(root, "/admin/points/periods")
    closed = root.post("/admin/points/periods/2026Q3/close", data={"csrf_token": token}, follow_redirects=True)
    assert "2026Q3 已结算" in closed.get_data(as_text=True)
    verified = root.post("/admin/points/periods/2026Q3/verify", data={"csrf_token": token}, follow_redirects=True)
    assert "快照与积分流水一致" in verified.get_data(as_text=True)
