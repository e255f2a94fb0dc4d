"""Every page reachable from the navigation fits a 390 px phone, for each role (no sideways
scrolling of the page; wide tables scroll inside their own box)."""
import pytest

from tests.browser.conftest import screenshot
from tests.browser.test_pages import log_in
from tests.courses.conftest import courses  # noqa: F401  (fixtures)
from tests.quizzes.conftest import banks, clock, make_campaign  # noqa: F401  (fixtures)

PHONE = 390
SKIP = ("/static/", "/logout", "export", ".xlsx", ".csv", "/lang/", "#")


SMALLEST_TEXT = """() => {
  // The rendered height of every visible text in the page's main part, SVG charts included (their
  // text is scaled with the drawing): [size in px, the text] of the smallest.
  let smallest = [99, ""];
  for (const el of document.querySelectorAll("main *")) {
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own || el.closest("title, .visually-hidden, script, style")) continue;
    const box = el.getBoundingClientRect();
    if (!box.width || !box.height) continue;
    let size = parseFloat(getComputedStyle(el).fontSize);
    if (el instanceof SVGElement && el.getScreenCTM()) size *= el.getScreenCTM().a;
    if (size < smallest[0]) smallest = [Math.round(size * 10) / 10, el.textContent.trim().slice(0, 30)];
  }
  return smallest;
}"""


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
    visited, wide, tiny = reachable(page), [], []
    for href in visited:
        page.goto(href)
        width = page.evaluate("document.documentElement.scrollWidth")
        size, text = page.evaluate(SMALLEST_TEXT)
        if size < 12:
            tiny.append((href, size, text))
        if width > PHONE:
            wide.append((href, width))
            screenshot(page, f"too-wide-{role}-{href.strip('/').replace('/', '-') or 'home'}")
    assert len(visited) >= (4 if role == "member" else 8), visited
    assert wide == [], f"{role}: pages wider than {PHONE} px: {wide}"
    assert tiny == [], f"{role}: text under 12 px on a phone: {tiny}"
    if role == "member":
        page.goto("/quizzes/")
        screenshot(page, "phone-quizzes")
