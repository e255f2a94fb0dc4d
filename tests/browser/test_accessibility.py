"""axe-core (the engine of Deque's accessibility checker, MPL-2.0, a test-only tool from PyPI's
axe-playwright-python) finds no serious or critical violation on the pages members and secretaries use
most, on a phone and on a desktop."""
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.browser.test_pages import log_in
from tests.courses.conftest import courses  # noqa: F401  (fixtures)
from tests.quizzes.conftest import banks, make_campaign  # noqa: F401  (fixtures)


def axe_violations(page) -> list[tuple[str, str, int, str]]:
    import axe_playwright_python

    page.evaluate((Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text(encoding="utf-8"))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [(v["id"], v["impact"], len(v["nodes"]), v["nodes"][0]["target"][0] if v["nodes"] else "")
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("width", [390, 1366])
def test_no_serious_accessibility_violation(app, browser, live_server, db, tree, rules, courses, banks, width):  # noqa: F811
    from learning.courses.models import Lesson

    now = datetime.now(timezone.utc)
    campaign = make_campaign(db, tree, start=now - timedelta(days=1), end=now + timedelta(days=10))
    lesson = db.session.scalars(select(Lesson).order_by(Lesson.id)).first()
    pages = {"member": ["/login", "/", "/points", f"/courses/lessons/{lesson.id}", "/quizzes/",
                        f"/challenges/{campaign.id}", "/activities/"],
             "secretary": ["/", "/admin/points/rankings", "/admin/points/appraisal", "/admin/orglife/records/"]}
    found = {}
    for role, paths in pages.items():
        context = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN", base_url=live_server)
        page = context.new_page()
        page.goto("/login")
        found[(role, "/login")] = axe_violations(page)
        log_in(page, role)
        page.wait_for_url("**/")
        for path in paths:
            if path == "/login":
                continue
            assert page.goto(path).ok, path
            found[(role, path)] = axe_violations(page)
        context.close()
    assert {where: bad for where, bad in found.items() if bad} == {}
