"""A secretary resets the passwords of a page of members in one go, on a phone."""
import pytest

from tests.browser.conftest import screenshot
from tests.browser.test_pages import log_in

pytestmark = pytest.mark.browser


def test_a_secretary_ticks_the_page_and_resets_every_password(page, tree):
    log_in(page, "secretary")
    page.wait_for_url("**/")
    page.goto(f"/admin/members?org={tree['orgs']['B1']}")
    page.get_by_label("全选本页").check()
    boxes = page.locator("#member-table input[name=member]")
    assert boxes.count() == 3 and all(boxes.nth(i).is_checked() for i in range(3))
    page.get_by_label("对勾选的党员").select_option(label="重置密码")
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="执行", exact=True).click()
    page.wait_for_selector("#credentials")
    assert asked == ["确定对所有勾选的党员执行此操作吗？"]
    names = page.locator("#credentials .slip-name").all_inner_texts()
    assert sorted(names) == ["王党员", "赵小组"]  # not the secretary's own account
    assert page.locator("#bulk-skipped li").all_inner_texts() == ["李书记：您无权管理该账号。"]
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "secretary-bulk-reset")
