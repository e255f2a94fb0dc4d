"""Signed registry events: authentication, idempotency, partial failure, transfers, meetings, races."""
import json
import threading
import time

import pytest
from sqlalchemy import func, select

from learning.orgs.models import Member
from learning.points import services as points
from learning.points.models import LedgerEntry
from learning.registry.models import EventStatus, RegistryEvent
from learning.registry.services import create_connection, sign
from tests.conftest import at_once


@pytest.fixture
def connection(db, tree, rules):
    issued = create_connection("党员信息库")
    db.session.commit()
    return issued


def post(client, connection, events, *, timestamp=None, secret=None, body=None):
    body = body if body is not None else json.dumps({"events": events}, ensure_ascii=False).encode()
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = sign(secret or connection.secret, timestamp, body)
    return client.post("/registry/v1/events", data=body, content_type="application/json",
                       headers={"X-Registry-Timestamp": timestamp, "X-Registry-Signature": signature})


def meeting(event_id, attendees, org="B1", kind="branch_general_meeting", on_schedule=True, day="2026-11-05"):
    return {"id": event_id, "type": "meeting.held", "occurred_at": f"{day}T10:00:00+08:00",
            "data": {"organisation": org, "meeting_type": kind, "date": day, "title": "十一月支部党员大会",
                     "attendees": attendees, "on_schedule": on_schedule}}


def counts(db):
    return (db.session.scalar(select(func.count()).select_from(RegistryEvent)),
            db.session.scalar(select(func.count()).select_from(LedgerEntry)))


def test_a_meeting_awards_exactly_the_members_present(client, db, tree, connection):
    response = post(client, connection, [meeting("evt-1", ["M-B1-1", "M-G1-1"])])
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["results"] == [{"id": "evt-1", "status": "applied", "detail": "2 attendees, 10 points"}]
    for key, expected in (("b1_member", 5), ("g1_member", 5), ("b1_secretary", 0)):
        assert points.ledger_sum(tree["members"][key], "all") == expected
    org_entry = db.session.scalar(select(LedgerEntry).where(LedgerEntry.member_id.is_(None)))
    assert org_entry.organisation_id == tree["orgs"]["B1"] and org_entry.points == 5  # held on schedule
    entry = db.session.scalar(select(LedgerEntry).where(LedgerEntry.member_id == tree["members"]["b1_member"]))
    assert entry.actor_kind.value == "registry" and entry.title == "十一月支部党员大会"


def test_the_same_meeting_under_a_new_event_id_is_a_duplicate_and_pays_nothing(client, db, tree, connection):
    post(client, connection, [meeting("evt-1", ["M-B1-1", "M-G1-1"])])
    again = post(client, connection, [meeting("evt-1-resent", ["M-B1-1", "M-G1-1"])]).get_json()["results"]
    assert again[0]["id"] == "evt-1-resent" and again[0]["status"] == "duplicate"
    assert "recorded before" in again[0]["detail"]
    for key in ("b1_member", "g1_member"):
        assert points.ledger_sum(tree["members"][key], "all") == 5
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.member_id.is_(None))) == 1
    # A late attendee in a corrected delivery is added; the others are not paid again.
    corrected = post(client, connection, [meeting("evt-1-fix", ["M-B1-1", "M-G1-1", "M-B1-S"])]).get_json()["results"]
    assert corrected[0]["status"] == "applied" and corrected[0]["detail"] == "3 attendees, 5 points"
    assert [points.ledger_sum(tree["members"][k], "all") for k in ("b1_member", "g1_member", "b1_secretary")] == [5, 5, 5]
    # Another meeting of the same branch on another day is a meeting of its own.
    other = post(client, connection, [meeting("evt-2", ["M-B1-1"], day="2026-11-12")]).get_json()["results"]
    assert other[0]["status"] == "applied" and points.ledger_sum(tree["members"]["b1_member"], "all") == 10
    statuses = dict(db.session.execute(select(RegistryEvent.event_id, RegistryEvent.status)).all())
    assert statuses["evt-1-resent"] is EventStatus.DUPLICATE


@pytest.mark.parametrize("case", ["wrong_secret", "expired", "future", "no_headers", "tampered_body"])
def test_bad_signatures_are_refused_and_write_nothing(client, db, tree, connection, case):
    events = [meeting("evt-1", ["M-B1-1"])]
    if case == "wrong_secret":
        response = post(client, connection, events, secret="not-the-secret")
    elif case == "expired":
        response = post(client, connection, events, timestamp=int(time.time()) - 301)
    elif case == "future":
        response = post(client, connection, events, timestamp=int(time.time()) + 301)
    elif case == "no_headers":
        response = client.post("/registry/v1/events", json={"events": events})
    else:
        body = json.dumps({"events": events}).encode()
        timestamp = str(int(time.time()))
        tampered = body.replace(b"M-B1-1", b"M-B2-1")
        response = client.post("/registry/v1/events", data=tampered, content_type="application/json", headers={
            "X-Registry-Timestamp": timestamp, "X-Registry-Signature": sign(connection.secret, timestamp, body)})
    assert response.status_code == 401 and response.mimetype == "application/problem+json"
    assert counts(db) == (0, 0)


def test_a_replayed_batch_is_refused(client, db, tree, connection):
    body = json.dumps({"events": [meeting("evt-1", ["M-B1-1"])]}).encode()
    old = str(int(time.time()) - 600)  # captured ten minutes ago
    response = client.post("/registry/v1/events", data=body, content_type="application/json",
                           headers={"X-Registry-Timestamp": old, "X-Registry-Signature": sign(connection.secret, old, body)})
    assert response.status_code == 401
    assert counts(db) == (0, 0)


def test_a_redelivered_event_changes_nothing(client, db, tree, connection):
    assert post(client, connection, [meeting("evt-1", ["M-B1-1"])]).status_code == 200
    before = counts(db)
    again = post(client, connection, [meeting("evt-1", ["M-B1-1", "M-B1-S"])])
    assert again.status_code == 200
    assert again.get_json()["results"] == [{"id": "evt-1", "status": "duplicate", "detail": None}]
    assert counts(db) == before
    assert points.ledger_sum(tree["members"]["b1_secretary"], "all") == 0


def test_one_bad_event_does_not_block_the_batch_and_can_be_retried(runner, client, db, tree, connection):
    events = [
        meeting("evt-1", ["M-B1-1"]),
        meeting("evt-2", ["M-B1-1", "M-NEW"], day="2026-11-06"),  # an unknown member: nothing of it is applied
        {"id": "evt-3", "type": "volunteer.service", "occurred_at": "2026-11-06T09:00:00+08:00",
         "data": {"member": "M-B2-1", "hours": 2.5, "date": "2026-11-06", "title": "社区义诊"}},
        {"id": "evt-4", "type": "no.such.type", "occurred_at": "2026-11-06T09:00:00+08:00", "data": {}},
    ]
    results = post(client, connection, events).get_json()["results"]
    assert [r["status"] for r in results] == ["applied", "failed", "applied", "failed"]
    assert "unknown member 'M-NEW'" in results[1]["detail"]
    assert points.ledger_sum(tree["members"]["b1_member"], "all") == 5  # evt-2 gave nothing, not even partly
    assert points.ledger_sum(tree["members"]["b2_member"], "all") == 5  # 2.5 h × 2
    failed = db.session.scalar(select(RegistryEvent).where(RegistryEvent.event_id == "evt-2"))
    assert failed.status == EventStatus.FAILED and failed.attempts == 1

    # The member arrives; an administrator (or the scheduler) retries.
    member_event = {"id": "evt-5", "type": "member.joined", "occurred_at": "2026-11-07T09:00:00+08:00",
                    "data": {"external_id": "M-NEW", "name": "新党员", "organisation": "B1", "status": "probationary"}}
    assert post(client, connection, [member_event]).get_json()["results"][0]["status"] == "applied"
    result = runner.invoke(args=["registry", "retry"])
    assert "1 failed events now applied" in result.output
    assert points.ledger_sum(tree["members"]["b1_member"], "all") == 10
    new = db.session.scalar(select(Member).where(Member.external_id == "M-NEW"))
    assert points.ledger_sum(new.id, "all") == 5


def test_a_transfer_moves_the_member_and_later_points(client, db, tree, connection):
    post(client, connection, [meeting("evt-1", ["M-B1-1"], org="B1")])
    transfer = {"id": "evt-2", "type": "member.transferred", "occurred_at": "2026-11-10T09:00:00+08:00",
                "data": {"external_id": "M-B1-1", "from": "B1", "to": "B2", "effective_date": "2026-11-10"}}
    assert post(client, connection, [transfer]).get_json()["results"][0]["status"] == "applied"
    post(client, connection, [meeting("evt-3", ["M-B1-1"], org="B2", day="2026-11-20")])
    member = db.session.get(Member, tree["members"]["b1_member"])
    db.session.refresh(member)
    assert member.organisation_id == tree["orgs"]["B2"]
    by_org = dict(db.session.execute(
        select(LedgerEntry.organisation_id, func.sum(LedgerEntry.points))
        .where(LedgerEntry.member_id == member.id).group_by(LedgerEntry.organisation_id)
    ).all())
    assert by_org == {tree["orgs"]["B1"]: 5, tree["orgs"]["B2"]: 5}


def test_dues_paid_on_time_count_once_a_month(client, db, tree, connection):
    def dues(event_id, month, on_time=True):
        return {"id": event_id, "type": "dues.paid", "occurred_at": f"{month}-03T09:00:00+08:00",
                "data": {"member": "M-B1-1", "month": month, "on_time": on_time}}

    post(client, connection, [dues("d1", "2026-10"), dues("d2", "2026-10"), dues("d3", "2026-11", on_time=False)])
    assert points.ledger_sum(tree["members"]["b1_member"], "all") == 2


def test_members_and_organisations_follow_the_registry(client, db, tree, connection):
    events = [
        {"id": "o1", "type": "organisation.created", "occurred_at": "2026-11-01T09:00:00+08:00",
         "data": {"external_id": "B9", "name": "新成立支部", "kind": "branch", "parent": "GB"}},
        {"id": "m1", "type": "member.joined", "occurred_at": "2026-11-01T10:00:00+08:00",
         "data": {"external_id": "M-9", "name": "孙新", "organisation": "B9", "joined_on": "2026-10-01"}},
        {"id": "m2", "type": "member.updated", "occurred_at": "2026-11-02T10:00:00+08:00",
         "data": {"external_id": "M-9", "status": "probationary"}},
        {"id": "m3", "type": "member.left", "occurred_at": "2026-11-03T10:00:00+08:00", "data": {"external_id": "M-9"}},
        {"id": "o2", "type": "organisation.dissolved", "occurred_at": "2026-11-04T10:00:00+08:00", "data": {"external_id": "B9"}},
        {"id": "o3", "type": "organisation.dissolved", "occurred_at": "2026-11-04T10:00:00+08:00", "data": {"external_id": "B1"}},
    ]
    results = post(client, connection, events).get_json()["results"]
    assert [r["status"] for r in results] == ["applied"] * 5 + ["failed"]
    assert "active members" in results[5]["detail"]  # B1 still has members
    member = db.session.scalar(select(Member).where(Member.external_id == "M-9"))
    assert (member.status.value, member.active, member.organisation.active) == ("probationary", False, False)


def test_a_malformed_event_is_refused_on_its_own_and_the_rest_is_applied(client, db, tree, connection):
    results = post(client, connection, [
        meeting("evt-1", ["M-B1-1"]),
        {"type": "meeting.held"},  # no id, no time
        {**meeting("evt-naive", ["M-B1-1"], day="2026-11-06"), "occurred_at": "2026-11-06T10:00:00"},
        meeting("evt-\u0000nul", ["M-G1-1"], day="2026-11-07"),  # NUL: PostgreSQL cannot store it
        meeting("evt-3", ["M-G1-1"], day="2026-11-08"),
        "not an object",
    ]).get_json()["results"]
    assert [(r["id"], r["status"]) for r in results] == [
        ("evt-1", "applied"), (None, "refused"), ("evt-naive", "refused"), ("evt-\\x00nul", "refused"),
        ("evt-3", "applied"), (None, "refused")]
    assert "id" in results[1]["detail"] and "occurred_at" in results[2]["detail"]
    assert "control characters" in results[3]["detail"]
    # Two events stored: two attendances, and B1 held its quarterly general meeting on schedule (once a quarter).
    assert counts(db) == (2, 3)
    # What is not a batch at all is refused whole.
    assert post(client, connection, {"events": "x"}, body=json.dumps({"events": "x"}).encode()).status_code == 422
    assert post(client, connection, None, body=b"events=1").status_code == 400
    assert counts(db) == (2, 3)


def test_ten_threads_posting_the_same_batch_give_each_point_once(app, db, tree, connection):
    events = [meeting(f"evt-{i}", ["M-B1-1", "M-B1-S", "M-G1-1"], day=f"2026-11-{i + 1:02d}") for i in range(5)]
    body = json.dumps({"events": events}).encode()
    statuses, errors = [], []
    barrier = threading.Barrier(10)

    def deliver():
        try:
            client = app.test_client()
            timestamp = str(int(time.time()))
            barrier.wait(timeout=30)
            response = client.post("/registry/v1/events", data=body, content_type="application/json", headers={
                "X-Registry-Timestamp": timestamp, "X-Registry-Signature": sign(connection.secret, timestamp, body)})
            statuses.append(response.status_code)
        except Exception as exc:  # reported below
            errors.append(repr(exc))

    at_once([deliver] * 10)
    assert errors == [] and statuses == [200] * 10
    assert db.session.scalar(select(func.count()).select_from(RegistryEvent)) == 5
    for key in ("b1_member", "b1_secretary", "g1_member"):
        assert points.ledger_sum(tree["members"][key], "all") == 25  # 5 meetings × 5, once each
    assert points.verify_totals() == []


def test_connect_prints_the_credentials_once_as_json(runner, db):
    result = runner.invoke(args=["registry", "connect", "市党员信息库", "--json"])
    assert result.exit_code == 0
    credentials = json.loads(result.output)
    assert credentials["token"].startswith("reg_") and len(credentials["secret"]) == 64
    again = runner.invoke(args=["registry", "connect", "市党员信息库", "--json"])
    assert again.exit_code == 1 and "exists" in again.output


def test_the_worked_example_in_the_docs_is_right():
    """docs/REGISTRY.md's example signature is what the server computes."""
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "REGISTRY.md").read_text(encoding="utf-8")
    example = doc[doc.index("### Worked example"):]
    secret = re.search(r"Secret `([0-9a-f]{64})`", example).group(1)
    timestamp = re.search(r"timestamp\s+`(\d+)`", example).group(1)
    body = re.search(r"```json\n(.*?)\n```", example, re.S).group(1)
    signature = re.search(r"X-Registry-Signature: (sha256=[0-9a-f]{64})", example).group(1)
    assert sign(secret, timestamp, body.encode("utf-8")) == signature
