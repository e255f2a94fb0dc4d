"""A page of a member ranking without ranking everyone: rows read in score order from the indexed
member scores (or a snapshot's rows) with LIMIT, ranks from the distribution of scores, and the
figures the rankings page shows computed once for everyone who opens it at the same moment.

``rankings.member_ranking`` (window functions over every member) is the plain computation the tests
hold these pages equal to.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import exists, func, literal, select

from learning.cache import shared
from learning.extensions import db
from learning.orgs.models import Member, Organisation
from learning.orgs.scoping import in_subtree
from learning.points import periods
from learning.points.models import MemberScore, SnapshotMember
from learning.points.rankings import MemberRow, OrgRow, org_ranking, snapshot_for
from learning.points.scoring import OrgFigures


@dataclass
class RankingPage:
    """One page of a member ranking, with what the page around it shows: how many members are
    ranked and how many have each score (the distribution chart)."""

    rows: list[MemberRow]
    total: int
    distribution: dict[int, int]


@dataclass
class RankingCounts:
    """How many members of a ranking have each score (members with no entries included in 0), and
    how many of those zeros have no entries at all."""

    distribution: dict[int, int]
    total: int
    unscored: int

    def as_json(self) -> dict:
        return {"distribution": sorted(self.distribution.items()), "total": self.total, "unscored": self.unscored}

    @classmethod
    def from_json(cls, data: dict) -> "RankingCounts":
        return cls({int(p): int(n) for p, n in data["distribution"]}, data["total"], data["unscored"])


def ranking_sources(org: Organisation, period_key: str, statuses: list[str] | None):
    """(the scored rows, the members with no entries or None for a snapshot, the count of members
    in scope or None) of a ranking, as SELECTs with the same columns."""
    snapshot = snapshot_for(period_key)
    if snapshot is not None:
        scored = (
            select(SnapshotMember.member_id, SnapshotMember.name, SnapshotMember.status, SnapshotMember.organisation_id,
                   Organisation.name.label("org_name"), SnapshotMember.points.label("points"),
                   SnapshotMember.last_entry_id.label("last"))
            .join(Organisation, Organisation.id == SnapshotMember.organisation_id)
            .where(SnapshotMember.snapshot_id == snapshot.id, in_subtree(Organisation.path, org.path))
        )
        if statuses:
            scored = scored.where(SnapshotMember.status.in_(statuses))
        return scored, None, None
    scored = (
        select(MemberScore.member_id, Member.name, Member.status, Member.organisation_id,
               Organisation.name.label("org_name"), MemberScore.points.label("points"),
               MemberScore.last_entry_id.label("last"))
        .join(Member, Member.id == MemberScore.member_id)
        .join(Organisation, Organisation.id == Member.organisation_id)
        .where(MemberScore.period_key == period_key, Member.active.is_(True), in_subtree(Organisation.path, org.path))
    )
    unscored = (
        select(Member.id.label("member_id"), Member.name, Member.status, Member.organisation_id,
               Organisation.name.label("org_name"), literal(0).label("points"), literal(0).label("last"))
        .join(Organisation, Organisation.id == Member.organisation_id)
        .where(Member.active.is_(True), in_subtree(Organisation.path, org.path),
               ~exists().where(MemberScore.member_id == Member.id, MemberScore.period_key == period_key))
    )
    in_scope = (select(func.count()).select_from(Member).join(Organisation, Organisation.id == Member.organisation_id)
                .where(Member.active.is_(True), in_subtree(Organisation.path, org.path)))
    if statuses:
        scored = scored.where(Member.status.in_(statuses))
        unscored = unscored.where(Member.status.in_(statuses))
        in_scope = in_scope.where(Member.status.in_(statuses))
    return scored, unscored, in_scope


def ranking_counts(org: Organisation, period_key: str, statuses: list[str] | None = None) -> RankingCounts:
    periods.parse(period_key)
    return _counts(*ranking_sources(org, period_key, statuses))


def _counts(scored, _unscored, in_scope) -> RankingCounts:
    counted = scored.subquery()
    distribution = {int(p): int(n) for p, n in db.session.execute(
        select(counted.c.points, func.count()).group_by(counted.c.points))}
    total = sum(distribution.values())
    missing = (db.session.scalar(in_scope) - total) if in_scope is not None else 0
    if missing:
        distribution[0] = distribution.get(0, 0) + missing
    return RankingCounts(distribution, total + missing, missing)


def member_ranking_page(org: Organisation, period_key: str, statuses: list[str] | None = None,
                        *, page: int = 1, per_page: int = 20, counts: RankingCounts | None = None) -> RankingPage:
    """The same rows as ``member_ranking(...)[offset:offset + per_page]`` without ranking everyone.

    The page is read in score order from the indexed member scores (or the snapshot's rows), and
    each row's rank follows from the distribution of scores (``counts``, computed when not given):
    one more than the members above it.  Members with no entries in the period score 0 and come
    after those whose entries net to 0."""
    periods.parse(period_key)
    sources = ranking_sources(org, period_key, statuses)
    counts = counts or _counts(*sources)
    scored, unscored, _in_scope = sources
    distribution, total, missing = counts.distribution, counts.total, counts.unscored
    offset = (max(page, 1) - 1) * per_page

    def ordered(query, start, count, scores=None):
        """``count`` rows from ``start`` in score order; with ``scores`` (how many rows of the query
        have each score) only the scores the page holds are read and sorted, not every row."""
        ranked = query.subquery()
        select_page = select(ranked).order_by(ranked.c.points.desc(), ranked.c.last == 0, ranked.c.last,
                                              ranked.c.name, ranked.c.member_id)
        if scores:
            high, low, before = score_window(scores, start, count)
            if high is not None:
                found = list(db.session.execute(select_page.where(ranked.c.points.between(low, high))
                                                .offset(start - before).limit(count)))
                if len(found) == min(count, sum(scores.values()) - start):
                    return found
                # a score changed since the counts were taken: read the page without the window
        return list(db.session.execute(select_page.offset(start).limit(count)))

    if unscored is None:
        found = ordered(scored, offset, per_page, distribution) if offset < total else []
    else:
        # score order: scored members at 0 or above, then members with no entries (0), then scores below 0
        at_or_above = {p: n - (missing if p == 0 else 0) for p, n in distribution.items() if p >= 0}
        below = {p: n for p, n in distribution.items() if p < 0}
        ahead = sum(at_or_above.values())
        found = []
        for part, size, scores in ((scored.where(MemberScore.points >= 0), ahead, at_or_above), (unscored, missing, None),
                                   (scored.where(MemberScore.points < 0), total - ahead - missing, below)):
            if len(found) < per_page and offset < size:
                found += ordered(part, offset, per_page - len(found), scores)
            offset = max(offset - size, 0)
    above = members_above(distribution)
    rows = []
    for r in found:
        rank = above[int(r.points)] + 1
        percent = (rank - 1) / (total - 1) if total > 1 else 0.0
        rows.append(MemberRow(
            member_id=r.member_id, name=r.name, status=r.status.value if hasattr(r.status, "value") else r.status,
            organisation_id=r.organisation_id, organisation_name=r.org_name, points=int(r.points), rank=rank,
            percentile=round((1 - percent) * 100, 1), total=total))
    return RankingPage(rows, total, distribution)


def score_window(scores: dict[int, int], start: int, count: int) -> tuple[int | None, int | None, int]:
    """(the highest score, the lowest score, how many rows come before the highest) of the rows
    ``start`` to ``start + count - 1`` of a list in score order, given how many rows have each score."""
    seen, before, high, low = 0, 0, None, None
    for points in sorted(scores, reverse=True):
        n = scores[points]
        if n <= 0:
            continue
        if high is None and seen + n <= start:
            seen += n
            before = seen
            continue
        high = points if high is None else high
        low = points
        seen += n
        if seen >= start + count:
            break
    return high, low, before


class _Above(dict):
    """Members above each score; a score the counts do not have (it changed since they were taken)
    is counted when asked for."""

    def __init__(self, distribution: dict[int, int]):
        super().__init__()
        self.distribution = distribution
        running = 0
        for points in sorted(distribution, reverse=True):
            self[points] = running
            running += distribution[points]

    def __missing__(self, points: int) -> int:
        return sum(n for p, n in self.distribution.items() if p > points)


def members_above(distribution: dict[int, int]) -> dict[int, int]:
    """For each score, how many members have a higher one."""
    return _Above(distribution)


def page_figures(org: Organisation, period_key: str, statuses: list[str] | None = None) -> tuple[RankingCounts, list[OrgRow]]:
    """What the rankings page shows besides its rows — the distribution of scores and the
    organisations below ranked — computed once for everyone who opens the same page at the same
    moment (learning.cache.shared: the others wait for that result instead of computing it again)."""
    def compute() -> dict:
        return {"counts": ranking_counts(org, period_key, statuses).as_json(),
                "children": [asdict(row) for row in org_ranking(org, period_key)]}

    found = shared(f"rankings:{org.id}:{period_key}:{','.join(statuses or [])}", compute)
    children = [OrgRow(**{**row, "figures": OrgFigures(**row["figures"])}) for row in found["children"]]
    return RankingCounts.from_json(found["counts"]), children
