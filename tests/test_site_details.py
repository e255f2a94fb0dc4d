"""Details every page and API answer shares: the icon, hidden elements, problem titles in the
caller's language."""
from learning.config import PACKAGE_DIR
from tests.conftest import switch_language


def test_every_page_names_an_icon_and_favicon_ico_is_not_a_404(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<link rel="icon" type="image/svg+xml" href="/static/favicon.svg?v=' in page
    answer = client.get("/favicon.ico")
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/static/favicon.svg?v=")
    icon = client.get(answer.headers["Location"])
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml" and b"<svg" in icon.data


def test_hidden_wins_over_classes_that_set_display():
    css = (PACKAGE_DIR / "static" / "css" / "app.css").read_text()
    assert "[hidden] { display: none !important; }" in css


def test_api_problems_speak_the_callers_language(client, tree):
    missing = client.get("/api/v1/no-such-thing").get_json()
    assert (missing["title"], missing["status"]) == ("不存在", 404)
    assert missing["detail"] == "这里没有内容，或不在您可查看的组织范围内。"
    refused = client.post("/api/v1/auth/token", json={"username": 3})  # not a string
    body = refused.get_json()
    assert refused.status_code == 422 and body["title"] == "数据有误" and "username" in body["errors"]
    switch_language(client, "en")
    assert client.get("/api/v1/no-such-thing").get_json()["title"] == "Not found"


def test_times_on_pages_are_local_and_to_the_minute(app):
    from datetime import datetime, timezone

    with app.test_request_context():
        shown = app.jinja_env.filters["datetime"](datetime(2026, 11, 26, 9, 30, 45, tzinfo=timezone.utc))
    assert shown == "2026年11月26日 17:30"  # Asia/Shanghai, no seconds


def test_an_administrator_without_a_member_record_sees_that_the_daily_quiz_exists(client, db, tree):
    from learning.quizzes.banks import import_content
    from tests.conftest import login
    from tests.factories import PASSWORD

    login(client, "root", PASSWORD)
    assert "还没有设置每日答题" in client.get("/").get_data(as_text=True)
    assert import_content(PACKAGE_DIR / "content" / "quizzes").ok
    db.session.commit()
    home = client.get("/").get_data(as_text=True)
    assert "还没有设置每日答题" not in home and "每日答题已设置" in home


def test_one_english_word_two_chinese_meanings(app):
    """msgctxt: a campaign's Status is 状态 (a member's is 身份); a connection's Name is 名称 (a person's 姓名)."""
    from flask_babel import gettext, pgettext

    with app.test_request_context():
        assert (pgettext("campaign", "Status"), gettext("Status")) == ("状态", "身份")
        assert (pgettext("connection", "Name"), gettext("Name")) == ("名称", "姓名")
    templates = PACKAGE_DIR / "templates"
    assert 'pgettext("campaign", "Status")' in (templates / "quizzes" / "admin_challenges.html").read_text()
    assert (templates / "registry" / "connections.html").read_text().count('pgettext("connection", "Name")') == 2


def test_a_secretary_sees_a_members_points_hours_and_quiz_results(client, db, tree, rules):
    from learning.accounts.models import Account
    from learning.orgs.models import Member
    from tests.conftest import login
    from tests.factories import PASSWORD, give_points

    give_points(db.session.get(Member, tree["members"]["b1_member"]), 7, db.session.get(Account, tree["accounts"]["superadmin"]),
                reason="志愿服务")
    db.session.commit()
    login(client, "secretary", PASSWORD)
    page = client.get(f"/admin/members/{tree['members']['b1_member']}").get_data(as_text=True)
    assert 'id="member-points"' in page and "志愿服务" in page and "+7" in page
    assert 'id="member-hours"' in page and "0 / 8" in page  # the default quota: 8 required hours
    assert 'id="member-quizzes"' in page and "还没有参加过答题" in page
    other = client.get(f"/admin/members/{tree['members']['b2_member']}")
    assert other.status_code == 404  # another branch's member: no page, no panels


def test_schedules_read_as_words_and_pages_use_no_developer_words(app):
    from learning.scheduler.summaries import describe_schedule

    with app.test_request_context():
        assert [describe_schedule(c) for c in ("0 4 * * *", "* * * * *", "*/10 * * * *", "0 10 * * 1-5",
                                               "30 0 1 * *", "0 9 * * 1", "5 4 * 2 *")] == [
            "每天 04:00", "每分钟", "每 10 分钟", "周一至周五 10:00", "每月 1 日 00:30", "每周一 09:00", "5 4 * 2 *"]
    words = ("learning content", "learning scheduler", "docs/", ".yaml", "rules.yaml")
    for template in (PACKAGE_DIR / "templates").rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert not [w for w in words if w in text], template
