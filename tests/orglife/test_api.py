"""The organisational-life API: activities, the code, check-ins, signed card swipes, notices; scope for every role."""
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from learning.accounts.models import Account
from learning.accounts.services import issue_token
from learning.orglife import checkin, devices
from learning.orglife.models import Activity, Attendance, Swipe
from learning.orgs.models import Member, Organisation
from learning.points import services as points
from tests.orglife.conftest import NOW

PROBLEM = "application/problem+json"


def bearer(db, tree, key):
    token = issue_token(db.session.get(Account, tree["accounts"][key])).token
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def when(minutes: int) -> str:
    return (NOW + timedelta(minutes=minutes)).isoformat()


def stamp(offset: int = 0) -> int:
    """A reader's timestamp: Unix seconds of the tests' clock, moved by ``offset``."""
    return int(NOW.timestamp()) + offset


def test_a_secretary_creates_an_activity_for_their_branch_only(client, db, tree, rules):
    body = {"kind": "theme_day", "title": "主题党日：重温入党誓词", "organisation_id": tree["orgs"]["B1"],
            "starts_at": when(-5), "ends_at": when(60), "place": "三楼会议室", "publish_notice": True}
    created = client.post("/api/v1/activities", json=body, headers=bearer(db, tree, "secretary"))
    assert created.status_code == 201, created.get_data(as_text=True)
    data = created.get_json()
    assert data["title"] == "主题党日：重温入党誓词" and data["points_rule"] == "theme_party_day" and data["expected"] == 3
    # A notice went to the three expected members.
    member_notices = client.get("/api/v1/notices", headers=bearer(db, tree, "member")).get_json()
    assert [n["title"] for n in member_notices["items"]] == ["主题党日：重温入党誓词"]
    assert member_notices["items"][0]["activity_id"] == data["id"] and member_notices["items"][0]["read_at"] is None
    # Someone else's branch, a plain member, a reviewer: 404, nothing written.
    for key, org in (("secretary", "B2"), ("member", "B1"), ("reviewer", "B3")):
        refused = client.post("/api/v1/activities", json={**body, "organisation_id": tree["orgs"][org]},
                              headers=bearer(db, tree, key))
        assert refused.status_code == 404 and refused.mimetype == PROBLEM, key
    assert db.session.scalar(select(func.count()).select_from(Activity)) == 1


@pytest.mark.parametrize("change, field", [
    ({"ends_at": when(-30)}, "ends_at"), ({"kind": "party"}, "kind"), ({"title": ""}, "title"),
    ({"points_rule": "manual_bonus"}, "points_rule"), ({"starts_at": "2026-11-05T10:00:00"}, "starts_at"),
    ({"organisation_id": 2**31}, "organisation_id"), ({"title": "会议\u0000"}, "title")])
def test_bad_activity_input_gets_field_errors(client, db, tree, rules, change, field):
    body = {"kind": "theme_day", "title": "主题党日", "organisation_id": tree["orgs"]["B1"],
            "starts_at": when(0), "ends_at": when(60), **change}
    response = client.post("/api/v1/activities", json=body, headers=bearer(db, tree, "secretary"))
    assert response.status_code in (400, 422) and response.mimetype == PROBLEM
    if response.status_code == 422:
        assert field in response.get_json()["errors"], response.get_json()
    assert db.session.scalar(select(func.count()).select_from(Activity)) == 0


def test_the_code_is_for_the_organiser_and_checks_a_member_in_once(client, db, tree, meeting):
    code_url = f"/api/v1/activities/{meeting}/check-in-code"
    shown = client.get(code_url, headers=bearer(db, tree, "secretary"))
    assert shown.status_code == 200 and shown.get_json()["open"] is True
    code = shown.get_json()["code"]
    assert code == checkin.current_code(db.session.get(Activity, meeting))[0]
    assert client.get(code_url, headers=bearer(db, tree, "member")).status_code == 403  # sees the activity, not the code
    assert client.get(code_url, headers=bearer(db, tree, "secretary2")).status_code == 404  # B2: not theirs
    url = f"/api/v1/activities/{meeting}/check-ins"
    first = client.post(url, json={"code": code}, headers=bearer(db, tree, "member"))
    assert first.status_code == 201 and first.get_json()["created"] is True and first.get_json()["method"] == "code"
    again = client.post(url, json={"code": code}, headers=bearer(db, tree, "member"))
    assert again.status_code == 200 and again.get_json()["created"] is False
    wrong = client.post(url, json={"code": f"{(int(code) + 1) % 10**6:06d}"}, headers=bearer(db, tree, "g1_member"))
    assert wrong.status_code == 422 and "code" in wrong.get_json()["errors"]
    outsider = client.post(url, json={"code": code}, headers=bearer(db, tree, "secretary2"))
    assert outsider.status_code == 404
    assert client.post(url, json={"code": "12ab56"}, headers=bearer(db, tree, "g1_member")).status_code == 422
    assert points.ledger_sum(tree["members"]["b1_member"], "all") == 5
    listed = client.get("/api/v1/activities", headers=bearer(db, tree, "member")).get_json()["items"]
    assert [(a["id"], a["checked_in"], a["present"], a["expected"]) for a in listed] == [(meeting, True, 1, 3)]


@pytest.fixture
def reader(db, tree, meeting):
    b1 = db.session.get(Organisation, tree["orgs"]["B1"])
    device = devices.register_device(b1, "一支部活动室", actor=None)
    db.session.commit()
    return device.id, device.secret


def swipe(client, reader, swipes, *, timestamp=None, secret=None, body=None):
    device_id, key = reader
    body = body if body is not None else json.dumps({"swipes": swipes}).encode()
    timestamp = str(stamp() if timestamp is None else timestamp)
    return client.post("/api/v1/devices/check-ins", data=body, content_type="application/json", headers={
        "X-Device-Id": str(device_id), "X-Device-Timestamp": timestamp,
        "X-Device-Signature": devices.sign(secret or key, timestamp, body)})


def test_card_swipes_check_in_once_and_unknown_cards_are_kept_then_applied(client, db, tree, reader, meeting):
    member = db.session.get(Member, tree["members"]["b1_member"])
    devices.assign_card(member, "E-0001")
    db.session.commit()
    at = when(-1)
    first = swipe(client, reader, [{"card": "E-0001", "swiped_at": at}, {"card": "E-9999", "swiped_at": at}])
    assert first.status_code == 200, first.get_data(as_text=True)
    assert [(r["card"], r["status"], r["activity_id"]) for r in first.get_json()["results"]] == [
        ("E-0001", "checked_in", meeting), ("E-9999", "unknown_card", None)]
    replay = swipe(client, reader, [{"card": "E-0001", "swiped_at": at}])  # the same post again
    assert replay.get_json()["results"][0]["status"] == "checked_in"
    second_swipe = swipe(client, reader, [{"card": "E-0001", "swiped_at": when(0)}])
    assert second_swipe.get_json()["results"][0]["status"] == "already"
    assert db.session.scalar(select(func.count()).select_from(Swipe)) == 3
    assert points.ledger_sum(member.id, "all") == 5
    # The unknown card is imported later: its kept swipe checks the member in.
    from learning.orgs.scoping import Permission, scope_for

    admin = db.session.get(Account, tree["accounts"]["orgadmin"])
    report = devices.import_cards("卡号,党员\nE-9999,M-G1-1\n", scope_for(admin).org_clause(Permission.MANAGE_ORGS),
                                  actor=admin, organisation_id=tree["orgs"]["GB"])
    db.session.commit()
    assert (report.assigned, report.applied_swipes, report.problems) == (1, 1, [])
    assert db.session.get(Attendance, (meeting, tree["members"]["g1_member"])).method.value == "card"


@pytest.mark.parametrize("case", ["forged", "expired", "future", "no_headers", "tampered", "revoked", "unknown_device"])
def test_bad_reader_posts_are_refused_and_store_nothing(client, db, tree, reader, case):
    body = json.dumps({"swipes": [{"card": "E-0001", "swiped_at": when(0)}]}).encode()
    if case == "forged":
        response = swipe(client, reader, None, body=body, secret="not-the-key")
    elif case == "expired":
        response = swipe(client, reader, None, body=body, timestamp=stamp(-301))
    elif case == "future":
        response = swipe(client, reader, None, body=body, timestamp=stamp(301))
    elif case == "no_headers":
        response = client.post("/api/v1/devices/check-ins", data=body, content_type="application/json")
    elif case == "tampered":
        device_id, key = reader
        ts = str(stamp())
        response = client.post("/api/v1/devices/check-ins", data=body.replace(b"0001", b"0002"),
                               content_type="application/json", headers={
                                   "X-Device-Id": str(device_id), "X-Device-Timestamp": ts,
                                   "X-Device-Signature": devices.sign(key, ts, body)})
    elif case == "revoked":
        devices.revoke_device(db.session.get(devices.Device, reader[0]), actor=None)
        db.session.commit()
        response = swipe(client, reader, None, body=body)
    else:
        response = swipe(client, (99999, reader[1]), None, body=body)
    assert response.status_code == 401 and response.mimetype == PROBLEM
    assert db.session.scalar(select(func.count()).select_from(Swipe)) == 0


def test_notice_read_receipts_and_one_reminder(client, db, tree, rules):
    from learning.notifications.models import Notification
    from learning.orglife import notices

    secretary = db.session.get(Account, tree["accounts"]["secretary"])
    notice = notices.publish(db.session.get(Organisation, tree["orgs"]["B1"]), actor=secretary, kind="study",
                             title="学习二十届四中全会精神", body="请于本周内学习。")
    db.session.commit()
    assert notices.receipts(notice) == (3, 0)
    listed = client.get("/api/v1/notices", headers=bearer(db, tree, "member")).get_json()["items"]
    assert [n["title"] for n in listed] == ["学习二十届四中全会精神"]
    read = client.post(f"/api/v1/notices/{notice.id}/read", headers=bearer(db, tree, "member"))
    assert read.status_code == 200 and read.get_json()["first_time"] is True
    assert client.post(f"/api/v1/notices/{notice.id}/read", headers=bearer(db, tree, "member")).get_json()["first_time"] is False
    assert client.post(f"/api/v1/notices/{notice.id}/read", headers=bearer(db, tree, "secretary2")).status_code == 404
    assert notices.receipts(db.session.get(type(notice), notice.id)) == (3, 1)
    # The message in 消息 was read with it.
    message = db.session.scalar(select(Notification).where(Notification.member_id == tree["members"]["b1_member"]))
    assert message.kind == "notice" and message.read_at is not None
    sent = notices.remind(db.session.get(type(notice), notice.id), actor=secretary)
    db.session.commit()
    assert sent == 2  # the two who have not read it
    with pytest.raises(notices.OrgLifeError):
        notices.remind(db.session.get(type(notice), notice.id), actor=secretary)
    reminded = set(db.session.scalars(select(Notification.member_id).where(Notification.kind == "notice_reminder")))
    assert reminded == {tree["members"]["b1_secretary"], tree["members"]["g1_member"]}


def test_the_api_is_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/api/v1/activities", "/api/v1/activities/{activity_id}/check-in-code",
                 "/api/v1/activities/{activity_id}/check-ins", "/api/v1/devices/check-ins", "/api/v1/notices",
                 "/api/v1/notices/{notice_id}/read"):
        assert path in paths, path
    assert "bearerAuth" in json.dumps(paths["/api/v1/activities"]["post"]["security"])




def test_a_room_of_members_on_one_address_all_check_in_but_one_account_cannot_guess(client, db, tree, meeting, now):
    """Check-in attempts are limited per account (10 a minute), not per address: a meeting room's phones
    share one Wi-Fi address."""
    from learning.orgs.services import create_member
    from learning.accounts.services import create_account
    from tests.factories import PASSWORD

    b1 = db.session.get(Organisation, tree["orgs"]["B1"])
    item = db.session.get(Activity, meeting)
    code = checkin.current_code(item)[0]
    headers = []
    for i in range(12):
        account = create_account(f"room{i}", PASSWORD, member=create_member(f"党员{i}", b1))
        db.session.commit()
        headers.append({"Authorization": f"Bearer {issue_token(account).token}"})
        db.session.commit()
    statuses = [client.post(f"/api/v1/activities/{meeting}/check-ins", json={"code": code}, headers=h).status_code
                for h in headers]
    assert statuses == [201] * 12  # all from 127.0.0.1
    wrong = f"{(int(code) + 500_000) % 10**6:06d}"
    guesser = bearer(db, tree, "g1_member")
    tries = [client.post(f"/api/v1/activities/{meeting}/check-ins", json={"code": wrong}, headers=guesser).status_code
             for _ in range(11)]
    assert tries[:10] == [422] * 10 and tries[10] == 429


@pytest.mark.parametrize("key, create, code, check_in", [
    ("member", 404, 403, 201), ("g1_member", 404, 403, 201), ("secretary", 201, 200, 201),
    ("secretary2", 404, 404, 404), ("reviewer", 404, 403, 404), ("orgadmin", 201, 200, 404),
    ("superadmin", 201, 200, 404)])
def test_what_each_role_may_do_with_b1s_activity(client, db, tree, meeting, key, create, code, check_in):
    """B1's meeting: who may create one like it, see its code, and check in (members of B1 and G1 only;
    the reviewer of the committee sees the activity but is not a member of B1; the superadmin has no member)."""
    headers = bearer(db, tree, key)
    body = {"kind": "committee_meeting", "title": "支委会", "organisation_id": tree["orgs"]["B1"],
            "starts_at": when(0), "ends_at": when(60)}
    assert client.post("/api/v1/activities", json=body, headers=headers).status_code == create
    assert client.get(f"/api/v1/activities/{meeting}/check-in-code", headers=headers).status_code == code
    current = checkin.current_code(db.session.get(Activity, meeting))[0]
    response = client.post(f"/api/v1/activities/{meeting}/check-ins", json={"code": current}, headers=headers)
    assert response.status_code == check_in, response.get_data(as_text=True)
