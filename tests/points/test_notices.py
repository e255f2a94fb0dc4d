"""Members hear what became of their points: a dispute decided, a manual entry reviewed."""
from learning.notifications.services import for_member, message
from learning.points import disputes, manual
from learning.points.models import LedgerEntry
from tests.conftest import login, switch_language
from tests.factories import PASSWORD
from tests.points.test_separation_of_duties import account, member


def messages_of(db, m) -> list[tuple[str, str]]:
    return [(msg.title, msg.body) for msg in map(message, db.session.scalars(for_member(m.id)))]


def test_the_giver_hears_the_review_and_the_member_hears_approved_points(db, tree, rules):
    secretary = account(db, tree, "secretary")
    approved = manual.give(actor=secretary, member=member(db, tree, "b1_member"), points=15, reason="抗洪抢险")
    refused = manual.give(actor=secretary, member=member(db, tree, "g1_member"), points=12, reason="活动组织")
    assert messages_of(db, member(db, tree, "b1_secretary")) == []  # pending: nobody is told yet
    manual.decide(approved, reviewer=account(db, tree, "orgadmin"), approve=True)
    manual.decide(refused, reviewer=account(db, tree, "orgadmin"), approve=False, note="缺少证明材料")
    db.session.commit()
    giver = messages_of(db, member(db, tree, "b1_secretary"))
    assert giver == [
        ("手工积分已复核", "您给赵小组的 +12 分（活动组织）未获批准：缺少证明材料"),
        ("手工积分已复核", "您给王党员的 +15 分（抗洪抢险）已获批准，现已计入。"),
    ]
    assert messages_of(db, member(db, tree, "b1_member")) == [("手工积分", "+15 分：抗洪抢险。")]
    assert messages_of(db, member(db, tree, "g1_member")) == []  # refused points are not news to them


def test_the_member_hears_how_their_dispute_was_decided(client, db, tree, rules):
    deduction = manual.give(actor=account(db, tree, "orgadmin"), member=member(db, tree, "b1_member"), points=-3,
                            reason="缺席主题党日")
    dispute = disputes.open_dispute(db.session.get(LedgerEntry, deduction.entry_id), member(db, tree, "b1_member"),
                                    "我请过假，有书记签字")
    disputes.resolve_dispute(dispute, actor=account(db, tree, "superadmin"), accept=True, resolution="请假属实，撤销扣分。")
    db.session.commit()
    assert messages_of(db, member(db, tree, "b1_member")) == [
        ("您的申诉已有结果", "您对 -3 分（缺席主题党日）的申诉已被接受，该记录已撤销。请假属实，撤销扣分。")]
    login(client, "member", PASSWORD)
    page = client.get("/notifications/").get_data(as_text=True)
    assert "您的申诉已有结果" in page and "请假属实" in page
    switch_language(client, "en")
    assert "Your objection has been decided" in client.get("/notifications/").get_data(as_text=True)
