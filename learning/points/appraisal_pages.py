"""The appraisal of a subtree of any size: a page of it, and every row in order for the Excel file,
without grading a city's 220,000 members in Python.

The grades depend on everyone (the share of 优秀, percentiles among full members), but only through
how many members have each (status, score, eligible): one GROUP BY over the member scores joined to
the gate period's 学时 (the courses feature's SELECT) counts them, ``appraisal.Grading`` turns the
counts into thresholds, and each row on a page or in the file is graded by its own score.  A page's
rows are read in score order with LIMIT (``ranking_pages``), the file's are streamed.

``appraisal.appraise`` (the whole list graded in Python) is the plain computation the tests hold
these equal to.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Iterator

from sqlalchemy import and_, case, func, literal, select, true, union_all

from learning.extensions import db
from learning.orgs.models import Member, Organisation
from learning.points import periods
from learning.points.appraisal import (
    APPRAISED, AppraisalRow, Gate, Grade, Grading, StudyHours, gate_period, hours_available, hours_for, hours_query,
    volunteer_for,
)
from learning.points.ranking_pages import RankingCounts, member_ranking_page, members_above, ranking_sources
from learning.points.models import MemberScore
from learning.points.rankings import MemberRow
from learning.points.scoring import policy


@dataclass
class AppraisalFigures:
    """What every page of an appraisal shares: the grading, the counts that rank every member (ranks
    and percentiles are among all members, as on the rankings page) and those of the appraised
    members (the pages)."""

    grading: Grading
    ranked: RankingCounts
    appraised: RankingCounts

    @property
    def counts(self) -> dict[Grade | None, int]:
        return self.grading.counts()


def _status(value) -> str:
    return getattr(value, "value", value)


def _people(org: Organisation, period_key: str, statuses: list[str] | None = None):
    """Every member of the ranking (member_id, name, status, organisation_id, org_name, points, last,
    scored) as one subquery, and whether it comes from a snapshot."""
    scored, unscored, _count = ranking_sources(org, period_key, statuses)
    parts = [scored.add_columns(literal(1).label("scored"))]
    if unscored is not None:
        parts.append(unscored.add_columns(literal(0).label("scored")))
    return (union_all(*parts) if len(parts) > 1 else parts[0]).subquery(), unscored is None


def _hours(org: Organisation, period_key: str, people, from_snapshot: bool):
    """The gate period's hours of the people as a subquery, or None without the courses feature.  A
    live ranking's members are the subtree's active members, whose hours one SELECT of the subtree
    gives; a snapshot's may have moved since, so theirs are looked up by id."""
    query = hours_query(org, period_key, select(people.c.member_id) if from_snapshot else None)
    return None if query is None else query.subquery()


def _tally(org: Organisation, period_key: str):
    """A subquery of (status, points, scored, ok) for every member of the ranking, ``ok`` 1 or 0 by
    the study-hours gate, -1 where hours are not known."""
    people, from_snapshot = _people(org, period_key)
    if not hours_available():
        return select(people.c.status, people.c.points, people.c.scored, literal(-1).label("ok")).subquery()
    p = policy()

    def ok(hours):
        checks = ([hours.c.got_required >= hours.c.need_required] if p.eligibility_required else []) + \
                 ([hours.c.got_elective >= hours.c.need_elective] if p.eligibility_elective else [])
        return case((hours.c.member_id.is_(None), -1), (and_(true(), *checks), 1), else_=0).label("ok")

    if not from_snapshot:
        # live: the subtree's active members are the hours' rows; their scores joined in one pass
        lines = (hours_query(org, period_key)
                 .outerjoin(MemberScore, and_(MemberScore.member_id == Member.id, MemberScore.period_key == period_key))
                 .add_columns(Member.status.label("status"), func.coalesce(MemberScore.points, 0).label("points"),
                              case((MemberScore.member_id.is_(None), 0), else_=1).label("scored")).subquery())
        return select(lines.c.status, lines.c.points, lines.c.scored, ok(lines)).subquery()
    hours = _hours(org, period_key, people, from_snapshot)
    return (select(people.c.status, people.c.points, people.c.scored, ok(hours))
            .select_from(people.outerjoin(hours, hours.c.member_id == people.c.member_id)).subquery())


def figures(org: Organisation, period_key: str) -> AppraisalFigures:
    """The counts behind an appraisal's grades and ranks, in one GROUP BY."""
    periods.parse(period_key)
    inner = _tally(org, period_key)
    tally: Counter = Counter()
    every, every_unscored, appraised, appraised_unscored = Counter(), 0, Counter(), 0
    for status, points, scored, ok, n in db.session.execute(
            select(inner.c.status, inner.c.points, inner.c.scored, inner.c.ok, func.count())
            .group_by(inner.c.status, inner.c.points, inner.c.scored, inner.c.ok)):
        status, points = _status(status), int(points)
        tally[(status, points, {1: True, 0: False}.get(int(ok)))] += n
        every[points] += n
        every_unscored += 0 if scored else n
        if status in APPRAISED:
            appraised[points] += n
            appraised_unscored += 0 if scored else n
    return AppraisalFigures(Grading(dict(tally)), RankingCounts(dict(every), sum(every.values()), every_unscored),
                            RankingCounts(dict(appraised), sum(appraised.values()), appraised_unscored))


def _ranked(row: MemberRow, ranked: RankingCounts, above: dict[int, int]) -> MemberRow:
    """The row with its rank and percentile among every member of the ranking."""
    rank = above[row.points] + 1
    percent = (rank - 1) / (ranked.total - 1) if ranked.total > 1 else 0.0
    return replace(row, rank=rank, percentile=round((1 - percent) * 100, 1), total=ranked.total)


def page_rows(org: Organisation, period_key: str, found: AppraisalFigures, *, page: int, per_page: int
              ) -> list[AppraisalRow]:
    """The same rows as ``appraise(org, period_key)[offset:offset + per_page]``."""
    ranking = member_ranking_page(org, period_key, list(APPRAISED), page=page, per_page=per_page,
                                  counts=found.appraised)
    above = members_above(found.ranked.distribution)
    rows = [_ranked(r, found.ranked, above) for r in ranking.rows]
    ids = [r.member_id for r in rows]
    hours, served, gate = hours_for(ids, period_key), volunteer_for(ids, period_key), Gate()
    return [_appraised(r, hours.get(r.member_id), gate, found.grading, served) for r in rows]


def _appraised(row: MemberRow, hours: StudyHours | None, gate: Gate, grading: Grading,
               served: dict[int, Decimal] | None) -> AppraisalRow:
    eligible, reason = gate(hours)
    return AppraisalRow(row, grading.grade(row.status, row.points, eligible), eligible, hours, reason,
                        None if served is None else served.get(row.member_id, Decimal(0)))


def each_row(org: Organisation, period_key: str, *, batch: int = 5000) -> Iterator[AppraisalRow]:
    """Every row of ``appraise(org, period_key)`` in order, read from one streamed SELECT (for the
    Excel file: a city's rows never sit in memory together)."""
    found = figures(org, period_key)
    above = members_above(found.ranked.distribution)
    people, from_snapshot = _people(org, period_key, list(APPRAISED))
    hours = _hours(org, period_key, people, from_snapshot)
    query = select(people)
    if hours is not None:
        query = query.add_columns(hours.c.member_id.label("hours_of"), hours.c.got_required, hours.c.got_elective,
                                  hours.c.need_required, hours.c.need_elective) \
            .select_from(people.outerjoin(hours, hours.c.member_id == people.c.member_id))
    query = query.order_by(people.c.points.desc(), people.c.last == 0, people.c.last, people.c.name,
                           people.c.member_id)
    gate_key, gate = gate_period(period_key), Gate()
    for chunk in db.session.execute(query.execution_options(yield_per=batch)).partitions():
        served = volunteer_for([r.member_id for r in chunk], period_key)
        for r in chunk:
            row = _ranked(MemberRow(
                member_id=r.member_id, name=r.name, status=_status(r.status), organisation_id=r.organisation_id,
                organisation_name=r.org_name, points=int(r.points), rank=0, percentile=0.0, total=0),
                found.ranked, above)
            hours_of = StudyHours(gate_key, Decimal(r.got_required), Decimal(r.got_elective), Decimal(r.need_required),
                                  Decimal(r.need_elective)) if hours is not None and r.hours_of is not None else None
            yield _appraised(row, hours_of, gate, found.grading, served)
