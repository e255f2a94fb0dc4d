"""Suggested appraisal grades (民主评议党员) and award eligibility (评先评优) for a period.

Suggestions only: the branch's members' meeting decides.  The policy is in
content/points/scoring.yaml.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

from learning.orgs.models import Organisation
from learning.points.rankings import MemberRow, member_ranking
from learning.points.scoring import policy, rank_with_ties


class Grade(str, enum.Enum):
    EXCELLENT = "excellent"
    QUALIFIED = "qualified"
    BASIC = "basically_qualified"
    UNQUALIFIED = "unqualified"


APPRAISED = ("full", "probationary")


@dataclass
class AppraisalRow:
    ranking: MemberRow
    grade: Grade | None  # None: ranked but not graded (probationary members)
    eligible: bool | None  # None: study hours are not available yet


def appraise(org: Organisation, period_key: str) -> list[AppraisalRow]:
    p = policy()
    rows = [r for r in member_ranking(org, period_key) if r.status in APPRAISED]
    full = [r for r in rows if r.status == "full"]
    grades: dict[int, Grade] = {}

    # 优秀: whole groups of equal scores, best first, while the total stays within the share.
    allowed = int(len(full) * p.excellent_share)  # exact: the share is a Fraction
    taken = 0
    groups: list[list[MemberRow]] = []
    for row in full:
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
    return [AppraisalRow(r, grades.get(r.member_id), eligible_for_awards(r)) for r in rows]


def eligible_for_awards(row: MemberRow) -> bool | None:
    """评先评优 needs the period's required study hours; the courses feature provides them.

    Until it exists this answers None, which the pages show as "not yet available".
    """
    return None
