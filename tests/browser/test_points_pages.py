"""The member's ledger and the appraisal view, in Debian's chromium at phone size."""
import pytest

from learning.extensions import db
from learning.orgs.models import Member
from learning.points import services
from tests.browser.conftest import screenshot
from tests.browser.test_pages import log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def activity(app, tree, rules):
    """B1 this quarter: 李书记 15, 王党员 10 (one course, titled), 赵小组 5; B3's 周三支 is an activist."""
    with app.app_context():
        for key, meetings in (("b1_secretary", 3), ("b1_member", 1), ("g1_member", 1), ("b2_member", 2)):
            member = db.session.get(Member, tree["members"][key])
            for i in range(meetings):
                services.award("meeting_attended", member=member, source_key=f"{key}:{i}")
        member = db.session.get(Member, tree["members"]["b1_member"])
        services.award("course_completed", member=member, source_key="course:1", quantity=2.5, title="党章学习")
        db.session.commit()


def test_a_member_reads_their_ledger_and_disputes_an_entry(page, activity):
    log_in(page, "member")
    page.wait_for_url("**/")
    page.get_by_role("link", name="我的积分").click()
    assert page.locator("#points-period").inner_text() == "11"  # 5 + 5 + the daily login point
    rows = page.locator("#ledger .ledger-row")
    texts = rows.locator(".ledger-text").all_inner_texts()
    assert texts[0] == "每日登录" and "完成课程《党章学习》" in texts
    course_row = rows.filter(has_text="完成课程《党章学习》")
    assert course_row.locator(".ledger-points").inner_text() == "+5"
    course_row.get_by_text("申诉").click()
    course_row.get_by_label("这条记录有什么问题？").fill("只学了一半，不应计满学时")
    course_row.get_by_role("button", name="提交").click()
    assert page.get_by_role("status").inner_text() == "您的申诉已提交给所在支部。"
    assert rows.filter(has_text="完成课程《党章学习》").get_by_text("申诉处理中").is_visible()
    screenshot(page, "member-points")


def test_a_secretary_reads_the_appraisal_view(page, activity):
    log_in(page, "secretary")
    page.wait_for_url("**/")
    page.goto("/admin/points/appraisal")
    rows = page.locator("#appraisal tbody tr")
    table = [r.locator("td").all_inner_texts() for r in rows.all()]
    names = [cells[1] for cells in table]
    assert names == ["李书记", "王党员", "赵小组"]
    # 2 full members → at most 0 excellent (a third of 2 rounds down); the probationary member is not graded.
    assert [cells[8] for cells in table] == ["合格", "合格", "不评等次"]
    assert [cells[7] for cells in table] == ["0", "0", "0"]  # nobody served as a volunteer this year
    # Nobody has studied yet: 0 of the default 8 required and 3 elective hours, so nobody is eligible.
    assert all(cells[5] == "0 / 8 · 0 / 3" for cells in table)
    assert all(cells[6].startswith("否") and "必修 0 / 8 学时；选修 0 / 3 学时" in cells[6] for cells in table)
    assert "钱二支" not in page.content()
    assert page.locator("#branch-stars tbody tr").count() == 1
    screenshot(page, "secretary-appraisal")


def test_a_large_bonus_waits_for_the_org_admin_and_the_member_sees_who_gave_and_approved_it(
        page, browser, live_server, activity, tree):
    member_id = tree["members"]["b1_member"]
    log_in(page, "secretary")
    page.wait_for_url("**/")
    page.goto(f"/admin/members/{member_id}/points")
    page.get_by_label("积分", exact=True).fill("15")
    page.get_by_label("原因").fill("抗洪抢险突击队队员")
    page.get_by_role("button", name="记录").click()
    assert "需要另一位管理员复核" in page.get_by_role("status").inner_text()
    assert page.locator("td", has_text="待复核").count() == 1
    screenshot(page, "secretary-bonus-pending")

    admin = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN", base_url=live_server)
    desk = admin.new_page()
    log_in(desk, "orgadmin")
    desk.wait_for_url("**/")
    desk.goto("/admin/points/approvals")
    card = desk.locator("section.card", has_text="抗洪抢险突击队队员")
    assert "李书记 给分" in card.inner_text()
    card.get_by_label("通过：积分计入").check()
    card.get_by_role("button", name="提交处理").click()
    assert desk.get_by_role("status").inner_text() == "已通过：积分已计入。"
    assert "没有待复核的积分" in desk.content()
    screenshot(desk, "orgadmin-approvals")
    admin.close()

    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", base_url=live_server)
    mine = phone.new_page()
    log_in(mine, "member")
    mine.wait_for_url("**/")
    mine.goto("/points")
    bonus = mine.locator("#ledger .ledger-row", has_text="加分")
    assert bonus.locator(".ledger-points").inner_text() == "+15"
    assert "李书记 给分，冯管理 复核" in bonus.inner_text()
    phone.close()


def test_charts_on_a_phone_have_whole_labels_units_and_legible_text(page, activity):
    """The rankings' charts on a 390 px phone: the organisations as a list of bars with their whole
    names and "分"; the distribution as a drawing whose smallest text renders at 12 px or more."""
    from tests.browser.test_phone_width import SMALLEST_TEXT

    log_in(page, "orgadmin")
    page.wait_for_url("**/")
    page.goto("/admin/points/rankings")
    bars = page.locator(".bar-list .bar-row")
    labels = bars.locator(".bar-label").all_inner_texts()
    values = bars.locator(".bar-value").all_inner_texts()
    assert labels and all(v.endswith("分") for v in values), (labels, values)
    for label in labels:  # whole, on screen, not cut
        box = bars.filter(has_text=label).locator(".bar-label").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    svg = page.locator("svg.chart").first
    assert svg.get_attribute("aria-label") == "党员积分分布"
    size, text = page.evaluate(SMALLEST_TEXT)
    assert size >= 12, (size, text)
    assert page.locator("svg.chart text", has_text="人").count() == 1  # the value axis says what it counts
    screenshot(page, "phone-rankings-charts")
    page.context.clear_cookies()
    log_in(page, "member")
    page.wait_for_url("**/")
    page.goto("/points")
    assert page.locator("svg.chart").count() == 1
    size, text = page.evaluate(SMALLEST_TEXT)
    assert size >= 12, (size, text)
    assert page.locator("svg.chart text", has_text="分").count() == 1


def test_the_appraisal_prints_on_a4_with_signature_lines(page, activity):
    """Printed: no navigation, filters or buttons; the date and the secretary's signature line appear."""
    log_in(page, "secretary")
    page.wait_for_url("**/")
    page.goto("/admin/points/appraisal")
    assert not page.locator(".signature-lines").is_visible()
    page.emulate_media(media="print")
    assert page.locator(".signature-lines").is_visible()
    assert "支部书记签字" in page.locator(".signature-lines").inner_text()
    assert not page.locator("nav.subnav").is_visible() and not page.locator("form.filters").is_visible()
    assert not page.get_by_role("button", name="打印").is_visible()
    pdf = page.pdf(format="A4")
    assert pdf[:4] == b"%PDF" and len(pdf) > 10_000
