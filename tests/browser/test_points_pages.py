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
    assert [cells[7] for cells in table] == ["合格", "合格", "不评等次"]
    # Nobody has studied yet: 0 of the default 8 required and 3 elective hours, so nobody is eligible.
    assert all(cells[5] == "0 / 8 · 0 / 3" for cells in table)
    assert all(cells[6].startswith("否") and "必修 0 / 8 学时；选修 0 / 3 学时" in cells[6] for cells in table)
    assert "钱二支" not in page.content()
    assert page.locator("#branch-stars tbody tr").count() == 1
    screenshot(page, "secretary-appraisal")
