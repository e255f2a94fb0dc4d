"""On a phone: the organiser shows the rotating code, a member types it and is checked in."""
from datetime import datetime, timedelta, timezone

from learning.accounts.models import Account
from learning.orglife import activities
from learning.orgs.models import Organisation
from tests.browser.conftest import screenshot
from tests.browser.test_pages import log_in


def test_the_organiser_shows_the_code_and_a_member_checks_in_by_typing_it(app, browser, live_server, page, tree, rules):
    with app.app_context():
        from learning.extensions import db

        now = datetime.now(timezone.utc)
        item = activities.create_activity(
            db.session.get(Organisation, tree["orgs"]["B1"]), actor=db.session.get(Account, tree["accounts"]["secretary"]),
            kind="theme_day", title="主题党日：重温入党誓词", starts_at=now - timedelta(minutes=5),
            ends_at=now + timedelta(hours=1), place="三楼会议室")
        db.session.commit()
        activity_id = item.id

    organiser = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", base_url=live_server)
    screen = organiser.new_page()
    log_in(screen, "secretary")
    screen.wait_for_url("**/")
    screen.goto(f"/admin/orglife/activities/{activity_id}")
    screen.get_by_role("link", name="显示签到码").click()
    screen.wait_for_selector("#code-qr svg")
    code = screen.locator("#code-digits").inner_text().strip()
    assert len(code) == 6 and code.isdigit()
    screenshot(screen, "orglife-code-screen")

    log_in(page, "member")
    page.wait_for_url("**/")
    page.goto("/activities/")
    assert "主题党日：重温入党誓词" in page.locator("#upcoming").inner_text()
    # The code may have turned over since it was read; the previous one is still accepted.
    page.get_by_label("签到码").fill(code)
    page.get_by_role("button", name="签到").click()
    page.wait_for_url(f"**/activities/{activity_id}")
    assert "签到成功" in page.locator("div.flash").inner_text()
    assert "您已签到" in page.locator("#my-state").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "orglife-member-checked-in")

    # The organiser's screen counts the member within a few seconds.
    screen.wait_for_timeout(6000)
    assert screen.locator("#code-present").inner_text().startswith("1 /")

    # Another member scans the QR code: its link opens the activity and checks them in.
    link = screen.evaluate("fetch(document.getElementById('code-screen').dataset.source).then(r => r.json())")["link"]
    scanner = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", base_url=live_server)
    phone = scanner.new_page()
    log_in(phone, "g1member")
    phone.wait_for_url("**/")
    phone.goto(link)
    phone.wait_for_selector("#my-state")
    assert "您已签到" in phone.locator("#my-state").inner_text()
    scanner.close()

    # The secretary's 台账 on the phone shows the branch, held this month, within the width.
    screen.goto("/admin/orglife/records/")
    assert "一支部" in screen.locator("#records").inner_text()
    assert screen.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(screen, "orglife-records")
    organiser.close()
