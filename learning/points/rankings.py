"""Scores and rankings for a period: live from the cached totals, or frozen from a snapshot.

Member rankings are one SQL query with window functions (RANK, PERCENT_RANK) over the
members of an organisation's subtree, so they stay fast at city scale.  Organisation
figures are grouped per organisation in SQL and rolled up the tree in one pass.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import aliased

from learning.extensions import db
from learning.orgs.models import Member, MemberStatus, Organisation, OrgKind
from learning.orgs.scoping import in_subtree
from learning.points import periods
from learning.points.models import (
    LedgerEntry, MemberScore, MemberTotal, OrgTotal, Period, Snapshot, SnapshotMember, SnapshotOrg,
)
from learning.points.scoring import OrgFigures, org_score, participation_rule_ids, policy, rank_with_ties, stars_for

# Ties share a rank; for display they are ordered by who reached the score first (the
# earlier last entry), then by name.
TIE_BREAK = "equal scores share a rank and are listed by who reached the score first, then by name"


@dataclass
class MemberRow:
    member_id: int
    name: str
    status: str
    organisation_id: int
    organisation_name: str
    points: int
    rank: int
    percentile: float  # 100 = top of the list, 0 = bottom
    total: int


@dataclass
class OrgRow:
    organisation_id: int
    name: str
    kind: str
    figures: OrgFigures
    score: float
    rank: int
    stars: int


def snapshot_for(period_key: str) -> Snapshot | None:
    return db.session.scalar(select(Snapshot).where(Snapshot.period_key == period_key))


def is_closed(period_key: str) -> bool:
    return db.session.scalar(select(Period.closed_at).where(Period.key == period_key)) is not None


def member_ranking_query(org: Organisation, period_key: str, statuses: list[str] | None = None):
    """Members of ``org``'s subtree ranked by their points in the period, as one SELECT."""
    periods.parse(period_key)
    snapshot = snapshot_for(period_key)
    if snapshot is not None:
        points = SnapshotMember.points
        last = SnapshotMember.last_entry_id
        query = (
            select(
                SnapshotMember.member_id, SnapshotMember.name, SnapshotMember.status,
                SnapshotMember.organisation_id, Organisation.name.label("org_name"), points.label("points"), last.label("last"),
            )
            .join(Organisation, Organisation.id == SnapshotMember.organisation_id)
            .where(SnapshotMember.snapshot_id == snapshot.id, in_subtree(Organisation.path, org.path))
        )
        status_column = SnapshotMember.status
    else:
        in_scope = (
            select(Member.id).join(Member.organisation)
            .where(Member.active.is_(True), in_subtree(Organisation.path, org.path))
        )
        totals = (
            select(
                MemberTotal.member_id,
                func.sum(MemberTotal.points).label("points"),
                func.max(MemberTotal.last_entry_id).label("last"),
            )
            .where(MemberTotal.period_key == period_key, MemberTotal.member_id.in_(in_scope))
            .group_by(MemberTotal.member_id)
            .subquery()
        )
        points = func.coalesce(totals.c.points, 0)
        last = func.coalesce(totals.c.last, 0)
        query = (
            select(
                Member.id.label("member_id"), Member.name, Member.status, Member.organisation_id,
                Organisation.name.label("org_name"), points.label("points"), last.label("last"),
            )
            .join(Organisation, Organisation.id == Member.organisation_id)
            .outerjoin(totals, totals.c.member_id == Member.id)
            .where(Member.active.is_(True), in_subtree(Organisation.path, org.path))
        )
        status_column = Member.status
    if statuses:
        query = query.where(status_column.in_(statuses))
    inner = query.subquery()
    return select(
        inner,
        func.rank().over(order_by=inner.c.points.desc()).label("rank"),
        func.percent_rank().over(order_by=inner.c.points.desc()).label("pct"),
        func.count().over().label("total"),
    ).order_by(
        inner.c.points.desc(),
        # who reached the score first: members with no entries (last = 0) after the rest
        (inner.c.last == 0), inner.c.last, inner.c.name, inner.c.member_id,
    )


def member_ranking(org: Organisation, period_key: str, statuses: list[str] | None = None,
                   *, limit: int | None = None, offset: int = 0) -> list[MemberRow]:
    query = member_ranking_query(org, period_key, statuses)
    if limit is not None:
        query = query.limit(limit).offset(offset)
    return [
        MemberRow(
            member_id=r.member_id, name=r.name, status=r.status.value if hasattr(r.status, "value") else r.status,
            organisation_id=r.organisation_id, organisation_name=r.org_name, points=int(r.points),
            rank=int(r.rank), percentile=round((1 - float(r.pct)) * 100, 1), total=int(r.total),
        )
        for r in db.session.execute(query)
    ]


def subtree_figures(root: Organisation, period_key: str) -> dict[int, OrgFigures]:
    """Rolled-up figures of every organisation in ``root``'s subtree for a live period."""
    p = policy()
    appraised = [MemberStatus(s) for s in p.appraised_statuses]
    orgs = db.session.execute(
        select(Organisation.id, Organisation.parent_id, Organisation.depth, Organisation.kind)
        .where(in_subtree(Organisation.path, root.path), Organisation.active.is_(True))
    ).all()
    figures = {o.id: OrgFigures(branch_count=1 if o.kind == OrgKind.BRANCH else 0) for o in orgs}
    in_root = in_subtree(Organisation.path, root.path)

    # appraised members, and of them those who took part (points by a participation rule, kept with
    # the member's score; see participants()), per organisation in one pass over the members
    took_part = func.sum(case((MemberScore.took_part > 0, 1), else_=0))
    for org_id, count, active in db.session.execute(
        select(Member.organisation_id, func.count(), took_part).join(Member.organisation)
        .outerjoin(MemberScore, (MemberScore.member_id == Member.id) & (MemberScore.period_key == period_key))
        .where(in_root, Member.active.is_(True), Member.status.in_(appraised)).group_by(Member.organisation_id)
    ):
        if org_id in figures:
            figures[org_id].member_count = count
            figures[org_id].active_members = int(active or 0)
    earned = db.session.execute(
        select(MemberTotal.organisation_id, func.sum(MemberTotal.points))
        .where(MemberTotal.period_key == period_key,
               MemberTotal.organisation_id.in_(select(Organisation.id).where(in_root)))
        .group_by(MemberTotal.organisation_id)
    )
    for org_id, total in earned:
        if org_id in figures:
            figures[org_id].member_points = int(total)
    own = db.session.execute(
        select(OrgTotal.organisation_id, OrgTotal.points)
        .join(Organisation, Organisation.id == OrgTotal.organisation_id)
        .where(in_root, OrgTotal.period_key == period_key)
    )
    for org_id, total in own:
        if org_id in figures:
            figures[org_id].own_points = int(total)
    return roll_up(figures, {o.id: (o.parent_id, o.depth) for o in orgs})


def children_figures(parent: Organisation, period_key: str) -> dict[int, OrgFigures]:
    """The same figures as ``subtree_figures(parent, …)`` for ``parent``'s children only, grouped by
    child in SQL (each organisation joined to the child whose path range holds it), so a city's
    rankings page does not gather and roll up its 14,000 organisations for 40 rows."""
    p = policy()
    child = aliased(Organisation)
    under = and_(child.parent_id == parent.id, child.active.is_(True), Organisation.active.is_(True),
                 in_subtree(Organisation.path, parent.path),  # a range the planner can use on its own
                 Organisation.path >= child.path,
                 Organisation.path < func.substr(child.path, 1, func.length(child.path) - 1) + "0")
    figures: dict[int, OrgFigures] = {}

    def each(query):
        for child_id, *values in db.session.execute(query.join(child, under).group_by(child.id)):
            yield figures.setdefault(child_id, OrgFigures()), values

    took_part = func.sum(case((MemberScore.took_part > 0, 1), else_=0))
    for f, (count, active) in each(
            select(child.id, func.count(), took_part).select_from(Member)
            .join(Organisation, Organisation.id == Member.organisation_id)
            .outerjoin(MemberScore, (MemberScore.member_id == Member.id) & (MemberScore.period_key == period_key))
            .where(Member.active.is_(True), Member.status.in_([MemberStatus(s) for s in p.appraised_statuses]))):
        f.member_count, f.active_members = count, int(active or 0)
    for f, (total,) in each(select(child.id, func.sum(MemberTotal.points)).select_from(MemberTotal)
                            .join(Organisation, Organisation.id == MemberTotal.organisation_id)
                            .where(MemberTotal.period_key == period_key)):
        f.member_points = int(total)
    for f, (total,) in each(select(child.id, func.sum(OrgTotal.points)).select_from(OrgTotal)
                            .join(Organisation, Organisation.id == OrgTotal.organisation_id)
                            .where(OrgTotal.period_key == period_key)):
        f.own_points = int(total)
    for f, (count,) in each(select(child.id, func.count()).select_from(Organisation)
                            .where(Organisation.kind == OrgKind.BRANCH)):
        f.branch_count = count
    return figures


def participants(period_key: str, rule_codes: list[str] | None = None):
    """A subquery of the members who took part in the period: points by a participation rule (net
    of corrections: an attendance cancelled after a dispute does not count)."""
    span = periods.parse(period_key)
    query = select(LedgerEntry.member_id).where(LedgerEntry.rule_id.in_(participation_rule_ids(rule_codes) or [-1]),
                                                LedgerEntry.member_id.is_not(None))
    column = {"month": LedgerEntry.month_key, "quarter": LedgerEntry.quarter_key, "year": LedgerEntry.year_key}.get(span.kind)
    if column is not None:
        query = query.where(column == span.key)
    return query.group_by(LedgerEntry.member_id).having(func.sum(LedgerEntry.points) > 0)


def roll_up(direct: dict[int, OrgFigures], tree: dict[int, tuple[int | None, int]]) -> dict[int, OrgFigures]:
    """Add every organisation's figures to its ancestors' (deepest first)."""
    for org_id in sorted(tree, key=lambda i: tree[i][1], reverse=True):
        parent_id = tree[org_id][0]
        if parent_id in direct:
            direct[parent_id].add(direct[org_id])
    return direct


def org_ranking(parent: Organisation, period_key: str) -> list[OrgRow]:
    """The children of ``parent`` ranked by score for the period."""
    periods.parse(period_key)
    snapshot = snapshot_for(period_key)
    if snapshot is not None:
        rows = db.session.execute(
            select(SnapshotOrg, Organisation.kind)
            .join(Organisation, Organisation.id == SnapshotOrg.organisation_id)
            .where(SnapshotOrg.snapshot_id == snapshot.id, SnapshotOrg.parent_id == parent.id)
        ).all()
        items = [
            (s.organisation_id, s.name, kind.value, OrgFigures(s.member_count, s.active_members, s.member_points, s.own_points, 0),
             s.score, s.stars)
            for s, kind in rows
        ]
    else:
        figures = children_figures(parent, period_key)
        children = db.session.execute(
            select(Organisation.id, Organisation.name, Organisation.kind)
            .where(Organisation.parent_id == parent.id, Organisation.active.is_(True))
        ).all()
        items, p = [], policy()
        for child in children:
            f = figures.get(child.id, OrgFigures())
            score = org_score(f, p)
            items.append((child.id, child.name, child.kind.value, f, score, stars_for(score, p)))
    items.sort(key=lambda i: (-i[4], i[1]))
    ranks = rank_with_ties([i[4] for i in items])
    return [OrgRow(i[0], i[1], i[2], i[3], i[4], r, i[5]) for i, r in zip(items, ranks)]


def org_figures(org: Organisation, period_key: str) -> OrgFigures:
    return subtree_figures(org, period_key).get(org.id, OrgFigures())


__all__ = ["member_ranking", "member_ranking_query", "org_ranking", "subtree_figures", "TIE_BREAK"]


def branch_ranking(org: Organisation, period_key: str) -> list[OrgRow]:
    """Every branch in ``org``'s subtree ranked by score (what an appraisal committee compares)."""
    periods.parse(period_key)
    snapshot = snapshot_for(period_key)
    branches = db.session.execute(
        select(Organisation.id, Organisation.name)
        .where(in_subtree(Organisation.path, org.path), Organisation.kind == OrgKind.BRANCH, Organisation.active.is_(True))
    ).all()
    items = []
    if snapshot is not None:
        frozen = {
            s.organisation_id: s
            for s in db.session.scalars(
                select(SnapshotOrg).where(SnapshotOrg.snapshot_id == snapshot.id,
                                          SnapshotOrg.organisation_id.in_([b.id for b in branches] or [-1]))
            )
        }
        for b in branches:
            s = frozen.get(b.id)
            if s is not None:
                f = OrgFigures(s.member_count, s.active_members, s.member_points, s.own_points, 1)
                items.append((b.id, b.name, "branch", f, s.score, s.stars))
    else:
        figures, p = subtree_figures(org, period_key), policy()
        for b in branches:
            f = figures.get(b.id, OrgFigures(branch_count=1))
            score = org_score(f, p)
            items.append((b.id, b.name, "branch", f, score, stars_for(score, p)))
    items.sort(key=lambda i: (-i[4], i[1]))
    ranks = rank_with_ties([i[4] for i in items])
    return [OrgRow(i[0], i[1], i[2], i[3], i[4], r, i[5]) for i, r in zip(items, ranks)]
