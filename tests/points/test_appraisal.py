"""Suggested grade bands, with worked numbers."""
import pytest

from learning.accounts.models import Account
from learning.orgs.models import MemberStatus, Organisation, OrgKind
from learning.orgs.services import create_member, create_organisation
from learning.points.appraisal import Grade, appraise
from tests.factories import give_points


@pytest.fixture
def branch(db, tree, rules):
    """A branch without a study-hours quota, so that every member passes the 评先评优 gate and the
    grade bands alone decide (the gate: tests/points/test_appraisal_gate.py)."""
    from decimal import Decimal

    from learning.courses.services import set_quota

    c = db.session.get(Organisation, tree["orgs"]["C"])
    branch = create_organisation("十二人支部", OrgKind.BRANCH, c)
    set_quota(branch, "quarter", Decimal(0), Decimal(0))
    return branch


def give(member, points, admin):
    if points:
        give_points(member, points, admin)


def test_grade_bands_for_twelve_full_members(db, tree, branch):
    """12 full members scoring 12, 11, …, 1 (名次 1–12), and one probationary member.

    优秀: at most 12 ÷ 3 = 4 → ranks 1–4.
    Percentile among full members = 100 × (1 − (rank − 1) ÷ 11): rank 11 → 9.1, rank 12 → 0 → 基本合格 (< 10).
    The rest 合格; the probationary member is ranked but not graded.
    """
    admin = db.session.get(Account, tree["accounts"]["superadmin"])
    members = [create_member(f"党员{i:02d}", branch) for i in range(12)]
    for member, points in zip(members, range(12, 0, -1)):
        give(member, points, admin)
    probationary = create_member("预备", branch, MemberStatus.PROBATIONARY)
    give(probationary, 20, admin)
    db.session.commit()
    rows = appraise(branch, "all")
    grades = {r.ranking.name: r.grade for r in rows}
    assert [grades[f"党员{i:02d}"] for i in range(12)] == (
        [Grade.EXCELLENT] * 4 + [Grade.QUALIFIED] * 6 + [Grade.BASIC] * 2
    )
    assert grades["预备"] is None and rows[0].ranking.name == "预备"  # ranked first, not graded
    assert all(r.eligible is True for r in rows)  # no quota in this branch: everyone passes the gate


def test_a_tie_across_the_excellent_boundary_keeps_the_share(db, tree, branch):
    """6 full members: 10, 9, 9, 5, 5, 1 → at most 2 excellent; the 9s tie for 2nd, so only the 10 is."""
    admin = db.session.get(Account, tree["accounts"]["superadmin"])
    for i, points in enumerate((10, 9, 9, 5, 5, 1)):
        give(create_member(f"成员{i}", branch), points, admin)
    db.session.commit()
    grades = [r.grade for r in appraise(branch, "all")]
    assert grades == [Grade.EXCELLENT] + [Grade.QUALIFIED] * 5  # fewer than 10: no 基本合格 by percentile


def test_a_negative_score_suggests_unqualified(db, tree, branch):
    admin = db.session.get(Account, tree["accounts"]["superadmin"])
    good, bad = create_member("甲", branch), create_member("乙", branch)
    give(good, 5, admin)
    give(bad, -8, admin)
    db.session.commit()
    grades = {r.ranking.name: r.grade for r in appraise(branch, "all")}
    assert grades == {"甲": Grade.QUALIFIED, "乙": Grade.UNQUALIFIED}
