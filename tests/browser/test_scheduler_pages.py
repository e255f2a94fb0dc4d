"""The jobs page and the member's messages, in Debian's chromium."""
import pytest
import time_machine
from playwright.sync_api import expect

from learning.extensions import db
from learning.scheduler import services
from tests.browser.conftest import screenshot
from tests.browser.test_pages import log_in
from tests.scheduler.conftest import utc

pytestmark = pytest.mark.browser


def test_an_administrator_starts_a_job_and_watches_it_finish(page, app, tree):
    log_in(page, "root")
    page.wait_for_url("**/")
    page.goto("/admin/jobs/")
    assert "调度器未运行" in page.locator("#scheduler-state").inner_text()
    row = page.locator("#job-verify_totals")
    assert "核对积分汇总" in row.inner_text() and "每天 04:00" in row.inner_text()  # words, not crontab
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="立即运行").click()
    assert "已排队" in page.get_by_role("status").inner_text()
    assert row.get_by_role("button", name="立即运行").is_disabled()
    with app.app_context():  # a scheduler polls and runs it; the page refreshes itself meanwhile
        services.beat("browser-test")
        services.run_requested()
        db.session.remove()
    # (expect polls from Python: the page's Content-Security-Policy forbids evaluating strings in it)
    expect(row.get_by_role("button", name="立即运行")).to_be_enabled(timeout=15000)
    assert "成功" in page.locator("#job-verify_totals").inner_text()
    assert "调度器运行正常" in page.locator("#scheduler-state").inner_text()
    assert "与积分明细不符的合计：0" in page.locator("#runs").inner_text()  # words, not JSON
    assert "{" not in page.locator("#runs").inner_text()
    page.locator("#runs a").first.click()
    facts = page.locator("dl.facts").last.inner_text()
    assert "与积分明细不符的合计" in facts and "示例" in facts
    page.locator("details summary").click()  # the stored record, for whoever needs it
    assert '"differences": 0' in page.locator("pre.summary").inner_text()
    screenshot(page, "admin-jobs")


def test_a_member_reads_a_reminder_on_a_phone(page, app, tree, rules):
    with app.app_context(), time_machine.travel(utc(2026, 12, 25, 1, 0, 5), tick=False):
        services.run_job("remind_behind")
        db.session.remove()
    log_in(page, "member")
    page.wait_for_url("**/")
    assert page.locator("#tab-messages .badge").inner_text() == "1"  # the phone's tab bar
    page.locator("#tab-messages").click()
    message = page.locator("#messages li").first
    assert "学时提醒" in message.inner_text() and "还差必修 8 学时" in message.inner_text()
    screenshot(page, "member-messages")
    page.get_by_role("button", name="全部标为已读").click()
    assert page.locator("#tab-messages .badge").count() == 0
    assert page.locator("#tab-messages").get_attribute("aria-current") == "page"
