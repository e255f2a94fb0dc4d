"""The 台账, worked by hand: held vs required per kind, missed periods, attendance rate, Excel; and the pages."""
from datetime import date, datetime, timezone

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from learning.accounts.models import Account
from learning.orglife import activities, checkin, records
from learning.orglife.models import ActivityKind
from learning.orgs.models import Member, Organisation
from tests.conftest import login
from tests.factories import PASSWORD


def held(db, tree, org, kind, day, present, title=None):
    """An activity of ``org`` at 19:00 UTC on ``day`` (the next morning in Shanghai is the same month here),
    with ``present`` marked by the org admin."""
    admin = db.session.get(Account, tree["accounts"]["orgadmin"])
    start = datetime(day.year, day.month, day.day, 2, 0, tzinfo=timezone.utc)  # 10:00 in Shanghai
    item = activities.create_activity(db.session.get(Organisation, tree["orgs"][org]), actor=admin, kind=kind,
                                      title=title or f"{kind} {day}", starts_at=start, ends_at=start.replace(hour=4))
    for key in present:
        checkin.mark_by_hand(item, db.session.get(Member, tree["members"][key]), actor=admin, reason="补录")
    db.session.commit()
    return item


@pytest.fixture
def quarter(db, tree, rules):
    """The fourth quarter of 2026 as seen on 5 January 2027 (the clock is moved there for the test)."""
    import time_machine

    traveller = time_machine.travel(datetime(2027, 1, 5, 4, 0, tzinfo=timezone.utc), tick=True)
    traveller.start()
    held(db, tree, "B1", "branch_assembly", date(2026, 10, 15), ["b1_member"])
    held(db, tree, "B1", "committee_meeting", date(2026, 10, 8), ["b1_secretary"])
    held(db, tree, "B1", "committee_meeting", date(2026, 11, 8), ["b1_secretary"])
    held(db, tree, "G1", "group_meeting", date(2026, 11, 20), ["g1_member"])
    held(db, tree, "B1", "theme_day", date(2026, 12, 1), [])  # nobody came: not held
    held(db, tree, "B2", "volunteer_service", date(2026, 11, 3), ["b2_member"])
    yield
    traveller.stop()


def test_held_against_required_worked_by_hand(db, tree, quarter):
    gb = db.session.get(Organisation, tree["orgs"]["GB"])
    rows = records.overview(gb, "2026Q4", today=date(2027, 1, 5))
    by_name = {r.organisation.name: r for r in rows}
    assert list(by_name) == ["一支部", "二支部"]  # both behind; tree order
    b1 = by_name["一支部"]
    k = b1.kinds
    assert (len(k[ActivityKind.BRANCH_ASSEMBLY].held_in), k[ActivityKind.BRANCH_ASSEMBLY].required) == (1, 1)
    assert sorted(k[ActivityKind.COMMITTEE_MEETING].held_in) == ["2026-10", "2026-11"]
    assert k[ActivityKind.COMMITTEE_MEETING].missed == ["2026-12"]
    assert k[ActivityKind.GROUP_MEETING].missed == ["2026-10", "2026-12"]  # G1's meeting counts for B1
    assert k[ActivityKind.PARTY_LECTURE].missed == ["2026Q4"]
    assert k[ActivityKind.THEME_DAY].missed == ["2026-10", "2026-11", "2026-12"]  # December's had nobody
    # Expected: 3 + 3 + 3 (B1's) + 1 (G1's) + 3 (theme day) = 13; present 1 + 1 + 1 + 1 = 4.
    assert (b1.expected, b1.present) == (13, 4)
    assert by_name["二支部"].volunteer_hours == 2.0 and by_name["二支部"].kinds[ActivityKind.BRANCH_ASSEMBLY].missed == ["2026Q4"]
    assert by_name["二支部"].kinds[ActivityKind.GROUP_MEETING].required == 0  # B2 has no party groups
    # Mid-quarter nothing of December is due yet, and the quarter's meeting not before the quarter ends.
    mid = {r.organisation.name: r for r in records.overview(gb, "2026Q4", today=date(2026, 12, 10))}
    assert mid["一支部"].kinds[ActivityKind.COMMITTEE_MEETING].missed == []
    assert mid["一支部"].kinds[ActivityKind.PARTY_LECTURE].missed == []
    assert mid["一支部"].kinds[ActivityKind.GROUP_MEETING].missed == ["2026-10"]


def test_branch_points_for_holding_on_schedule_once_per_period(db, tree, quarter):
    from learning.points.models import LedgerEntry

    keys = sorted(db.session.scalars(select(LedgerEntry.source_key).where(
        LedgerEntry.member_id.is_(None), LedgerEntry.organisation_id == tree["orgs"]["B1"])))
    assert keys == ["schedule:branch_assembly:2026Q4", "schedule:committee_meeting:2026-10",
                    "schedule:committee_meeting:2026-11", "schedule:group_meeting:2026-11"]


def test_the_committee_pages_and_excel(app, client, db, tree, quarter):
    login(client, "orgadmin", PASSWORD)
    page = client.get(f"/admin/orglife/records/?org={tree['orgs']['GB']}&period=2026Q4")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "组织生活台账" in html and "一支部" in html and "二支部" in html
    assert "2 个支部中有 2 个未按期开展" in html
    drill = client.get(f"/admin/orglife/records/{tree['orgs']['B1']}?period=2026Q4").get_data(as_text=True)
    assert "committee_meeting 2026-10-08" in drill and "1 / 3" in drill
    xlsx = client.get(f"/admin/orglife/records.xlsx?org={tree['orgs']['GB']}&period=2026Q4")
    assert xlsx.status_code == 200
    import io

    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[2][0] == "一支部" and rows[3][0] == "二支部"
    assert "1/1" in rows[2] and "2/3" in rows[2]  # general meeting 1 of 1, committee meetings 2 of 3
    # B2's secretary sees B2 only; a member no records at all.
    client = app.test_client()
    login(client, "secretary2", PASSWORD)
    assert client.get(f"/admin/orglife/records/{tree['orgs']['B1']}?period=2026Q4").status_code == 404
    own = client.get("/admin/orglife/records/?period=2026Q4").get_data(as_text=True)
    assert "二支部" in own and "一支部" not in own


@pytest.mark.parametrize("user, path, status", [
    ("member", "/activities/", 200), ("member", "/notices/", 200), ("member", "/admin/orglife/activities/", 403),
    ("secretary", "/admin/orglife/activities/new", 200), ("reviewer", "/admin/orglife/activities/new", 403),
    ("reviewer", "/admin/orglife/records/", 200), ("secretary", "/admin/orglife/devices/", 403),
    ("orgadmin", "/admin/orglife/devices/", 200), ("secretary", "/admin/orglife/notices/new", 200)])
def test_who_opens_which_page(client, tree, rules, user, path, status):
    login(client, {"member": "member"}.get(user, user), PASSWORD)
    assert client.get(path).status_code == status


def test_the_activity_form_answers_bad_input_with_field_errors(client, db, tree, rules):
    from sqlalchemy import func

    from learning.orglife.models import Activity
    from tests.conftest import csrf_token

    login(client, "secretary", PASSWORD)
    token = csrf_token(client, "/admin/orglife/activities/new")
    base = {"csrf_token": token, "organisation": tree["orgs"]["B1"], "kind": "theme_day", "title": "主题党日",
            "starts_at": "2026-12-01T14:30", "ends_at": "2026-12-01T16:30"}
    for change, message in (({"ends_at": "2026-12-01T14:00"}, "结束时间须晚于开始时间"),
                            ({"starts_at": "0001-01-01T00:00"}, "2000"), ({"title": ""}, "请填写活动名称"),
                            ({"organisation": tree["orgs"]["B2"]}, "")):
        page = client.post("/admin/orglife/activities/new", data={**base, **change})
        assert page.status_code == 200 and message in page.get_data(as_text=True), change
    assert db.session.scalar(select(func.count()).select_from(Activity)) == 0
    created = client.post("/admin/orglife/activities/new", data=base)
    assert created.status_code == 302
    item = db.session.scalar(select(Activity))
    assert item.title == "主题党日" and item.starts_at.isoformat() == "2026-12-01T06:30:00+00:00"  # 14:30 in Shanghai


def test_the_member_page_shows_their_organisational_life(client, db, tree, meeting):
    from learning.orglife import activities as orglife

    item = db.session.get(orglife.Activity, meeting)
    secretary = db.session.get(Account, tree["accounts"]["secretary"])
    checkin.mark_by_hand(item, db.session.get(Member, tree["members"]["b1_member"]), actor=secretary, reason="补录")
    db.session.commit()
    login(client, "secretary", PASSWORD)
    page = client.get(f"/admin/members/{tree['members']['b1_member']}").get_data(as_text=True)
    panel = page[page.index('id="member-orglife"'):]
    panel = panel[:panel.index("</section>")]
    assert "十一月支部党员大会" in panel and "1 / 1" in panel and "实到" in panel
