"""A page of a ranking read from the indexed member scores equals the same slice of the whole
ranking computed over every member (window functions), live and closed, for every page size, scope
and status; the figures of organisations read the maintained participation equal the ledger's."""
import random
from collections import Counter
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from learning.accounts.models import Account
from learning.orgs.models import Member, MemberStatus, Organisation
from learning.orgs.services import create_member, deactivate_member, transfer_member
from learning.points import ranking_pages, rankings, services
from learning.points.models import LedgerEntry, MemberScore
from learning.points.rankings import participants
from learning.points.scoring import OrgFigures, policy
from learning.points.snapshots import close_period
from tests.factories import give_points


def at(y, m, d):
    return datetime(y, m, d, 4, tzinfo=timezone.utc)


@pytest.fixture
def city(db, tree, rules, time_machine):
    """Forty members more, with ties, scores netted to zero by a correction, deductions below zero,
    points earned in one branch before a transfer to another, and members with no entries."""
    time_machine.move_to(datetime(2026, 11, 20, 2, tzinfo=timezone.utc))
    rng = random.Random(5)
    orgs = {k: db.session.get(Organisation, v) for k, v in tree["orgs"].items()}
    admin = db.session.get(Account, tree["accounts"]["superadmin"])
    statuses = [MemberStatus.FULL, MemberStatus.FULL, MemberStatus.PROBATIONARY, MemberStatus.ACTIVIST]
    people = [create_member(f"党员{i:02d}", orgs[rng.choice(["B1", "G1", "B2", "B3", "BX"])], rng.choice(statuses))
              for i in range(40)]
    db.session.flush()
    for i, member in enumerate(people):
        kind = i % 8
        day = at(2026, 8 + i % 3, 1 + i % 27)
        if kind == 0:
            continue  # no entries at all
        for n in range(rng.randint(1, 3)):
            services.award("meeting_attended", member=member, source_key=f"m{n}", occurred_at=day)
        if kind == 1:  # earned, then corrected: nets to zero but has entries
            for entry in db.session.scalars(sa.select(LedgerEntry).where(LedgerEntry.member_id == member.id)):
                services.correct(entry, actor=admin, reason="撤销")
        elif kind == 2:  # below zero
            give_points(member, -(5 + i), admin, occurred_at=day)
        elif kind == 3:  # not a participation rule
            services.award("dues_paid_on_time", member=member, source_key="dues", occurred_at=day)
        elif kind == 4:  # moves, keeping what was earned before
            transfer_member(member, orgs["B2"] if member.organisation_id != orgs["B2"].id else orgs["B3"])
        elif kind == 5:
            give_points(member, 3, admin, occurred_at=day)
    deactivate_member(people[-1])
    db.session.commit()
    return orgs


def _whole(org, key, statuses):
    return rankings.member_ranking(org, key, statuses)


@pytest.mark.parametrize("key", ["2026Q3", "2026-09", "2026", "all"])
def test_every_page_equals_the_same_slice_of_the_whole_ranking(db, city, key):
    assert services.verify_totals() == []
    for org_key in ("C", "GB", "B1", "B2", "OTHER"):
        org = city[org_key]
        for statuses in (None, ["full"], ["probationary"], ["candidate"]):
            whole = _whole(org, key, statuses)
            for per_page in (1, 4, 7):
                for page in range(1, len(whole) // per_page + 3):
                    got = ranking_pages.member_ranking_page(org, key, statuses, page=page, per_page=per_page)
                    expected = whole[(page - 1) * per_page: page * per_page]
                    assert got.rows == expected, (org_key, statuses, per_page, page)
                    assert got.total == len(whole)
                    assert got.distribution == dict(Counter(r.points for r in whole))
            counts, children = ranking_pages.page_figures(org, key, statuses)  # what the page shares
            assert (counts.distribution, counts.total) == (dict(Counter(r.points for r in whole)), len(whole))
            assert children == rankings.org_ranking(org, key)
    points = [r.points for r in _whole(city["C"], key, None)]
    assert max(points) > 0 and min(points) < 0 and points.count(0) > 2  # every segment is exercised


def test_a_closed_period_pages_from_its_snapshot(db, city):
    live = {k: _whole(city[k], "2026Q3", None) for k in ("C", "B2")}
    close_period("2026Q3")
    db.session.commit()
    for org_key, before in live.items():
        frozen = _whole(city[org_key], "2026Q3", None)
        assert [(r.member_id, r.points, r.rank) for r in frozen] == [(r.member_id, r.points, r.rank) for r in before]
        for per_page in (3, 10):
            for page in range(1, len(frozen) // per_page + 2):
                got = ranking_pages.member_ranking_page(city[org_key], "2026Q3", page=page, per_page=per_page)
                assert got.rows == frozen[(page - 1) * per_page: page * per_page]
                assert got.total == len(frozen)


def test_a_ranking_page_does_not_read_every_member(db, city):
    """The page reads its rows with LIMIT in score order, not the whole ranked list."""
    statements = []

    def seen(conn, cursor, statement, *rest):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", seen)
    try:
        got = ranking_pages.member_ranking_page(city["C"], "2026Q3", page=2, per_page=5)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", seen)
    assert [r.rank for r in got.rows] == [r.rank for r in _whole(city["C"], "2026Q3", None)[5:10]]
    assert not any("rank()" in s.lower() for s in statements)
    assert sum("LIMIT" in s for s in statements) >= 1


def test_the_score_window_of_a_page_worked_by_hand():
    scores = {9: 1, 7: 3, 5: 2, 0: 10, -2: 1}  # rows 0 | 1 2 3 | 4 5 | 6..15 | 16
    assert ranking_pages.score_window(scores, 0, 1) == (9, 9, 0)
    assert ranking_pages.score_window(scores, 0, 4) == (9, 7, 0)
    assert ranking_pages.score_window(scores, 2, 3) == (7, 5, 1)  # rows 2–4: the 7s and a 5, one row before
    assert ranking_pages.score_window(scores, 5, 2) == (5, 0, 4)
    assert ranking_pages.score_window(scores, 16, 20) == (-2, -2, 16)
    assert ranking_pages.score_window(scores, 17, 5) == (None, None, 17)
    assert ranking_pages.score_window({3: 0, 1: 2}, 0, 1) == (1, 1, 0)  # a score nobody has is skipped


def test_a_page_reads_only_the_scores_it_holds_and_survives_counts_gone_stale(db, city):
    statements = []

    def seen(conn, cursor, statement, *rest):
        statements.append(statement)

    counts = ranking_pages.ranking_counts(city["C"], "2026Q3")
    sa.event.listen(db.engine, "before_cursor_execute", seen)
    try:
        ranking_pages.member_ranking_page(city["C"], "2026Q3", page=1, per_page=3, counts=counts)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", seen)
    assert any("BETWEEN" in s for s in statements)
    # the top three gain points after the counts were taken: the page still has its three rows
    top = ranking_pages.member_ranking_page(city["C"], "2026Q3", page=1, per_page=3, counts=counts).rows
    admin = db.session.get(Account, 1)
    for row in top:
        give_points(db.session.get(Member, row.member_id), 50, admin, occurred_at=at(2026, 9, 9))
    db.session.commit()
    again = ranking_pages.member_ranking_page(city["C"], "2026Q3", page=1, per_page=3, counts=counts).rows
    assert [r.member_id for r in again] == [r.member_id for r in top] and all(r.points >= 50 for r in again)


def test_figures_read_the_kept_participation_as_the_ledger_says(db, city):
    """``active_members`` from the maintained ``took_part`` equals the members with net points by a
    participation rule in the ledger, for every organisation and period kind."""
    appraised = set(policy().appraised_statuses)
    for key in ("2026Q3", "2026-08", "2026", "all"):
        took_part = set(db.session.scalars(participants(key)))
        figures = rankings.subtree_figures(city["C"], key)
        for org in db.session.scalars(sa.select(Organisation).where(Organisation.path.startswith(city["C"].path))):
            expected = db.session.scalar(
                sa.select(sa.func.count()).select_from(Member).join(Member.organisation)
                .where(Organisation.path.startswith(org.path), Member.active.is_(True),
                       Member.status.in_(appraised), Member.id.in_(took_part or [-1])))
            assert figures[org.id].active_members == expected, (key, org.name)
        assert sum(1 for _ in took_part) > 3


@pytest.mark.parametrize("key", ["2026Q3", "2026-08", "all"])
def test_the_children_grouped_in_sql_have_the_figures_of_the_rolled_up_tree(db, city, key):
    """``children_figures`` (what the rankings page lists) equals ``subtree_figures`` for each child,
    with an own-points entry, a group under a branch and a dissolved branch in the tree."""
    from learning.orgs.services import create_organisation, dissolve_organisation
    from learning.points.services import award

    award("meeting_held_on_schedule", organisation=city["B2"], source_key="own", occurred_at=at(2026, 8, 3))
    gone = create_organisation("已撤销支部", city["B1"].kind, city["GB"])
    dissolve_organisation(gone)
    db.session.commit()
    for parent in ("C", "GB", "B1"):
        whole = rankings.subtree_figures(city[parent], key)
        children = db.session.scalars(sa.select(Organisation.id).where(
            Organisation.parent_id == city[parent].id, Organisation.active.is_(True))).all()
        got = rankings.children_figures(city[parent], key)
        assert {c: got.get(c, OrgFigures()) for c in children} == {c: whole[c] for c in children}, parent
    assert rankings.children_figures(city["GB"], key)[city["B2"].id].own_points == 5


def test_verify_finds_a_kept_score_that_differs_from_the_ledger(db, city):
    member_id = db.session.scalars(sa.select(MemberScore.member_id).where(MemberScore.period_key == "2026Q3")).first()
    db.session.execute(sa.update(MemberScore).where(MemberScore.member_id == member_id, MemberScore.period_key == "2026Q3")
                       .values(took_part=MemberScore.took_part + 1))
    problems = services.verify_totals()
    assert len(problems) == 1 and problems[0].startswith(f"member score ({member_id}, '2026Q3')")
    db.session.rollback()
    db.session.execute(sa.delete(MemberScore).where(MemberScore.member_id == member_id, MemberScore.period_key == "all"))
    assert [p.split(":")[0] for p in services.verify_totals()] == [f"member score ({member_id}, 'all')"]
