"""Volunteer service as hours (志愿服务时长): recorded once with their source, never capped, totalled per
member and branch for the year and shown on 考核评议 and the member's page; 按期换届 from registry events.
Worked by hand on the small tree, on the fixed clock of conftest (18 November 2026)."""
import io
import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from learning.accounts.models import Account
from learning.orglife import activities, checkin, volunteer
from learning.orglife.models import VolunteerService, VolunteerSource
from learning.orgs.models import Member, Organisation
from learning.points import services as points
from learning.points.models import LedgerEntry
from learning.registry.services import create_connection, sign
from tests.conftest import login
from tests.orglife.conftest import NOW
from tests.factories import PASSWORD

SHANGHAI = timezone(timedelta(hours=8))


def post_events(client, connection, events):
    body = json.dumps({"events": events}, ensure_ascii=False).encode()
    stamp = str(int(NOW.timestamp()))  # the frozen clock of tests/orglife/conftest.py
    return client.post("/registry/v1/events", data=body, content_type="application/json",
                       headers={"X-Registry-Timestamp": stamp, "X-Registry-Signature": sign(connection.secret, stamp, body)})


def served(event_id, member, hours, day, title="社区服务"):
    return {"id": event_id, "type": "volunteer.service", "occurred_at": f"{day}T09:00:00+08:00",
            "data": {"member": member, "hours": hours, "date": day, "title": title}}


@pytest.fixture
def connection(db, tree, rules):
    issued = create_connection("党员信息库")
    db.session.commit()
    return issued


@pytest.fixture
def service_day(db, tree, rules):
    """B1's 社区义诊 on 15 November, 09:00–12:30 in Shanghai: 王党员 checked in (3.5 h by default), 赵小组 (G1) 1 h."""
    b1 = db.session.get(Organisation, tree["orgs"]["B1"])
    secretary = db.session.get(Account, tree["accounts"]["secretary"])
    item = activities.create_activity(b1, actor=secretary, kind="volunteer_service", title="社区义诊",
                                      starts_at=datetime(2026, 11, 15, 9, tzinfo=SHANGHAI),
                                      ends_at=datetime(2026, 11, 15, 12, 30, tzinfo=SHANGHAI))
    db.session.commit()
    checkin.mark_by_hand(item, db.session.get(Member, tree["members"]["b1_member"]), actor=secretary, reason="现场登记")
    checkin.mark_by_hand(item, db.session.get(Member, tree["members"]["g1_member"]), actor=secretary, reason="现场登记",
                         hours=Decimal(1))
    db.session.commit()
    return item


def test_an_attendance_records_its_hours_once_with_its_source(db, tree, service_day):
    rows = db.session.scalars(select(VolunteerService).order_by(VolunteerService.member_id)).all()
    assert [(r.member_id, r.hours, r.served_on, r.source, r.activity_id, r.title) for r in rows] == [
        (tree["members"]["b1_member"], Decimal("3.5"), date(2026, 11, 15), VolunteerSource.ACTIVITY, service_day.id, "社区义诊"),
        (tree["members"]["g1_member"], Decimal(1), date(2026, 11, 15), VolunteerSource.ACTIVITY, service_day.id, "社区义诊")]
    assert rows[1].organisation_id == tree["orgs"]["G1"]  # where they were: the group, counted with its branch
    code, _ = checkin.current_code(service_day)  # checked in again by code: the same attendance, no second row
    checkin.record(service_day, db.session.get(Member, tree["members"]["b1_member"]), checkin.CheckInMethod.CODE)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(VolunteerService)) == 2


def test_registry_hours_are_kept_whole_when_the_points_are_capped(client, db, tree, connection):
    """Three days of 8 hours in November: 48 points asked, the monthly cap pays 10; the hours stay 24."""
    events = [served(f"v-{i}", "M-B2-1", 8, f"2026-11-0{i}") for i in (2, 3, 4)]
    assert [r["status"] for r in post_events(client, connection, events).get_json()["results"]] == ["applied"] * 3
    assert points.ledger_sum(tree["members"]["b2_member"], "all") == 10
    assert volunteer.member_totals([tree["members"]["b2_member"]], 2026) == {tree["members"]["b2_member"]: Decimal(24)}
    again = post_events(client, connection, events[:1]).get_json()["results"]  # redelivered: nothing changes
    assert again[0]["status"] == "duplicate"
    rows = db.session.scalars(select(VolunteerService)).all()
    assert len(rows) == 3 and {r.source for r in rows} == {VolunteerSource.REGISTRY}
    assert rows[0].source_key == f"registry:{connection.connection.id}:v-2"


def test_years_follow_the_local_day_and_branches_keep_their_members_hours(client, db, tree, connection, service_day):
    post_events(client, connection, [served("late", "M-B1-1", 2, "2026-12-31"), served("next", "M-B1-1", 5, "2027-01-01"),
                                     served("b2", "M-B2-1", 1.5, "2026-06-01")])
    ids = [tree["members"][k] for k in ("b1_member", "g1_member", "b2_member", "b1_secretary")]
    assert volunteer.member_totals(ids, 2026) == {ids[0]: Decimal("5.5"), ids[1]: Decimal(1), ids[2]: Decimal("1.5")}
    assert volunteer.member_totals(ids, 2027) == {ids[0]: Decimal(5)}
    gb = db.session.get(Organisation, tree["orgs"]["GB"])
    assert volunteer.branch_totals(gb, 2026) == {tree["orgs"]["B1"]: Decimal("6.5"), tree["orgs"]["B2"]: Decimal("1.5")}
    # 王党员 moves to B2: B1's 2026 keeps the hours served there.
    mover = db.session.get(Member, ids[0])
    mover.organisation_id = tree["orgs"]["B2"]
    db.session.commit()
    assert volunteer.branch_totals(gb, 2026)[tree["orgs"]["B1"]] == Decimal("6.5")


def test_the_appraisal_shows_the_years_hours_for_members_and_branches(client, db, tree, service_day):
    login(client, "orgadmin", PASSWORD)
    html = client.get(f"/admin/points/appraisal?org={tree['orgs']['GB']}&period=2026Q4").get_data(as_text=True)
    assert "2026 年志愿服务（小时）" in html
    import re

    rows = {m.group(1): m.group(2) for m in re.finditer(
        r"<tr><td class=\"num\">\d+</td><td>(.*?)</td>.*?<td class=\"num\">([\d.]*)</td>\s*<td>(?:<span class=\"grade|<span class=\"muted)",
        html, re.S)}
    assert rows["王党员"] == "3.5" and rows["赵小组"] == "1" and rows["钱二支"] == "0"
    stars = re.search(r'<table class="table" id="branch-stars">(.*?)</table>', html, re.S).group(1)
    assert re.search(r"<td>一支部</td><td class=\"num\">[\d.]+</td>\s*<td class=\"num\">4.5</td>", stars)
    sheet = load_workbook(io.BytesIO(client.get(
        f"/admin/points/export?org={tree['orgs']['GB']}&period=2026Q4&format=xlsx").data)).worksheets[0]
    table = [[c.value for c in row] for row in sheet.iter_rows()]
    at = next(i for i, row in enumerate(table) if "本年度志愿服务时长（小时）" in row)
    column = table[at].index("本年度志愿服务时长（小时）")
    by_name = {row[1]: row[column] for row in table[at + 1:] if row[1]}
    assert by_name["王党员"] == 3.5 and by_name["赵小组"] == 1 and by_name["钱二支"] == 0
    from tests.api.test_api import token_for

    api = client.get(f"/api/v1/appraisal?org={tree['orgs']['GB']}&period=2026Q4",
                     headers={"Authorization": f"Bearer {token_for(client, 'orgadmin')}"})
    assert api.status_code == 200, api.get_data(as_text=True)
    assert {i["name"]: i["volunteer_hours"] for i in api.get_json()["items"]} == {
        "王党员": 3.5, "赵小组": 1.0, "钱二支": 0.0, "李书记": 0.0, "孙书记": 0.0}


def test_the_member_sees_their_years_service_with_its_source(client, db, tree, connection, service_day):
    post_events(client, connection, [served("v-1", "M-B1-1", 2, "2026-11-16", title="防汛值守")])
    login(client, "member", PASSWORD)
    html = client.get("/activities/").get_data(as_text=True)
    assert "我的 2026 年志愿服务" in html and 'id="volunteer-total">5.5<' in html
    assert "防汛值守 · 2 小时" in html and "党员信息库同步" in html and "活动签到" in html


@pytest.mark.parametrize("held, due, paid", [("2026-11-10", "2026-11-30", 10), ("2026-11-30", "2026-11-30", 10),
                                             ("2026-12-05", "2026-11-30", 0)])
def test_an_election_on_time_pays_the_branch_once(client, db, tree, connection, held, due, paid):
    event = {"id": "e-1", "type": "election.held", "occurred_at": f"{held}T09:00:00+08:00",
             "data": {"organisation": "B1", "date": held, "due": due}}
    results = post_events(client, connection, [event, {**event, "id": "e-1-resent"}]).get_json()["results"]
    assert results[0]["status"] == "applied"
    entries = db.session.scalars(select(LedgerEntry).where(LedgerEntry.organisation_id == tree["orgs"]["B1"],
                                                           LedgerEntry.member_id.is_(None))).all()
    assert sum(e.points for e in entries) == paid and len(entries) == (1 if paid else 0)
    if not paid:
        assert results[0]["detail"] == "held 5 days after the term ended: no points"
