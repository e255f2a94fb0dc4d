"""Suggested appraisal grades (民主评议党员) and award eligibility (评先评优) for a period.

Suggestions only: the branch's members' meeting decides.  The policy is in
content/points/scoring.yaml.
"""
from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Callable

from flask_babel import lazy_gettext as _l

from learning.orgs.models import Organisation
from learning.points import periods
from learning.points.ranking_pages import members_above
from learning.points.rankings import MemberRow, member_ranking
from learning.points.scoring import Policy, policy


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


# Study hours come from the courses feature, which registers itself here (points imports no feature):
# for a list of members ({member id: hours}), and as a SELECT of (member_id, got_required, got_elective,
# need_required, need_elective) for the members of a subtree, or of a SELECT of member ids.
HoursProvider = Callable[[list[int], str], dict[int, StudyHours]]
HoursQuery = Callable[..., object]
_hours_provider: tuple[HoursProvider, HoursQuery] | None = None


def register_hours_provider(members: HoursProvider, query: HoursQuery) -> None:
    global _hours_provider
    _hours_provider = (members, query)


def hours_available() -> bool:
    return _hours_provider is not None


def hours_query(org: Organisation, period_key: str, member_ids=None):
    """The SELECT of the gate period's hours for ``org``'s members (or ``member_ids``), None without
    the courses feature."""
    return _hours_provider[1](org, gate_period(period_key), member_ids) if _hours_provider else None


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


class Grading:
    """The suggested grades of one appraisal, from how many members have each (status, points,
    eligible) — counted in Python for a branch's list, or by one GROUP BY for a city.

    优秀: whole groups of equal scores, best first, while the total stays within the share; only
    members eligible for awards (the study-hours gate) are suggested.  The other full members by
    their percentile among full members; probationary members are ranked but not graded."""

    def __init__(self, tally: dict[tuple[str, int, bool | None], int], p: Policy | None = None):
        self.policy = p = p or policy()
        self.tally = tally
        full: Counter[int] = Counter()
        candidates: Counter[int] = Counter()  # full members the gate does not exclude
        for (status, points, eligible_), n in tally.items():
            if status == "full":
                full[points] += n
                if eligible_ is not False:
                    candidates[points] += n
        self.full = sum(full.values())
        allowed = int(self.full * p.excellent_share)  # exact: the share is a Fraction
        self.excellent_from: int | None = None  # the lowest score suggested excellent
        taken = 0
        for points in sorted(candidates, reverse=True):
            taken += candidates[points]
            if points <= 0 or taken > allowed:
                break
            self.excellent_from = points
        self.above = members_above(dict(full))  # full members scoring higher than each score

    def grade(self, status: str, points: int, eligible_: bool | None) -> Grade | None:
        if status != "full":
            return None
        p = self.policy
        if eligible_ is not False and self.excellent_from is not None and points >= self.excellent_from:
            return Grade.EXCELLENT
        rank, n = self.above[points] + 1, self.full
        percentile = 100.0 * (1 - (rank - 1) / (n - 1)) if n > 1 else 100.0
        if points < p.unqualified_points_below:
            return Grade.UNQUALIFIED
        if n >= p.basic_min_members and percentile < p.basic_below_percentile:
            return Grade.BASIC
        return Grade.QUALIFIED

    def counts(self) -> dict[Grade | None, int]:
        """How many appraised members have each grade (None: probationary, not graded)."""
        found: Counter = Counter()
        for (status, points, eligible_), n in self.tally.items():
            if status in APPRAISED:
                found[self.grade(status, points, eligible_)] += n
        return dict(found)


class Gate:
    """Eligibility and its reason for each member's hours, worded once per distinct case (members
    with the same hours and quota get the same answer)."""

    def __init__(self):
        self._worded: dict = {}

    def __call__(self, found: StudyHours | None) -> tuple[bool | None, str | None]:
        key = None if found is None else (found.period_key, found.required, found.elective, found.need_required,
                                          found.need_elective)
        if key not in self._worded:
            self._worded[key] = eligibility(found)
        return self._worded[key]


def appraise(org: Organisation, period_key: str) -> list[AppraisalRow]:
    """Every appraised member of ``org``'s subtree in ranking order, graded: the whole list, for a
    branch (``appraisal_pages`` reads a page of a city's)."""
    rows = [r for r in member_ranking(org, period_key) if r.status in APPRAISED]
    hours = hours_for([r.member_id for r in rows], period_key)
    served = volunteer_for([r.member_id for r in rows], period_key)
    gate_of = Gate()
    gate = {r.member_id: gate_of(hours.get(r.member_id)) for r in rows}
    grading = Grading(Counter((r.status, r.points, gate[r.member_id][0]) for r in rows))
    return [AppraisalRow(r, grading.grade(r.status, r.points, gate[r.member_id][0]), gate[r.member_id][0],
                         hours.get(r.member_id), gate[r.member_id][1],
                         None if served is None else served.get(r.member_id, Decimal(0)))
            for r in rows]


def hours_for(member_ids: list[int], period_key: str) -> dict[int, StudyHours]:
    """The members' credit hours in the gate's period of ``period_key`` ({} without the courses feature)."""
    return _hours_provider[0](member_ids, gate_period(period_key)) if _hours_provider and member_ids else {}


def volunteer_for(member_ids: list[int], period_key: str) -> dict[int, Decimal] | None:
    """The members' hours of volunteer service in the period's year (None: not available)."""
    year = service_year(period_key)
    return _volunteer_providers[0](member_ids, year) if _volunteer_providers and year else None
