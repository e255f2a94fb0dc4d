"""Property tests: for any stream of awards, caps and corrections, scores are sums of the ledger."""
from collections import defaultdict
from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from learning.config import PACKAGE_DIR
from learning.extensions import db
from learning.points import services
from learning.points.models import LedgerEntry, RuleSetting
from tests.conftest import empty_database
from tests.factories import build_tree, give_points

RULES = ["lesson_completed", "daily_login", "volunteer_service", "meeting_attended", "course_completed"]
MEMBERS = ["b1_member", "g1_member", "b2_member"]
START = datetime(2026, 12, 28, 4, tzinfo=timezone.utc)  # across a month, quarter and year boundary

award_op = st.tuples(
    st.just("award"),
    st.sampled_from(RULES),
    st.sampled_from(MEMBERS),
    st.integers(0, 5),  # source
    st.integers(0, 6),  # day offset
    st.integers(0, 4),  # quantity
)
correct_op = st.tuples(st.just("correct"), st.integers(0, 50))
manual_op = st.tuples(st.just("manual"), st.sampled_from(MEMBERS), st.integers(-10, 10).filter(bool))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(st.one_of(award_op, award_op, correct_op, manual_op), min_size=1, max_size=40))
def test_scores_equal_ledger_sums_and_caps_hold(app, operations):
    with app.app_context():
        empty_database()
        tree = build_tree()
        services.load_rules(PACKAGE_DIR / "content" / "points" / "rules.yaml")
        admin = tree.accounts["orgadmin"]
        members = {k: tree.members[k] for k in MEMBERS}
        for op in operations:
            if op[0] == "award":
                _, rule, who, source, day, quantity = op
                unit = services.rule_by_code(rule).unit
                services.award(rule, member=members[who], source_key=f"s{source}",
                               occurred_at=START + timedelta(days=day), quantity=quantity if unit else None)
            elif op[0] == "correct":
                entries = db.session.scalars(
                    select(LedgerEntry).where(LedgerEntry.corrects_id.is_(None)).order_by(LedgerEntry.id)
                ).all()
                if entries:
                    target = entries[op[1] % len(entries)]
                    try:
                        services.correct(target, actor=admin, reason="更正")
                    except services.PointsError:
                        pass  # already corrected: refused, and nothing written
            else:
                _, who, points = op
                if points:
                    give_points(members[who], points, admin, reason="手工调整")
            db.session.commit()

        assert services.verify_totals() == []
        for member in members.values():
            for period in ("2026-12", "2027-01", "2026Q4", "2027Q1", "2026", "2027", "all"):
                assert services.member_points(member.id, period) == services.ledger_sum(member.id, period)

        # Caps hold: originals per day and per month never exceed the setting's caps.
        daily, monthly = defaultdict(int), defaultdict(int)
        for entry in db.session.scalars(select(LedgerEntry).where(LedgerEntry.corrects_id.is_(None))):
            daily[(entry.rule.code, entry.member_id, entry.occurred_on)] += max(entry.points, 0)
            monthly[(entry.rule.code, entry.member_id, entry.month_key)] += max(entry.points, 0)
        caps = {s.rule.code: s for s in db.session.scalars(select(RuleSetting))}
        for (code, _m, _d), total in daily.items():
            if caps[code].daily_cap is not None:
                assert total <= caps[code].daily_cap
        for (code, _m, _k), total in monthly.items():
            if caps[code].period_cap is not None:
                assert total <= caps[code].period_cap
        db.session.remove()
