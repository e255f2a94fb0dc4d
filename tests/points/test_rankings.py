"""Rankings with ties, branch scores fair to small and large branches, and period snapshots."""
from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa

from learning.orgs.models import Member, Organisation
from learning.points import rankings, services
from learning.points.models import Period, Snapshot, SnapshotMember
from learning.points.services import PointsError
from learning.points.snapshots import close_period, verify_snapshot


def at(y, m, d):
    return datetime(y, m, d, 4, tzinfo=timezone.utc)


def give(db, tree, key, points, day=at(2026, 11, 3), source=None):
    """Award `points` as multiples of 5 (meeting attended) so the totals are easy to read."""
    member = db.session.get(Member, tree["members"][key])
    for i in range(points // 5):
        services.award("meeting_attended", member=member, source_key=f"{source or key}:{day.date()}:{i}", occurred_at=day)


def test_ties_share_a_rank_and_the_next_rank_skips(db, tree, rules):
    # 10, 5, 5, 0 within B1's subtree → ranks 1, 2, 2, 4 (4th: the member with no points)
    give(db, tree, "b1_secretary", 10)
    give(db, tree, "b1_member", 5, day=at(2026, 11, 1))  # reached 5 first
    give(db, tree, "g1_member", 5, day=at(2026, 11, 9))
    c = db.session.get(Organisation, tree["orgs"]["C"])
    b1 = db.session.get(Organisation, tree["orgs"]["B1"])
    db.session.commit()
    rows = rankings.member_ranking(b1, "2026Q4")
    assert [(r.name, r.points, r.rank) for r in rows] == [
        ("李书记", 10, 1), ("王党员", 5, 2), ("赵小组", 5, 2),
    ]
    assert [r.percentile for r in rows] == [100.0, 50.0, 50.0]
    everyone = rankings.member_ranking(c, "2026Q4")
    assert [r.rank for r in everyone] == [1, 2, 2, 4, 4, 4, 4, 4]
    assert everyone[1].name == "王党员"  # the tie-break: who reached the score first


def test_status_filter(db, tree, rules):
    give(db, tree, "g1_member", 5)
    b1 = db.session.get(Organisation, tree["orgs"]["B1"])
    rows = rankings.member_ranking(b1, "2026Q4", statuses=["probationary"])
    assert [(r.name, r.rank) for r in rows] == [("赵小组", 1)]


def test_branch_scores_are_fair_to_small_and_large_branches(db, tree, rules):
    """Worked numbers, weights 1.0 per member, 0.5 participation, 1.0 own points per branch.

    B1 has 3 appraised members (李书记, 王党员, 赵小组 in its group): 10 + 5 + 0 = 15 points.
        per member 15 / 3 = 5.0; participation 2 / 3 = 66.67 % → 0.5 × 66.67 = 33.33; own 0
        score 38.33
    B2 has 2 appraised members (钱二支, 孙书记): 10 + 0 = 10 points, and 5 points of its own.
        per member 10 / 2 = 5.0; participation 1 / 2 = 50 % → 25.0; own 5 / 1 branch = 5.0
        score 35.0
    B1 earned more points in all (15 against 10) but only because it is larger: per member the
    two are equal, and B1 ranks first on participation.  GB rolls both up:
        25 / 5 = 5.0; 3 / 5 = 60 % → 30.0; own 5 / 2 branches = 2.5 → 37.5
    """
    give(db, tree, "b1_secretary", 10)
    give(db, tree, "b1_member", 5)
    give(db, tree, "b2_member", 10)
    b2 = db.session.get(Organisation, tree["orgs"]["B2"])
    services.award("meeting_held_on_schedule", organisation=b2, source_key="b2-meeting", occurred_at=at(2026, 11, 5))
    db.session.commit()
    gb = db.session.get(Organisation, tree["orgs"]["GB"])
    rows = rankings.org_ranking(gb, "2026Q4")
    assert [(r.name, r.score, r.rank) for r in rows] == [("一支部", 38.33, 1), ("二支部", 35.0, 2)]
    b1_figures = rows[0].figures
    assert (b1_figures.member_count, b1_figures.active_members, b1_figures.member_points) == (3, 2, 15)
    c = db.session.get(Organisation, tree["orgs"]["C"])
    top = {r.name: r for r in rankings.org_ranking(c, "2026Q4")}
    assert top["第一党总支"].score == 37.5
    assert top["三支部"].score == 0.0  # B3: 3 appraised members (one activist not counted), no points


def test_a_larger_branch_with_the_same_points_per_member_scores_the_same(db, tree, rules):
    from learning.orgs.services import create_member

    b2 = db.session.get(Organisation, tree["orgs"]["B2"])
    extra = [create_member(f"新成员{i}", b2) for i in range(4)]  # B2: 6 appraised members
    db.session.commit()
    for key in ("b1_secretary", "b1_member", "g1_member"):
        give(db, tree, key, 5)  # B1: 3 members × 5
    for member in [db.session.get(Member, tree["members"][k]) for k in ("b2_member", "b2_secretary")] + extra:
        services.award("meeting_attended", member=member, source_key=f"x{member.id}", occurred_at=at(2026, 11, 3))
    db.session.commit()  # B2: 6 members × 5
    gb = db.session.get(Organisation, tree["orgs"]["GB"])
    scores = {r.name: r.score for r in rankings.org_ranking(gb, "2026Q4")}
    assert scores["一支部"] == scores["二支部"] == 5 + 0.5 * 100
    assert {r.rank for r in rankings.org_ranking(gb, "2026Q4")} == {1}


def test_stars_follow_the_policy(db, tree, rules):
    from learning.points.scoring import stars_for

    assert [stars_for(s) for s in (95, 90, 89.9, 70, 50, 30, 10)] == [5, 5, 4, 4, 3, 2, 1]


# -- closing periods -----------------------------------------------------------------------
def test_closing_freezes_the_numbers_against_late_entries(db, tree, rules, time_machine):
    time_machine.move_to(datetime(2026, 11, 20, 2, tzinfo=timezone.utc))  # "today" is in 2026Q4
    give(db, tree, "b1_member", 10, day=at(2026, 8, 3))
    give(db, tree, "b1_secretary", 5, day=at(2026, 9, 3))
    db.session.commit()
    result = close_period("2026Q3")
    db.session.commit()
    assert result.created and result.snapshot.entry_count == 3
    b1 = db.session.get(Organisation, tree["orgs"]["B1"])
    before = [(r.name, r.points, r.rank) for r in rankings.member_ranking(b1, "2026Q3")]
    # A late entry for September counts in the open quarter, not the closed one.
    late = services.award("meeting_attended", member=db.session.get(Member, tree["members"]["g1_member"]),
                          source_key="late", occurred_at=at(2026, 9, 25)).entry
    db.session.commit()
    assert late.quarter_key == "2026Q4"
    assert [(r.name, r.points, r.rank) for r in rankings.member_ranking(b1, "2026Q3")] == before
    assert before[:2] == [("王党员", 10, 1), ("李书记", 5, 2)]
    assert verify_snapshot("2026Q3") == []


def test_closing_twice_gives_one_snapshot(db, tree, rules):
    give(db, tree, "b1_member", 5, day=at(2026, 8, 3))
    first = close_period("2026Q3")
    db.session.commit()
    second = close_period("2026Q3")
    assert not second.created and second.snapshot.id == first.snapshot.id
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Snapshot)) == 1


def test_an_interrupted_close_leaves_nothing_and_the_next_run_completes(db, tree, rules):
    give(db, tree, "b1_member", 5, day=at(2026, 8, 3))
    db.session.commit()

    def crash():
        raise RuntimeError("power cut")

    with pytest.raises(RuntimeError):
        close_period("2026Q3", _after_members=crash)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Snapshot)) == 0
    assert db.session.get(Period, "2026Q3").closed_at is None

    result = close_period("2026Q3")
    db.session.commit()
    snapshot = result.snapshot
    members = db.session.scalar(sa.select(sa.func.count()).select_from(Member).where(Member.active.is_(True)))
    assert snapshot.member_rows == members
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SnapshotMember)) == members
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Snapshot)) == 1
    assert verify_snapshot("2026Q3") == []


def test_verify_detects_a_tampered_snapshot(db, tree, rules):
    give(db, tree, "b1_member", 10, day=at(2026, 8, 3))
    close_period("2026Q3")
    db.session.commit()
    member_id = tree["members"]["b1_member"]
    db.session.execute(
        sa.update(SnapshotMember).where(SnapshotMember.member_id == member_id).values(points=100)
    )
    db.session.commit()
    problems = verify_snapshot("2026Q3")
    assert any(f"member {member_id}: snapshot 100, ledger 10" in p for p in problems)


def test_verify_detects_ledger_rows_added_behind_the_snapshot(db, tree, rules):
    give(db, tree, "b1_member", 5, day=at(2026, 8, 3))
    close_period("2026Q3")
    db.session.commit()
    # Bypass award() as an attacker with database access would.
    db.session.execute(sa.text(
        "INSERT INTO ledger_entry (rule_id, subject, subject_key, member_id, organisation_id, source_key, points,"
        " requested_points, capped, occurred_on, counted_on, month_key, quarter_key, year_key, actor_kind, created_at)"
        " SELECT rule_id, subject, subject_key, member_id, organisation_id, 'forged', 50, 50, capped, occurred_on,"
        " counted_on, month_key, quarter_key, year_key, actor_kind, created_at FROM ledger_entry LIMIT 1"
    ))
    db.session.commit()
    problems = verify_snapshot("2026Q3")
    assert any("ledger checksum differs" in p for p in problems)


def test_a_period_that_has_not_ended_cannot_be_closed(db, tree, rules):
    with pytest.raises(PointsError):
        close_period("2026Q4", today=date(2026, 12, 31))
    with pytest.raises(PointsError):
        close_period("all")
    with pytest.raises(ValueError):
        close_period("2026Q5")
