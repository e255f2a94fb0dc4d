"""Suggested appraisal grades (民主评议党员) and award eligibility (评先评优) for a period.

Suggestions only: the branch's members' meeting decides.  The policy is in
content/points/scoring.yaml.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal
from typing import Callable

from flask_babel import lazy_gettext as _l

from learning.orgs.models import Organisation
from learning.points import periods
from learning.points.rankings import MemberRow, member_ranking
from learning.points.scoring import policy, rank_with_ties


class Grade(str, enum.Enum):
    EXCELLENT = "excellent"
    QUALIFIED = "qualified"
    BASIC = "basically_qualified"
    UNQUALIFIED = "unqualified"


APPRAISED = ("full", "probationary")


@dataclass(frozen=True)
class StudyHours:
    """A member's credit hours in the gate's period against their quota there."""

    period_key: str
    required: Decimal
    elective: Decimal
    need_required: Decimal
    need_elective: Decimal


# Study hours come from the courses feature, which registers itself here (points imports no feature).
HoursProvider = Callable[[list[int], str], dict[int, StudyHours]]
_hours_provider: HoursProvider | None = None


def register_hours_provider(provider: HoursProvider) -> None:
    global _hours_provider
    _hours_provider = provider


# Hours of volunteer service (志愿服务时长) in a year, from orglife, likewise: per member ({member id: hours})
# and per branch under an organisation ({branch id: hours}).
VolunteerProvider = Callable[[list[int], int], dict[int, Decimal]]
BranchVolunteerProvider = Callable[[Organisation, int], dict[int, Decimal]]
_volunteer_providers: tuple[VolunteerProvider, BranchVolunteerProvider] | None = None


def register_volunteer_provider(members: VolunteerProvider, branches: BranchVolunteerProvider) -> None:
    global _volunteer_providers
    _volunteer_providers = (members, branches)


def branch_service(org: Organisation, period_key: str) -> dict[int, Decimal] | None:
    """Hours of volunteer service per branch under ``org`` in the period's year (None: not available)."""
    year = service_year(period_key)
    return _volunteer_providers[1](org, year) if _volunteer_providers and year else None


def service_year(period_key: str) -> int | None:
    """The year whose volunteer hours an appraisal of ``period_key`` shows (None for all time)."""
    span = periods.parse(period_key)
    return span.starts_on.year if span.starts_on else None


def gate_period(period_key: str) -> str:
    """The period whose hours decide 评先评优 for an appraisal of ``period_key`` (scoring.yaml's
    ``eligibility.period``: the quarter or the year it lies in; the current one for all time)."""
    span = periods.parse(period_key)
    day = span.ends_on if span.kind != "all" else periods.local_today()
    if policy().eligibility_period == "year" or span.kind == "year":
        return periods.year_key(day)
    return periods.quarter_key(day)


def eligibility(hours: StudyHours | None) -> tuple[bool | None, str | None]:
    """(eligible, the reason when not) under scoring.yaml's ``eligibility`` policy."""
    if hours is None:
        return None, None
    p = policy()
    missing = []
    if p.eligibility_required and hours.required < hours.need_required:
        missing.append(str(_l("required %(got)s of %(need)s hours", got=_hours(hours.required),
                              need=_hours(hours.need_required))))
    if p.eligibility_elective and hours.elective < hours.need_elective:
        missing.append(str(_l("elective %(got)s of %(need)s hours", got=_hours(hours.elective),
                              need=_hours(hours.need_elective))))
    if not missing:
        return True, None
    return False, str(_l("Study hours of %(period)s not complete: %(missing)s", period=hours.period_key,
                         missing="；".join(missing)))


def _hours(value: Decimal) -> str:
    return f"{value.normalize():f}"


@dataclass
class AppraisalRow:
    ranking: MemberRow
    grade: Grade | None  # None: ranked but not graded (probationary members)
    eligible: bool | None  # None: study hours are not available (no courses feature)
    hours: StudyHours | None = None
    reason: str | None = None  # why not eligible
    volunteer_hours: Decimal | None = None  # in the period's year; None: not available


def appraise(org: Organisation, period_key: str) -> list[AppraisalRow]:
    p = policy()
    rows = [r for r in member_ranking(org, period_key) if r.status in APPRAISED]
    hours = _hours_provider([r.member_id for r in rows], gate_period(period_key)) if _hours_provider else {}
    year = service_year(period_key)
    served = _volunteer_providers[0]([r.member_id for r in rows], year) if _volunteer_providers and year else None
    # members with the same hours and quota get the same answer: worded once per distinct case
    worded: dict = {}

    def gate_of(found: StudyHours | None):
        key = None if found is None else (found.period_key, found.required, found.elective, found.need_required,
                                          found.need_elective)
        if key not in worded:
            worded[key] = eligibility(found)
        return worded[key]

    gate = {r.member_id: gate_of(hours.get(r.member_id)) for r in rows}
    full = [r for r in rows if r.status == "full"]
    grades: dict[int, Grade] = {}

    # 优秀: whole groups of equal scores, best first, while the total stays within the share; only
    # members eligible for awards (the study-hours gate) are suggested.
    allowed = int(len(full) * p.excellent_share)  # exact: the share is a Fraction
    taken = 0
    groups: list[list[MemberRow]] = []
    for row in (r for r in full if gate[r.member_id][0] is not False):
        if groups and groups[-1][0].points == row.points:
            groups[-1].append(row)
        else:
            groups.append([row])
    for group in groups:
        if group[0].points <= 0 or taken + len(group) > allowed:
            break
        for row in group:
            grades[row.member_id] = Grade.EXCELLENT
        taken += len(group)

    # Percentiles among full members only.
    ranks = rank_with_ties([r.points for r in full])
    n = len(full)
    for row, rank in zip(full, ranks):
        if row.member_id in grades:
            continue
        percentile = 100.0 * (1 - (rank - 1) / (n - 1)) if n > 1 else 100.0
        if row.points < p.unqualified_points_below:
            grades[row.member_id] = Grade.UNQUALIFIED
        elif n >= p.basic_min_members and percentile < p.basic_below_percentile:
            grades[row.member_id] = Grade.BASIC
        else:
            grades[row.member_id] = Grade.QUALIFIED
    return [AppraisalRow(r, grades.get(r.member_id), gate[r.member_id][0], hours.get(r.member_id), gate[r.member_id][1],
                         None if served is None else served.get(r.member_id, Decimal(0)))
            for r in rows]
