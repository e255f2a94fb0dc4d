"""A member completes a course in Debian's chromium: two text lessons, then the audio lesson, and
sees the hours and points appear.  The heartbeat is shortened so the test takes seconds."""
import pytest
from sqlalchemy import select

from learning.config import PACKAGE_DIR
from learning.courses import study
from learning.courses.content import import_courses
from learning.courses.models import Course, LessonProgress
from learning.extensions import db
from tests.browser.conftest import screenshot
from tests.browser.test_pages import log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def short_course(app, tree, rules, tmp_path, monkeypatch):
    app.config["MEDIA_DIR"] = str(tmp_path / "media")
    monkeypatch.setattr(study, "HEARTBEAT_SECONDS", 2)
    monkeypatch.setattr(study, "MIN_GAP_SECONDS", 1)
    monkeypatch.setattr(study, "MAX_GAP_SECONDS", 20)
    with app.app_context():
        import_courses(PACKAGE_DIR / "content" / "courses" / "party-constitution")
        course = db.session.scalar(select(Course).where(Course.slug == "party-constitution"))
        for lesson in course.live_lessons:
            if lesson.kind.value == "text":
                lesson.min_seconds = 3
        db.session.commit()
        return course.id


def test_a_member_reads_listens_and_completes_a_course(page, short_course, app):
    log_in(page, "member")
    page.wait_for_url("**/")
    page.get_by_role("link", name="学习课程", exact=True).click()
    assert "0 / 8 学时" in page.locator("#hours-required").inner_text()
    page.get_by_role("link", name="学习党章：总纲与党员的义务和权利").click()
    for title in ("总纲：党的性质和宗旨", "党员的义务和权利"):
        page.get_by_role("link", name=title).click()
        page.locator("#study-status").filter(has_text="本课时已完成").wait_for(timeout=20_000)
        page.locator("#back-to-course").click()
    refused = []
    page.on("response", lambda r: refused.append(r.url) if "/heartbeat" in r.url and r.status >= 400 else None)
    page.get_by_role("link", name="跟读入党誓词").click()
    page.locator("#player").evaluate("player => player.play()")
    try:
        page.locator("#study-status").filter(has_text="课程已完成").wait_for(timeout=45_000)
    except Exception:
        state = page.locator("#player").evaluate(
            "p => ({time: p.currentTime, paused: p.paused, ended: p.ended, error: p.error && p.error.code})")
        with app.app_context():
            progress = [(p.lesson_id, p.seconds, p.reached_end, p.completed_at)
                        for p in db.session.scalars(select(LessonProgress))]
        screenshot(page, "lesson-audio-stuck")
        raise AssertionError(f"status {page.locator('#study-status').inner_text()!r}, player {state}, progress {progress}")
    screenshot(page, "lesson-audio-complete")
    assert refused == []  # the beat at the media's end waits for the gap the server asks for

    page.goto("/courses/record")
    assert "2 / 8 学时" in page.locator("#hours-required").inner_text()
    assert "学习党章" in page.locator("#record").inner_text()
    page.get_by_role("link", name="结业证书").click()
    assert "王党员" in page.locator("#certificate").inner_text()
    screenshot(page, "certificate")
    page.goto("/points")
    # 1 point for each of 3 lessons, 2 per credit hour for the course, 1 for today's login.
    assert page.locator("#points-period").inner_text() == "8"


def test_the_demo_video_lesson_loads_and_plays_in_chromium(page, app, tree, rules, tmp_path):
    """The shipped WebM (VP8) decodes in Debian's chromium: 20 seconds long, frames 640×360, time advances."""
    from learning.courses.models import Lesson

    app.config["MEDIA_DIR"] = str(tmp_path / "media")
    with app.app_context():
        import_courses(PACKAGE_DIR / "content" / "courses" / "volunteer-service")
        db.session.commit()
        lesson_id = db.session.scalar(select(Lesson.id).where(Lesson.slug == "02-how-to-register"))
    log_in(page, "member")
    page.wait_for_url("**/")
    page.goto(f"/courses/lessons/{lesson_id}")
    player = page.locator("#player")

    def until(check: str) -> None:  # the page's CSP forbids wait_for_function's eval: poll instead
        for _ in range(100):
            if player.evaluate(check):
                return
            page.wait_for_timeout(100)
        raise AssertionError(f"{check}: {player.evaluate('p => [p.readyState, p.currentTime, p.error && p.error.code]')}")

    until("p => p.readyState >= 1")
    assert player.evaluate("p => [Math.round(p.duration), p.videoWidth, p.videoHeight]") == [20, 640, 360]
    player.evaluate("p => { p.muted = true; return p.play(); }")
    until("p => p.currentTime > 0.5")
    screenshot(page, "lesson-video-playing")
