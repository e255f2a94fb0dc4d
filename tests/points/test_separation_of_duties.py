"""四眼原则: nobody gives themselves points or decides their own disputes; large manual points wait for
a second administrator at or above the giver's level, and nothing counts before approval."""
import io
import threading

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from learning.accounts.models import Account
from learning.orgs.models import Member
from learning.points import disputes, manual, services
from learning.points.models import Dispute, LedgerEntry, ManualAward, ManualStatus
from learning.points.services import PointsError
from tests.conftest import at_once, csrf_token, login
from tests.factories import PASSWORD


def account(db, tree, key):
    return db.session.get(Account, tree["accounts"][key])


def member(db, tree, key):
    return db.session.get(Member, tree["members"][key])


def count(db, model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def manual_sum(db, member_id):
    """A member's manual points (logging in also earns a point, which these tests leave aside)."""
    from learning.points.models import PointRule

    return db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(LedgerEntry.points), 0))
                             .join(PointRule, PointRule.id == LedgerEntry.rule_id)
                             .where(LedgerEntry.member_id == member_id, PointRule.manual.is_(True)))


def test_a_secretary_cannot_give_themselves_points(client, db, tree, rules):
    with pytest.raises(PointsError):
        manual.give(actor=account(db, tree, "secretary"), member=member(db, tree, "b1_secretary"), points=5, reason="自评")
    login(client, "secretary", PASSWORD)
    own = tree["members"]["b1_secretary"]
    page = client.post(f"/admin/members/{own}/points", data={
        "csrf_token": csrf_token(client, f"/admin/members/{own}/points"), "direction": "bonus", "points": "5",
        "reason": "自评优秀", "request_id": "self"}).get_data(as_text=True)
    assert "任何人不得给自己或本组织手工加减分" in page
    assert manual_sum(db, own) == 0 and count(db, ManualAward) == 0


def test_nor_their_own_branch(db, tree, rules):
    from learning.orgs.models import Organisation

    b1 = db.session.get(Organisation, tree["orgs"]["B1"])
    with pytest.raises(PointsError):
        manual.give(actor=account(db, tree, "secretary"), organisation=b1, points=5, reason="本支部加分")
    assert count(db, ManualAward) == 0


def test_large_or_repeated_points_wait_for_a_second_administrator(db, tree, rules):
    secretary, friend = account(db, tree, "secretary"), member(db, tree, "b1_member")
    small = [manual.give(actor=secretary, member=friend, points=5, reason=f"第{i}次表扬") for i in range(4)]
    fifth = manual.give(actor=secretary, member=friend, points=5, reason="第5次表扬")  # 25 > 20 a quarter
    big = manual.give(actor=secretary, member=member(db, tree, "g1_member"), points=15, reason="大额加分")  # 15 > 10
    db.session.commit()
    assert [m.status for m in small] == [ManualStatus.AUTOMATIC] * 4
    assert (fifth.status, big.status) == (ManualStatus.PENDING, ManualStatus.PENDING)
    assert services.ledger_sum(friend.id, "all") == 20  # the pending 5 does not count
    assert services.ledger_sum(tree["members"]["g1_member"], "all") == 0

    # Not by the giver, not by a sibling branch's secretary, not by a reviewer; by the org admin above.
    for who in ("secretary", "secretary2", "reviewer"):
        with pytest.raises(PointsError):
            manual.decide(fifth, reviewer=account(db, tree, who), approve=True)
    db.session.rollback()
    manual.decide(fifth, reviewer=account(db, tree, "orgadmin"), approve=True)
    manual.decide(big, reviewer=account(db, tree, "orgadmin"), approve=False, note="证明材料不足")
    db.session.commit()
    assert services.ledger_sum(friend.id, "all") == 25
    assert services.ledger_sum(tree["members"]["g1_member"], "all") == 0
    entry = db.session.get(LedgerEntry, fifth.entry_id)
    assert entry.actor_account_id == secretary.id and fifth.reviewed_by_id == tree["accounts"]["orgadmin"]
    with pytest.raises(PointsError):  # decided once
        manual.decide(fifth, reviewer=account(db, tree, "superadmin"), approve=True)
    assert services.verify_totals() == []


def test_approval_needs_someone_at_or_above_the_givers_level(db, tree, rules):
    given = manual.give(actor=account(db, tree, "orgadmin"), member=member(db, tree, "b1_member"), points=12, reason="季度先进")
    db.session.commit()
    assert given.status is ManualStatus.PENDING
    with pytest.raises(PointsError) as lower:
        manual.decide(given, reviewer=account(db, tree, "secretary"), approve=True)
    assert "同级或更高" in str(lower.value.message) or "at or above" in str(lower.value.message)
    manual.decide(given, reviewer=account(db, tree, "superadmin"), approve=True)
    db.session.commit()
    assert services.ledger_sum(tree["members"]["b1_member"], "all") == 12


def test_racing_awards_cannot_all_slip_under_the_period_total(app, db, tree, rules):
    ids = {"actor": tree["accounts"]["orgadmin"], "member": tree["members"]["b2_member"]}
    lock = threading.Lock()
    errors = []

    def give():
        with app.app_context():
            try:
                manual.give(actor=db.session.get(Account, ids["actor"]), member=db.session.get(Member, ids["member"]),
                            points=5, reason="并发加分")
                db.session.commit()
            except Exception as exc:  # report, do not hide
                with lock:
                    errors.append(repr(exc))
                db.session.rollback()
            finally:
                db.session.remove()

    at_once([give] * 12)
    assert errors == []
    statuses = db.session.scalars(sa.select(ManualAward.status)).all()
    assert len(statuses) == 12 and statuses.count(ManualStatus.AUTOMATIC) == 4
    assert services.ledger_sum(ids["member"], "all") == 20


def test_nobody_decides_their_own_dispute_or_one_about_an_entry_they_gave(db, tree, rules):
    orgadmin, secretary = account(db, tree, "orgadmin"), account(db, tree, "secretary")
    deduction = manual.give(actor=orgadmin, member=member(db, tree, "b1_secretary"), points=-3, reason="缺席支委会")
    by_secretary = manual.give(actor=secretary, member=member(db, tree, "b1_member"), points=-2, reason="迟到")
    db.session.commit()
    own = disputes.open_dispute(db.session.get(LedgerEntry, deduction.entry_id), member(db, tree, "b1_secretary"), "我请过假了")
    theirs = disputes.open_dispute(db.session.get(LedgerEntry, by_secretary.entry_id), member(db, tree, "b1_member"), "那天没有迟到")
    db.session.commit()
    with pytest.raises(PointsError):
        disputes.resolve_dispute(own, actor=secretary, accept=True, resolution="同意")
    with pytest.raises(PointsError):
        disputes.resolve_dispute(theirs, actor=secretary, accept=True, resolution="同意")
    db.session.rollback()
    assert services.ledger_sum(tree["members"]["b1_secretary"], "all") == -3
    disputes.resolve_dispute(db.session.get(Dispute, own.id), actor=account(db, tree, "superadmin"), accept=True,
                             resolution="请假属实")
    db.session.commit()
    assert services.ledger_sum(tree["members"]["b1_secretary"], "all") == 0


def test_the_dispute_page_does_not_offer_a_secretary_their_own_dispute(client, db, tree, rules):
    deduction = manual.give(actor=account(db, tree, "orgadmin"), member=member(db, tree, "b1_secretary"), points=-3,
                            reason="缺席支委会")
    db.session.commit()
    dispute = disputes.open_dispute(db.session.get(LedgerEntry, deduction.entry_id), member(db, tree, "b1_secretary"),
                                    "我请过假了")
    db.session.commit()
    login(client, "secretary", PASSWORD)
    page = client.get("/admin/points/disputes").get_data(as_text=True)
    assert "任何人不得处理关于自己积分的异议" in page and f"/admin/points/disputes/{dispute.id}" not in page
    response = client.post(f"/admin/points/disputes/{dispute.id}", data={
        "csrf_token": csrf_token(client, "/admin/points/disputes"), "decision": "accept", "resolution": "同意"})
    assert response.status_code == 302
    assert manual_sum(db, tree["members"]["b1_secretary"]) == -3
    assert db.session.get(Dispute, dispute.id).status.value == "open"


def test_giver_and_approver_are_shown_to_the_member_the_api_and_the_export(client, app, db, tree, rules):
    given = manual.give(actor=account(db, tree, "secretary"), member=member(db, tree, "b1_member"), points=15,
                        reason="抗洪抢险突击队")
    db.session.commit()
    login(client, "orgadmin", PASSWORD)
    queue = client.get("/admin/points/approvals").get_data(as_text=True)
    assert "抗洪抢险突击队" in queue and "李书记 给分" in queue
    client.post(f"/admin/points/approvals/{given.id}", data={
        "csrf_token": csrf_token(client, "/admin/points/approvals"), "decision": "approve", "note": ""})
    assert manual_sum(db, tree["members"]["b1_member"]) == 15

    mine = app.test_client()
    login(mine, "member", PASSWORD)
    assert "李书记 给分，冯管理 复核" in mine.get("/points").get_data(as_text=True)
    token = mine.post("/api/v1/auth/token", json={"username": "member", "password": PASSWORD}).get_json()["token"]
    items = mine.get("/api/v1/me/ledger", headers={"Authorization": f"Bearer {token}"}).get_json()["items"]
    bonus = next(i for i in items if i["rule"] == "manual_bonus")
    assert (bonus["points"], bonus["given_by"], bonus["approved_by"]) == (15, "李书记", "冯管理")

    export = client.get(f"/admin/points/export?org={tree['orgs']['GB']}&period=all&format=xlsx")
    sheet = load_workbook(io.BytesIO(export.data))["加分与扣分"]
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=5)]
    assert [(r[0], r[2], r[3], r[4], r[6], r[7]) for r in rows] == [("王党员", 15, "抗洪抢险突击队", "李书记", "已通过", "冯管理")]
