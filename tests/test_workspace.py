"""The administrator's home leads with what needs doing; one click reminds the members behind on hours."""
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from learning.accounts.models import Account
from learning.notifications.models import Notification
from learning.orglife import activities
from learning.orgs.models import Member, Organisation
from learning.points import disputes, services
from tests.conftest import csrf_token, login
from tests.factories import PASSWORD


def todo_counts(html: str) -> dict:
    import re

    return {key: int(count) for key, count in re.findall(
        r'id="todo-([a-z_]+)"[^>]*>\s*<a [^>]*><span class="todo-count">(\d+)</span>', html)}


def test_the_secretary_home_leads_with_what_needs_doing(client, db, tree, rules):
    member = db.session.get(Member, tree["members"]["b1_member"])
    entry = services.award("meeting_attended", member=member, source_key="m-1").entry
    disputes.open_dispute(entry, member, "我那天出差，没有参会")
    outside = db.session.get(Member, tree["members"]["b2_member"])  # B2: not the B1 secretary's
    disputes.open_dispute(services.award("meeting_attended", member=outside, source_key="m-2").entry, outside, "这条记录记错了，请核实")
    now = datetime.now(timezone.utc)
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
