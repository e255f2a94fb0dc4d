"""Every page reachable from the navigation fits a 390 px phone, for each role (no sideways
scrolling of the page; wide tables scroll inside their own box)."""
import pytest

from tests.browser.conftest import screenshot
from tests.browser.test_pages import log_in
from tests.courses.conftest import courses  # noqa: F401  (fixtures)
from tests.quizzes.conftest import banks, clock, make_campaign  # noqa: F401  (fixtures)

PHONE = 390
SKIP = ("/static/", "/logout", "export", ".xlsx", ".csv", "/lang/", "#")


def links(page) -> list[str]:
    found = page.eval_on_selector_all("header a[href], nav a[href], main a[href]",
                                      "els => els.map(e => e.getAttribute('href'))")
    return [h for h in found if h and h.startswith("/") and not any(s in h for s in SKIP)]


def reachable(page) -> list[str]:
    """The home page's links, and one level below each top navigation entry (the admin sub-navigation)."""
    page.goto("/")
    first = list(dict.fromkeys(links(page)))
    pages = list(first)
    for href in first:
        if href.startswith("/admin"):
            page.goto(href)
            pages += [h for h in links(page) if h.startswith("/admin")]
    return list(dict.fromkeys(pages))


@pytest.mark.parametrize("role", ["member", "secretary", "reviewer", "orgadmin"])
def test_no_page_in_the_navigation_is_wider_than_a_phone(page, db, tree, rules, courses, banks, clock, role):  # noqa: F811
    make_campaign(db, tree)
    log_in(page, role)
    page.wait_for_url("**/")
    visited, wide = reachable(page), []
    for href in visited:
        page.goto(href)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE:
            wide.append((href, width))
            screenshot(page, f"too-wide-{role}-{href.strip('/').replace('/', '-') or 'home'}")
    assert len(visited) >= (4 if role == "member" else 8), visited
    assert wide == [], f"{role}: pages wider than {PHONE} px: {wide}"
    if role == "member":
        page.goto("/quizzes/")
        screenshot(page, "phone-quizzes")
