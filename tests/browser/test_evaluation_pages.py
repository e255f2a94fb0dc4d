"""A branch secretary writes and submits November's monthly report on a phone (390 px)."""
from datetime import datetime, timedelta, timezone

import pytest
import time_machine

from tests.browser.conftest import screenshot
from tests.browser.test_pages import log_in

pytestmark = pytest.mark.browser


def test_a_secretary_submits_the_monthly_report_on_a_phone(page, app, tree, rules):
    from learning.evaluation.models import MonthlyReport, ReportStatus
    from learning.extensions import db

    with time_machine.travel(datetime(2026, 12, 3, 10, tzinfo=timezone(timedelta(hours=8))), tick=True):
        log_in(page, "secretary")
        page.wait_for_url("**/")
        page.get_by_role("link", name="2026年11月月报告待提交（截止 2026-12-05）").click()
        assert page.locator("h1").inner_text() == "一支部 2026年11月月报告"
        assert page.locator("#report-figures .stat").count() == 6
        page.get_by_label("本月工作情况说明").fill("本月召开支部党员大会一次，组织党员学习党章。下月开展志愿服务。")
        asked = []
        page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
        page.get_by_role("button", name="提交报告").click()
        page.wait_for_selector("#report-account")
        assert asked == ["确定提交报告吗？提交后不能再修改。"]
        assert page.get_by_role("status").inner_text() == "2026年11月月报告已提交。"
        assert "已于" in page.locator("#report-state").inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(page, "secretary-monthly-report")
    with app.app_context():
        report = db.session.query(MonthlyReport).one()
        assert report.status == ReportStatus.SUBMITTED and report.account.startswith("本月召开支部党员大会一次")


def test_a_member_fills_in_the_appraisal_ballot_on_a_phone(page, app, tree, rules):
    """王党员 grades the other full members of 一支部 (李书记 only, in the small tree) and writes a self-assessment."""
    from learning.accounts.models import Account
    from learning.evaluation import ballots
    from learning.evaluation.models import Ballot, BallotVote
    from learning.extensions import db
    from learning.orgs.models import Organisation

    shanghai = timezone(timedelta(hours=8))
    with app.app_context():
        ballots.open_window(db.session.get(Account, tree["accounts"]["orgadmin"]), db.session.get(Organisation, tree["orgs"]["GB"]),
                            2026, datetime(2026, 12, 1, 9, tzinfo=shanghai), datetime(2026, 12, 15, 18, tzinfo=shanghai))
        db.session.commit()
    with time_machine.travel(datetime(2026, 12, 3, 10, tzinfo=shanghai), tick=True):
        log_in(page, "member")
        page.wait_for_url("**/")
        page.locator("#home-ballot").get_by_role("link", name="填写评议表").click()
        assert page.locator("h1").inner_text() == "民主评议党员"
        page.get_by_label("个人自评").fill("本年度坚持学习党章党规，参加社区志愿服务 12 小时。")
        page.locator("#rate-%d" % tree["members"]["b1_secretary"]).get_by_label("优秀").check()
        page.get_by_role("button", name="提交评议表").click()
        assert "评议表已提交" in page.get_by_role("status").inner_text()
        assert page.locator("#rate-%d" % tree["members"]["b1_secretary"]).get_by_label("优秀").is_checked()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(page, "member-ballot")
    with app.app_context():
        assert db.session.query(Ballot).count() == 1
        assert [v.grade for v in db.session.query(BallotVote).all()] == ["excellent"]


def test_a_committee_inspects_a_branch_on_a_desktop(browser, live_server, app, tree, rules):
    """冯管理 (GB) scores 一支部's entered items for 2026Q4 and publishes; the page then shows the total."""
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN", base_url=live_server)
    page = context.new_page()
    try:
        with time_machine.travel(datetime(2026, 12, 20, 10, tzinfo=timezone(timedelta(hours=8))), tick=True):
            log_in(page, "orgadmin")
            page.wait_for_url("**/")
            page.goto("/admin/evaluation/inspections/?quarter=2026Q4")
            page.locator("#inspections tr", has_text="一支部").get_by_role("link", name="督查").click()
            page.get_by_label("组织生活台账规范得分").fill("8")
            page.get_by_label("组织生活台账规范的评语").fill("台账齐全，记录规范。")
            page.get_by_label("支部建设亮点得分").fill("7.5")
            page.get_by_label("支部建设亮点的评语").fill("志愿服务有特色。")
            asked = []
            page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
            page.get_by_role("button", name="发布").click()
            page.wait_for_selector("text=督查结果已发布，已通知支部。")
            assert asked and asked[0].startswith("确定向支部发布督查结果吗")
            assert page.locator("#inspection-total .figure-value").inner_text() == "15.5"  # nothing else happened
            screenshot(page, "committee-inspection-1366")
    finally:
        context.close()
