"""Screenshots of the main pages for each role on a phone (390 px) and a desktop (1366 px), saved under
test-artifacts/screens/ for people to look at; each page must also fit its width and keep its navigation."""
import pytest

from tests.browser.conftest import ARTIFACTS
from tests.browser.test_pages import log_in

PAGES = {
    "member": ["/", "/courses/", "/quizzes/", "/points", "/activities/", "/notifications/"],
    "secretary": ["/", "/admin/orgs", "/admin/study", "/admin/orglife/activities/", "/admin/orglife/records/",
                  "/admin/points/rankings"],
    "orgadmin": ["/", "/admin/points/appraisal", "/admin/orglife/records/", "/admin/audit/"],
    "root": ["/", "/admin/jobs/", "/admin/registry/"],
}


@pytest.mark.parametrize("width", [390, 1366])
@pytest.mark.parametrize("role", list(PAGES))
def test_main_pages_for_each_role(browser, live_server, tree, rules, role, width):
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN", base_url=live_server)
    page = context.new_page()
    log_in(page, role)
    page.wait_for_url("**/")
    folder = ARTIFACTS / "screens"
    folder.mkdir(parents=True, exist_ok=True)
    for path in PAGES[role]:
        response = page.goto(path)
        assert response.ok, (role, path, response.status)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, (role, path)
        if path.startswith("/admin") and width >= 1024:
            # The desktop administration layout: the section navigation is a column beside the page.
            nav = page.locator("nav.subnav").bounding_box()
            heading = page.locator("main h1").first.bounding_box()
            assert nav["x"] + nav["width"] <= heading["x"], (role, path)
        name = path.strip("/").replace("/", "-") or "home"
        page.screenshot(path=str(folder / f"{role}-{name}-{width}.png"), full_page=True)
    context.close()
