"""The pages that matter most, in Debian's chromium at phone size."""
import pytest

from tests.browser.conftest import screenshot
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def log_in(page, username, password=PASSWORD):
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()


def test_a_member_logs_in_and_sees_the_chinese_home_page(page, tree):
    page.goto("/")
    assert page.url.endswith("/login?next=/%3F") or "/login" in page.url
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    log_in(page, "member")
    page.wait_for_url("**/")
    assert page.get_by_role("heading", level=1).inner_text() == "王党员，您好"
    assert page.get_by_text("本季度学时").is_visible()
    assert page.locator("#home-hours-required").inner_text() == "0 / 8"  # the default quota, nothing studied yet
    assert page.get_by_text("还没有设置每日答题").is_visible()  # no quiz content loaded: the panel says so
    assert page.locator("#home-points-today").inner_text() == "0"  # no rules loaded: logging in still works
    assert page.get_by_role("link", name="管理").count() == 0
    screenshot(page, "member-home")


def test_a_wrong_password_shows_the_message_in_the_browser(page, tree):
    log_in(page, "member", "wrong-password1")
    assert page.get_by_role("alert").inner_text().startswith("用户名或密码错误")
    assert "/login" in page.url


def test_a_branch_secretary_sees_only_their_branch(page, tree):
    log_in(page, "secretary")
    page.wait_for_url("**/")
    page.get_by_role("link", name="管理").first.click()
    page.get_by_role("link", name="一支部").click()
    page.get_by_role("link", name="下属全部党员").click()
    rows = page.locator("#member-table tbody tr")
    names = sorted(rows.locator("td a").all_inner_texts())  # the name links (a first column holds the bulk checkboxes)
    assert names == sorted(["李书记", "王党员", "赵小组"])
    assert page.get_by_text("钱二支").count() == 0
    screenshot(page, "secretary-members")
    # Guessing a sibling branch member's id gives the not-found page, with nothing of the member.
    response = page.goto(f"/admin/members/{tree['members']['b2_member']}")
    assert response.status == 404
    assert page.get_by_text("钱二支").count() == 0
    assert page.get_by_role("heading", level=1).inner_text() == "页面不存在"


def test_switching_to_english(page, tree):
    log_in(page, "member")
    page.wait_for_url("**/")
    page.get_by_role("button", name="English").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Hello, 王党员"
    assert page.locator("html").get_attribute("lang") == "en"
