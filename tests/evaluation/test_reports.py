"""The monthly report (月报告), worked by hand on the small tree: B1 and B2 have secretaries (accounts
"secretary", "secretary2"), B3 none; the committee's org admin sits at GB, the reviewer at C.  November's
report is due on 5 December 2026; the clock stands at 3 December, 10:00 in Shanghai, unless moved."""
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
import time_machine

from learning.accounts.models import Account
from learning.evaluation import reports
from learning.evaluation.models import MonthlyReport, ReportStatus
from learning.notifications.models import Notification
from learning.notifications.services import message
from learning.orglife import activities, checkin
from learning.orgs.models import Member, Organisation
from learning.points import disputes, services as points
from tests.api.test_api import token_for
from tests.conftest import csrf_token, login
from tests.factories import PASSWORD

SHANGHAI = timezone(timedelta(hours=8))
NOW = datetime(2026, 12, 3, 10, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def org(db, tree, key) -> Organisation:
    return db.session.get(Organisation, tree["orgs"][key])


def account(db, tree, key) -> Account:
    return db.session.get(Account, tree["accounts"][key])


@pytest.fixture
def november(db, tree, rules, clock):
    """B1's November: a 支部党员大会 on the 5th expecting its 3 members, 2 present (王党员 by hand, 赵小组 by
    the registry-style record); a 主题党日 on the 20th, cancelled; one of December's (not November's); B2's
    meeting (not B1's).  王党员 objects to a point on 25 November."""
    secretary = account(db, tree, "secretary")
    member = lambda key: db.session.get(Member, tree["members"][key])  # noqa: E731
    clock.move_to(datetime(2026, 11, 25, 10, tzinfo=SHANGHAI))
    meeting = activities.create_activity(org(db, tree, "B1"), actor=secretary, kind="branch_assembly", title="十一月支部党员大会",
                                         starts_at=datetime(2026, 11, 5, 14, tzinfo=SHANGHAI),
                                         ends_at=datetime(2026, 11, 5, 16, tzinfo=SHANGHAI))
    cancelled = activities.create_activity(org(db, tree, "B1"), actor=secretary, kind="theme_day", title="主题党日",
                                           starts_at=datetime(2026, 11, 20, 9, tzinfo=SHANGHAI),
                                           ends_at=datetime(2026, 11, 20, 11, tzinfo=SHANGHAI))
    cancelled.cancelled_at = datetime(2026, 11, 19, tzinfo=SHANGHAI)
    activities.create_activity(org(db, tree, "B2"), actor=account(db, tree, "secretary2"), kind="branch_assembly",
                               title="二支部大会", starts_at=datetime(2026, 11, 6, 14, tzinfo=SHANGHAI),
                               ends_at=datetime(2026, 11, 6, 16, tzinfo=SHANGHAI))
    db.session.commit()
    checkin.mark_by_hand(meeting, member("b1_member"), actor=secretary, reason="现场签到")
    checkin.record(meeting, member("g1_member"), checkin.CheckInMethod.CODE)
    entry = points.award("daily_login", member=member("b1_member"), source_key="login:2026-11-25").entry
    disputes.open_dispute(entry, member("b1_member"), "这条登录积分记重复了")
    db.session.commit()
    clock.move_to(datetime(2026, 12, 1, 9, tzinfo=SHANGHAI))
    activities.create_activity(org(db, tree, "B1"), actor=secretary, kind="branch_assembly", title="十二月支部党员大会",
                               starts_at=datetime(2026, 12, 1, 14, tzinfo=SHANGHAI),
                               ends_at=datetime(2026, 12, 1, 16, tzinfo=SHANGHAI))
    db.session.commit()
    clock.move_to(NOW)
    return meeting


def test_the_figures_of_a_branchs_month_are_what_happened_there(db, tree, november):
    figures = reports.month_figures(org(db, tree, "B1"), "2026-11")
    assert figures["members"] == 3  # 李书记, 王党员, and 赵小组 of the group
    assert figures["activities"] == {"held": 1, "by_kind": {"branch_assembly": 1}, "expected": 3, "present": 2,
                                     "attendance_rate": 0.6667}
    assert figures["study"] == {"period": "2026Q4", "members": 3, "on_track": 0, "rate": 0.0}
    assert figures["quizzes"] == {"members": 0, "rate": 0.0}
    # Two attendances of 5 (meeting_attended) and 王党员's login point; the branch's own: held on schedule, 5.
    assert figures["points"] == {"members": 11, "branch": 5, "per_member": 3.7}
    assert figures["disputes"] == {"opened": 1, "decided": 0}


def test_a_secretary_drafts_then_submits_and_the_figures_are_frozen(client, db, tree, november):
    login(client, "secretary", PASSWORD)
    url = f"/admin/evaluation/reports/{tree['orgs']['B1']}/2026-11"
    page = client.get(url).get_data(as_text=True)
    assert "一支部 2026年11月月报告" in page and "截止日期：2026年12月5日" in page
    token = csrf_token(client, url)
    client.post(url, data={"csrf_token": token, "account": "草稿：本月召开支部党员大会一次。", "save_draft": "1"})
    report = db.session.scalar(sa.select(MonthlyReport))
    assert report.status == ReportStatus.DRAFT and report.figures is None
    done = client.post(url, data={"csrf_token": token, "account": "本月召开支部党员大会一次，应到3人，实到2人。", "submit_report": "1"},
                       follow_redirects=True).get_data(as_text=True)
    assert "2026年11月月报告已提交。" in done and "已于" in done
    db.session.refresh(report)
    assert report.status == ReportStatus.SUBMITTED and not report.late
    assert report.figures["activities"]["present"] == 2 and report.submitted_by_account_id == tree["accounts"]["secretary"]
    # Attendance added afterwards does not change what was submitted.
    checkin.mark_by_hand(november, db.session.get(Member, tree["members"]["b1_secretary"]), actor=account(db, tree, "orgadmin"),
                         reason="补登")
    db.session.commit()
    assert 'id="report-figures"' in client.get(url).get_data(as_text=True)
    db.session.refresh(report)
    assert report.figures["activities"]["present"] == 2
    again = client.post(url, data={"csrf_token": token, "account": "改一下内容，再提交一次试试。", "submit_report": "1"})
    assert again.status_code == 409
    assert db.session.scalar(sa.select(MonthlyReport.account)) == "本月召开支部党员大会一次，应到3人，实到2人。"


@pytest.mark.parametrize("month, text, submit, error", [
    ("2026-12", "本月工作情况说明写在这里。", True, "本月尚未结束：请先保存草稿，下月 1 日起再提交。"),
    ("2026-11", "太短", True, "提交前请写一段本月情况说明（至少 10 个字）。"),
    ("2026-11", "长" * 2001, False, "最多 2000 个字。"),
])
def test_bad_reports_get_a_clear_error_and_change_nothing(db, tree, month, text, submit, error):
    with pytest.raises(reports.ReportError) as refused:
        reports.save(account(db, tree, "secretary"), org(db, tree, "B1"), month, text, submit=submit)
    assert str(refused.value.message) == error
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MonthlyReport)) == 0


def test_months_to_come_or_malformed_are_not_found(client, db, tree):
    login(client, "secretary", PASSWORD)
    for month in ("2027-01", "2026-13", "1999-12", "2026-1", "x"):
        assert client.get(f"/admin/evaluation/reports/{tree['orgs']['B1']}/{month}").status_code == 404, month


def test_who_may_write_and_who_may_read(client, app, db, tree, november):
    reports.save(account(db, tree, "secretary2"), org(db, tree, "B2"), "2026-11", "二支部十一月召开大会一次。", submit=True)
    db.session.commit()
    b1, b2 = tree["orgs"]["B1"], tree["orgs"]["B2"]
    login(client, "secretary", PASSWORD)
    assert client.get(f"/admin/evaluation/reports/{b2}/2026-11").status_code == 404  # a sibling's
    committee = app.test_client()
    login(committee, "orgadmin", PASSWORD)
    assert "二支部十一月召开大会一次。" in committee.get(f"/admin/evaluation/reports/{b2}/2026-11").get_data(as_text=True)
    page = committee.get(f"/admin/evaluation/reports/{b1}/2026-11").get_data(as_text=True)
    assert "保存草稿" not in page and "尚未填写。" in page  # the committee reads; it does not write for a branch
    token = csrf_token(committee, f"/admin/evaluation/reports/{b1}/2026-11")
    assert committee.post(f"/admin/evaluation/reports/{b1}/2026-11", data={"csrf_token": token, "account": "代写的报告内容在这里",
                                                                          "submit_report": "1"}).status_code == 404
    with pytest.raises(reports.ReportError):
        reports.save(account(db, tree, "orgadmin"), org(db, tree, "B1"), "2026-11", "代写的报告内容在这里", submit=True)
    reviewer = app.test_client()
    login(reviewer, "reviewer", PASSWORD)
    assert reviewer.get(f"/admin/evaluation/reports/{b2}/2026-11").status_code == 200
    member = app.test_client()
    login(member, "member", PASSWORD)
    assert member.get("/admin/evaluation/reports").status_code == 403
    assert member.get(f"/admin/evaluation/reports/{b1}/2026-11").status_code == 403
    assert reports.may_write(account(db, tree, "secretary"), org(db, tree, "GB")) is False  # not a branch


def test_the_committee_sees_who_submitted_who_is_late_and_reminds_them(client, db, tree, clock):
    reports.save(account(db, tree, "secretary"), org(db, tree, "B1"), "2026-11", "一支部十一月工作情况说明。", submit=True)
    db.session.commit()
    clock.move_to(datetime(2026, 12, 7, 10, tzinfo=SHANGHAI))
    reports.save(account(db, tree, "secretary2"), org(db, tree, "B2"), "2026-12", "十二月的草稿先写一点。", submit=False)
    db.session.commit()
    lines = reports.overview(org(db, tree, "C"), "2026-11", datetime(2026, 12, 7).date())
    assert [(line.branch.name, line.state, line.overdue) for line in lines] == [  # in the tree's order
        ("一支部", "submitted", False), ("二支部", "missing", True), ("三支部", "missing", True)]
    reports.save(account(db, tree, "secretary2"), org(db, tree, "B2"), "2026-11", "二支部十一月的报告，晚交了两天。", submit=True)
    db.session.commit()
    assert db.session.scalar(sa.select(MonthlyReport.late).where(MonthlyReport.organisation_id == tree["orgs"]["B2"],
                                                                  MonthlyReport.month_key == "2026-11")) is True
    login(client, "orgadmin", PASSWORD)  # GB: B1 and B2
    html = client.get("/admin/evaluation/reports?month=2026-11").get_data(as_text=True)
    assert "按时提交" in html and "逾期提交" in html and "三支部" not in html
    assert "提醒 " not in html  # nobody overdue under GB any more


def test_reminders_before_the_deadline_and_when_late_go_once_to_the_writers(db, tree, clock):
    first = reports.remind_due(datetime(2026, 12, 3).date())  # two days before 5 December
    assert first == {"month": "2026-11", "stage": "due_soon", "reminded": 2}  # B1's and B2's secretaries; B3 has none
    assert reports.remind_due(datetime(2026, 12, 3).date())["reminded"] == 0  # once
    assert reports.remind_due(datetime(2026, 12, 5).date())["reminded"] == 0  # the same stage, caught up: nobody new
    reports.save(account(db, tree, "secretary"), org(db, tree, "B1"), "2026-11", "一支部十一月工作情况说明。", submit=True)
    db.session.commit()
    late = reports.remind_due(datetime(2026, 12, 6).date())
    assert late == {"month": "2026-11", "stage": "late", "reminded": 1}
    assert reports.remind_due(datetime(2026, 12, 20).date())["stage"] is None
    db.session.commit()
    rows = db.session.scalars(sa.select(Notification).order_by(Notification.id)).all()
    assert [(r.member_id, r.params["stage"]) for r in rows] == [
        (tree["members"]["b1_secretary"], "due_soon"), (tree["members"]["b2_secretary"], "due_soon"),
        (tree["members"]["b2_secretary"], "late")]
    words = message(rows[-1])
    assert words.title == "2026年11月月报告已逾期" and words.body == "二支部还没有提交2026年11月的月报告。"


def test_the_secretarys_home_asks_for_last_months_report(client, db, tree):
    login(client, "secretary", PASSWORD)
    html = client.get("/").get_data(as_text=True)
    assert f'id="todo-report_{tree["orgs"]["B1"]}"' in html and "2026年11月月报告待提交（截止 2026-12-05）" in html
    reports.save(account(db, tree, "secretary"), org(db, tree, "B1"), "2026-11", "一支部十一月工作情况说明。", submit=True)
    db.session.commit()
    assert "月报告待提交" not in client.get("/").get_data(as_text=True)


def test_the_api_lists_reads_and_writes_reports(client, db, tree, november):
    secretary = {"Authorization": f"Bearer {token_for(client, 'secretary')}"}
    committee = {"Authorization": f"Bearer {token_for(client, 'orgadmin')}"}
    b1 = tree["orgs"]["B1"]
    draft = client.put(f"/api/v1/evaluations/reports/{b1}/2026-11", json={"account": "草稿：本月召开大会一次。"}, headers=secretary)
    assert draft.status_code == 200 and draft.get_json()["state"] == "draft"
    assert draft.get_json()["figures"]["activities"]["present"] == 2
    short = client.put(f"/api/v1/evaluations/reports/{b1}/2026-11", json={"account": "短", "submit": True}, headers=secretary)
    assert short.status_code == 422 and "account" in short.get_json()["errors"]
    nul = client.put(f"/api/v1/evaluations/reports/{b1}/2026-11", json={"account": "本月\u0000召开大会一次。", "submit": True},
                     headers=secretary)
    assert nul.status_code in (400, 422)
    done = client.put(f"/api/v1/evaluations/reports/{b1}/2026-11", json={"account": "本月召开支部党员大会一次。", "submit": True},
                      headers=secretary)
    assert done.status_code == 200 and done.get_json()["state"] == "submitted"
    assert client.put(f"/api/v1/evaluations/reports/{b1}/2026-11", json={"account": "再改一次内容可以吗？", "submit": True},
                      headers=secretary).status_code == 409
    assert client.put(f"/api/v1/evaluations/reports/{b1}/2026-11", json={"account": "委员会代写的内容。", "submit": True},
                      headers=committee).status_code == 404
    listing = client.get("/api/v1/evaluations/reports?month=2026-11", headers=committee).get_json()
    assert [(i["branch"], i["state"], i["overdue"]) for i in listing["items"]] == [("一支部", "submitted", False),
                                                                                ("二支部", "missing", False)]
    assert listing["due"] == "2026-12-05" and listing["items"][1]["figures"] is None
    one = client.get(f"/api/v1/evaluations/reports/{b1}/2026-11", headers=committee).get_json()
    assert one["account"] == "本月召开支部党员大会一次。" and one["figures"]["points"]["branch"] == 5
    assert client.get(f"/api/v1/evaluations/reports/{tree['orgs']['BX']}/2026-11", headers=committee).status_code == 404
    assert client.get("/api/v1/evaluations/reports?month=2027-01", headers=committee).status_code == 422
    assert client.get(f"/api/v1/evaluations/reports?org={2**31}", headers=committee).status_code in (404, 422)
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"/api/v1/evaluations/reports", "/api/v1/evaluations/reports/{branch_id}/{month}",
            "/api/v1/evaluations/inspections", "/api/v1/evaluations/inspections/{branch_id}/{quarter}",
            "/api/v1/evaluations/inspections/{branch_id}/{quarter}/items/{code}/dispute", "/api/v1/evaluations/years",
            "/api/v1/evaluations/ballots", "/api/v1/evaluations/ballots/{window_id}/results", "/api/v1/ballots/current",
            "/api/v1/honours", "/api/v1/honours/{nomination_id}/decision"} <= set(paths)
