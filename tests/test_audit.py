"""The audit log: every audited action writes exactly one row, and the organisation above reads its
subtree's log with filters."""
from datetime import date

import sqlalchemy as sa

from learning.accounts import administration
from learning.accounts.models import Account, Role
from learning.audit.models import AuditEntry
from learning.audit.services import ACTIONS
from learning.orgs.models import Member, Organisation
from learning.points import disputes, manual, services
from learning.points.models import LedgerEntry
from learning.points.snapshots import close_period
from tests.conftest import csrf_token, login
from tests.factories import PASSWORD


def test_every_audited_action_writes_one_row(app, client, db, tree, rules):
    account = lambda key: db.session.get(Account, tree["accounts"][key])  # noqa: E731
    member = lambda key: db.session.get(Member, tree["members"][key])  # noqa: E731
    seen = []

    def expect(action, do):
        before = db.session.scalar(sa.select(sa.func.max(AuditEntry.id))) or 0
        do()
        db.session.commit()
        rows = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.id > before)).all()
        assert [r.action for r in rows] == [action], action
        seen.append(action)
        return rows[0]

    orgadmin, superadmin = account("orgadmin"), account("superadmin")
    target = account("member")
    b2 = db.session.get(Organisation, tree["orgs"]["B2"])
    grant = expect("role.granted", lambda: administration.add_role(orgadmin, target, Role.REVIEWER, b2))
    assert grant.detail == {"role": "reviewer", "organisation_id": b2.id} and grant.actor_name == "冯管理"
    reviewer_grant = next(g for g in target.grants if g.role == Role.REVIEWER)
    expect("role.revoked", lambda: administration.revoke_role(orgadmin, target, reviewer_grant.id))
    expect("account.password_reset", lambda: administration.reset_password(orgadmin, target))
    expect("account.signed_out", lambda: administration.sign_out(orgadmin, target))
    expect("account.locked", lambda: administration.set_locked(orgadmin, target, True))
    expect("account.unlocked", lambda: administration.set_locked(orgadmin, target, False))
    from learning.accounts.services import create_account

    opened = expect("account.created", lambda: create_account("M-B2-1", "Temp-pass-2026", member=member("b2_member"),
                                                              created_by=orgadmin, must_change_password=True))
    assert opened.detail == {"role": "member"} and opened.organisation_id == tree["orgs"]["B2"]

    given = {}
    expect("points.manual_given", lambda: given.update(small=manual.give(
        actor=orgadmin, member=member("b1_member"), points=3, reason="小额表扬")))
    expect("points.manual_requested", lambda: given.update(big=manual.give(
        actor=orgadmin, member=member("b1_member"), points=15, reason="大额表扬")))
    given["other"] = manual.give(actor=orgadmin, member=member("g1_member"), points=15, reason="大额表扬")
    db.session.commit()
    expect("points.manual_approved", lambda: manual.decide(given["big"], reviewer=superadmin, approve=True))
    expect("points.manual_refused", lambda: manual.decide(given["other"], reviewer=superadmin, approve=False,
                                                          note="材料不全"))

    entry = db.session.get(LedgerEntry, given["small"].entry_id)
    first = disputes.open_dispute(entry, member("b1_member"), "分数记错了")
    meeting = services.award("meeting_attended", member=member("b1_member"), source_key="m-audit").entry
    second = disputes.open_dispute(meeting, member("b1_member"), "我没有参会")
    db.session.commit()
    expect("points.dispute_rejected", lambda: disputes.resolve_dispute(first, actor=superadmin, accept=False,
                                                                        resolution="记录无误"))
    expect("points.dispute_accepted", lambda: disputes.resolve_dispute(second, actor=orgadmin, accept=True,
                                                                        resolution="确实缺席"))
    rule = services.rule_by_code("daily_quiz")
    expect("points.rule_changed", lambda: services.change_setting(
        rule, actor=orgadmin, organisation=db.session.get(Organisation, tree["orgs"]["GB"]), points=3))
    expect("points.period_closed", lambda: close_period("2026Q2", actor=superadmin, today=date(2026, 7, 2)))
    from learning.evaluation import yearly

    close_period("2025", actor=superadmin, today=date(2026, 1, 2))
    db.session.commit()
    confirmed = expect("evaluation.year_confirmed", lambda: yearly.confirm(
        superadmin, db.session.get(Organisation, tree["orgs"]["C"]), 2025))
    assert confirmed.target == "year:2025" and confirmed.detail["branches"] == 3

    from datetime import datetime, timedelta, timezone

    from learning.orglife import activities as orglife, checkin, devices
    from learning.orgs.scoping import Permission, scope_for

    b1 = db.session.get(Organisation, tree["orgs"]["B1"])
    now = datetime(2026, 11, 18, 2, tzinfo=timezone.utc)  # under way then; marked by hand any time after
    activity = orglife.create_activity(b1, actor=orgadmin, kind="branch_assembly", title="支部党员大会",
                                       starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=1))
    db.session.commit()
    marked = expect("orglife.attendance_marked", lambda: checkin.mark_by_hand(
        activity, member("b1_member"), actor=orgadmin, reason="未带手机"))
    assert marked.detail == {"activity": activity.id, "title": "支部党员大会", "reason": "未带手机"}
    reader = {}
    expect("orglife.device_registered", lambda: reader.update(d=devices.register_device(b1, "活动室", actor=orgadmin)))
    expect("orglife.device_revoked", lambda: devices.revoke_device(reader["d"], actor=orgadmin))
    cards = expect("orglife.cards_imported", lambda: devices.import_cards(
        "C-1,M-B1-1", scope_for(orgadmin).org_clause(Permission.MANAGE_ORGS), actor=orgadmin, organisation_id=b1.id))
    assert cards.detail == {"cards": 1, "swipes": 0}

    login(client, "orgadmin", PASSWORD)
    exported = expect("data.exported", lambda: client.get(
        f"/admin/points/export?org={tree['orgs']['GB']}&period=all&format=csv"))
    assert exported.address == "127.0.0.1" and exported.target == "rankings:all"
    assert sorted(seen) == sorted(ACTIONS)


def test_the_log_page_shows_the_subtree_with_filters(app, client, db, tree, rules):
    orgadmin = db.session.get(Account, tree["accounts"]["orgadmin"])
    administration.reset_password(orgadmin, db.session.get(Account, tree["accounts"]["member"]))  # in B1 (GB)
    outside = db.session.get(Member, tree["members"]["bx_member"])
    manual.give(actor=db.session.get(Account, tree["accounts"]["superadmin"]), member=outside, points=2, reason="外部")
    close_period("2026Q2", actor=db.session.get(Account, tree["accounts"]["superadmin"]), today=date(2026, 7, 2))
    db.session.commit()

    login(client, "orgadmin", PASSWORD)
    page = client.get("/admin/audit/").get_data(as_text=True)
    rows = page.split("<tbody>")[1]
    assert "密码已重置" in rows and "<code>account:1</code>" in rows
    assert f"member:{outside.id}" not in rows and "period:2026Q2" not in rows  # another committee; site-wide
    assert "<code>account:1</code>" not in client.get("/admin/audit/?action=points.manual_given").get_data(as_text=True)
    assert "没有符合筛选条件的记录" in client.get("/admin/audit/?since=2099-01-01").get_data(as_text=True)

    root = app.test_client()
    login(root, "root", PASSWORD)
    everything = root.get("/admin/audit/").get_data(as_text=True)
    assert f"member:{outside.id}" in everything and "period:2026Q2" in everything and "<code>account:1</code>" in everything

    secretary = app.test_client()
    login(secretary, "secretary", PASSWORD)
    assert secretary.get("/admin/audit/").status_code == 403
    token = csrf_token(client, "/account")
    assert client.post("/admin/audit/", data={"csrf_token": token}).status_code == 405  # read-only
