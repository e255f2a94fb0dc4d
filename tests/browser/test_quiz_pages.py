"""A member plays two levels of the demo campaign in Debian's chromium, answering by clicking and
typing, and watches the leaderboard change — once after their own levels and once, without
reloading, when a colleague passes a level."""
import pytest
from sqlalchemy import select

from learning.config import PACKAGE_DIR
from learning.demo import demo_challenge
from learning.extensions import db
from learning.orgs.models import Member, Organisation
from learning.quizzes import attempts, challenges
from learning.quizzes.banks import import_content
from learning.quizzes.models import Attempt, AttemptStatus
from tests.browser.conftest import screenshot
from tests.browser.test_pages import log_in
from tests.quizzes.conftest import answer_all

pytestmark = pytest.mark.browser


@pytest.fixture
def campaign(app, tree, rules):
    app.config["QUIZ_BOARD_REFRESH_SECONDS"] = 1
    with app.app_context():
        assert import_content(PACKAGE_DIR / "content" / "quizzes").ok
        challenge = demo_challenge(PACKAGE_DIR / "content" / "demo" / "challenge.yaml",
                                   db.session.get(Organisation, tree["orgs"]["C"]))
        db.session.commit()
        return challenge.id


def answer_on_the_page(page, app, member_id):
    """Click the right options (the test reads the key on the server, as only a test may)."""
    with app.app_context():
        attempt = db.session.scalar(select(Attempt).where(Attempt.member_id == member_id,
                                                          Attempt.status == AttemptStatus.OPEN))
        keys = []
        for item in attempt.items:
            q = item.question
            if q.kind.has_options:
                keys.append((item.position, attempts.right_letters(item), None))
            else:
                keys.append((item.position, [], q.answers[0]["text"]))
    for position, letters, text in keys:
        question = page.locator(f"fieldset[data-position='{position}']")
        if text is not None:
            question.locator("input[type=text]").fill(text)
        for letter in letters:
            question.locator(f"input[value='{letter}']").check()
    page.wait_for_timeout(300)  # let the last save land; the form carries every answer anyway
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#submit").click()
    page.locator("#result").wait_for()
    assert "通过" in page.locator("#result").inner_text()


def test_a_member_plays_two_levels_and_sees_the_leaderboard_change(page, app, tree, campaign):
    log_in(page, "member")
    page.wait_for_url("**/")
    page.get_by_role("link", name="答题").first.click()
    page.get_by_role("link", name="学党章 守纪律 · 星河园区答题闯关月").click()
    assert "还没有人完成任何关卡" in page.locator("#member-board").inner_text()
    assert "未解锁" in page.locator("#levels li").nth(1).inner_text()

    page.locator("#levels li").nth(0).get_by_role("button", name="开始闯关").click()
    answer_on_the_page(page, app, tree["members"]["b1_member"])
    page.get_by_role("link", name="返回").first.click()
    assert "王党员" in page.locator("#member-board").inner_text()
    assert "第 1 名（过 1 关" in page.locator("#my-rank").inner_text()

    page.locator("#levels li").nth(1).get_by_role("button", name="开始闯关").click()
    answer_on_the_page(page, app, tree["members"]["b1_member"])
    page.get_by_role("link", name="返回").first.click()
    first_row = page.locator("#member-board tbody tr").first.inner_text()
    assert "王党员" in first_row and "\t2\t" in first_row
    assert "今天还可作答 1 次" in page.locator("body").inner_text()

    # A colleague in another branch passes three levels; the open page shows it without reloading.
    with app.app_context():
        colleague = db.session.get(Member, tree["members"]["b3_member"])
        from learning.quizzes.models import Challenge

        challenge = db.session.get(Challenge, campaign)
        for level in challenge.levels[:3]:
            attempt, _ = challenges.start_level(colleague, level)
            answer_all(colleague, attempt)
            attempts.submit(colleague, attempt.token)
        db.session.commit()
    page.locator("#member-board tbody tr").first.filter(has_text="周三支").wait_for(timeout=10_000)
    page.locator("#my-rank").filter(has_text="第 2 名").wait_for(timeout=5_000)
    assert "三支部" in page.locator("#branch-board").inner_text()
    screenshot(page, "challenge-leaderboard")
