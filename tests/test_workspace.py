"""The administrator's home leads with what needs doing; one click reminds the members behind on hours."""
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from learning.accounts.models import Account
from learning.notifications.models import Notification
from learning.orglife import activities
from learning.orgs.models import Member, Organisation
from learning.points import disputes, services
from tests.conftest import csrf_token, login
from tests.courses.conftest import courses  # noqa: F401  (fixtures)
from tests.quizzes.conftest import banks, make_campaign  # noqa: F401  (fixtures)
from tests.factories import PASSWORD


def todo_counts(html: str) -> dict:
    import re

    return {key: int(count) for key, count in re.findall(
        r'id="todo-([a-z_]+)"[^>]*>\s*<a [^>]*><span class="todo-count">(\d+)</span>', html)}


def test_the_secretary_home_leads_with_what_needs_doing(client, db, tree, rules, time_machine):
    now = datetime(2026, 11, 18, 2, tzinfo=timezone.utc)  # a Wednesday, 10:00 in Shanghai
    time_machine.move_to(now, tick=False)
    member = db.session.get(Member, tree["members"]["b1_member"])
    entry = services.award("meeting_attended", member=member, source_key="m-1").entry
    disputes.open_dispute(entry, member, "我那天出差，没有参会")
    outside = db.session.get(Member, tree["members"]["b2_member"])  # B2: not the B1 secretary's
    disputes.open_dispute(services.award("meeting_attended", member=outside, source_key="m-2").entry, outside, "这条记录记错了，请核实")
    item = activities.create_activity(db.session.get(Organisation, tree["orgs"]["B1"]),
                                      actor=db.session.get(Account, tree["accounts"]["secretary"]), kind="theme_day",
                                      title="主题党日", starts_at=now + timedelta(days=2), ends_at=now + timedelta(days=2, hours=2))
    activities.ask_leave(item, member, "出差")
    db.session.commit()

    login(client, "secretary", PASSWORD)
    html = client.get("/").get_data(as_text=True)
    assert "待办事项" in html
    # One dispute of B1 (B2's is not theirs), one leave, three members of B1 behind on hours (nobody studied),
    # one activity this week.
    assert todo_counts(html) == {"disputes": 1, "hours_behind": 3, "leave": 1, "this_week": 1}

    token = csrf_token(client, "/")
    first = client.post("/admin/study/remind", data={"csrf_token": token}, follow_redirects=True)
    assert "已提醒 3 名" in first.get_data(as_text=True)
    reminded = set(db.session.scalars(sa.select(Notification.member_id).where(Notification.kind == "hours_behind")))
    assert reminded == {tree["members"][k] for k in ("b1_secretary", "b1_member", "g1_member")}
    again = client.post("/admin/study/remind", data={"csrf_token": token}, follow_redirects=True)
    assert "今天已经提醒过" in again.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
        Notification.kind == "hours_behind")) == 3


def test_a_member_home_has_no_todo_and_cannot_remind(client, tree, rules):
    login(client, "member", PASSWORD)
    html = client.get("/").get_data(as_text=True)
    assert 'id="todo"' not in html
    assert client.post("/admin/study/remind", data={"csrf_token": csrf_token(client, "/")}).status_code == 403


def figure(html: str, key: str) -> dict:
    import re

    block = re.search(rf'id="figure-{key}">(.*?)</div>', html, re.S)
    assert block, key
    found = dict(re.findall(r'<span class="figure-(label|value|note)">(.*?)</span>', block.group(1)))
    found["chart"] = block.group(1).count("<rect")
    return found


def test_the_secretary_home_shows_the_branch_figures_with_their_trend(client, db, tree, rules, courses, banks):
    """B1 (李书记, 王党员, 赵小组 in its group) on 20 November 2026: points by month over six months, the share
    on track with hours, and the committee's campaign open now with B1's players — B2's do not count."""
    import time_machine

    from learning.quizzes.models import ChallengeStanding

    shanghai = timezone(timedelta(hours=8))
    members = {k: db.session.get(Member, tree["members"][k]) for k in ("b1_secretary", "b1_member", "g1_member", "b2_member")}
    awarded = [("b1_member", datetime(2026, 5, 31, 9, tzinfo=shanghai)),  # May: before the six months
               ("b1_member", datetime(2026, 9, 3, 9, tzinfo=shanghai)),
               ("g1_member", datetime(2026, 10, 31, 23, 30, tzinfo=shanghai)),  # 15:30 UTC: still October in B1
               ("b1_secretary", datetime(2026, 11, 2, 9, tzinfo=shanghai)),
               ("b1_secretary", datetime(2026, 11, 18, 9, tzinfo=shanghai)),
               ("b2_member", datetime(2026, 11, 5, 9, tzinfo=shanghai))]  # B2: not B1's
    for i, (key, when) in enumerate(awarded):
        services.award("meeting_attended", member=members[key], source_key=f"fig-{i}", occurred_at=when)
    db.session.commit()
    with time_machine.travel(datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc), tick=False):
        campaign = make_campaign(db, tree, start=datetime(2026, 11, 1, tzinfo=timezone.utc))
        for key, passed in (("b1_member", 3), ("b2_member", 1)):
            db.session.add(ChallengeStanding(challenge_id=campaign.id, member_id=members[key].id,
                                             organisation_id=members[key].organisation_id, levels_passed=passed))
        db.session.commit()
        login(client, "secretary", PASSWORD)
        html = client.get("/").get_data(as_text=True)

    assert "一支部概况" in html
    points = figure(html, "points_month")
    # November: two meetings of 5 and the secretary's daily login point of today; October: one meeting.
    assert points["value"] == "11分" and points["note"] == "比上月多 6 分"
    assert points["chart"] == 6  # June to November: the May entry falls outside
    import re

    bars = re.findall(r"<title>(\d+月): (\d+)分</title>", html)
    assert bars == [("6月", "0"), ("7月", "0"), ("8月", "0"), ("9月", "5"), ("10月", "5"), ("11月", "11")]
    hours = figure(html, "hours_on_track")
    assert hours["value"] == "0%" and hours["note"] == "2026年第4季度：3 名党员中 0 名达标"
    played = figure(html, f"campaign_{campaign.id}")
    assert played["value"] == "33%" and played["note"] == "3 人中 1 人参与，1 人全部通关"
    assert played["label"] == "参与《学党章 守纪律 答题闯关》"


def test_a_city_sized_scope_gets_no_figures_on_its_home(client, db, tree, rules, monkeypatch):
    from learning.web import figures

    monkeypatch.setattr(figures, "LIMIT", 2)  # B1 has 3 active members
    login(client, "secretary", PASSWORD)
    html = client.get("/").get_data(as_text=True)
    assert 'id="figures"' not in html and "待办事项" in html
