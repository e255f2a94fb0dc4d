"""Participation counts only scoring.yaml's participation rules: a daily login alone is not taking part."""
from datetime import datetime, timezone

import sqlalchemy as sa

from learning.accounts.models import Account
from learning.orgs.models import Member, Organisation
from learning.points import rankings, services
from learning.points.models import SnapshotMember
from learning.points.snapshots import close_period, verify_snapshot
from tests.factories import give_points

DAY = datetime(2026, 8, 3, 4, tzinfo=timezone.utc)


def _member(db, tree, key):
    return db.session.get(Member, tree["members"][key])


def test_a_login_or_a_bonus_is_not_participation_a_meeting_is(db, tree, rules):
    """B1 has 3 appraised members (李书记, 王党员, 赵小组): all log in every day, 王党员 also gets a manual
    bonus; only 赵小组 attends a meeting → 1 of 3 took part.  B2 (钱二支, 孙书记): 钱二支 pays dues on
    time, which is not taking part either → 0 of 2."""
    for key in ("b1_secretary", "b1_member", "g1_member"):
        for day in range(1, 6):
            services.award("daily_login", member=_member(db, tree, key), source_key=f"login:{day}",
                           occurred_at=DAY.replace(day=day))
    give_points(_member(db, tree, "b1_member"), 5, db.session.get(Account, tree["accounts"]["superadmin"]))
    services.award("meeting_attended", member=_member(db, tree, "g1_member"), source_key="m1", occurred_at=DAY)
    services.award("dues_paid_on_time", member=_member(db, tree, "b2_member"), source_key="dues:2026-08", occurred_at=DAY)
    db.session.commit()

    figures = rankings.subtree_figures(db.session.get(Organisation, tree["orgs"]["C"]), "2026Q3")
    b1, b2 = figures[tree["orgs"]["B1"]], figures[tree["orgs"]["B2"]]
    assert (b1.member_count, b1.active_members, round(b1.participation, 2)) == (3, 1, 33.33)
    assert (b2.member_count, b2.active_members, b2.participation) == (2, 0, 0.0)

    # The closed period freezes the same figures, with the rules that decided them.
    result = close_period("2026Q3", today=datetime(2026, 10, 2).date())
    db.session.commit()
    assert result.snapshot.participation_rules[:2] == ["lesson_completed", "course_completed"]
    took_part = set(db.session.scalars(sa.select(SnapshotMember.member_id).where(SnapshotMember.participated)))
    assert took_part == {tree["members"]["g1_member"]}
    frozen = {r.organisation_id: r for r in rankings.org_ranking(db.session.get(Organisation, tree["orgs"]["GB"]), "2026Q3")}
    assert frozen[tree["orgs"]["B1"]].figures.active_members == 1
    assert verify_snapshot("2026Q3") == []
    # Tampering with the frozen flag is found.
    db.session.execute(sa.update(SnapshotMember).where(SnapshotMember.member_id == tree["members"]["b1_member"])
                       .values(participated=True))
    assert any("took part" in problem for problem in verify_snapshot("2026Q3"))
