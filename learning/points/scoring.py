"""The scoring policy of content/points/scoring.yaml: organisation scores, stars and grade bands."""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import yaml
from flask import current_app


@dataclass(frozen=True)
class Policy:
    per_member: float
    participation: float
    own: float
    appraised_statuses: tuple[str, ...]
    stars: tuple[tuple[int, float], ...]  # (stars, lowest score), best first
    excellent_share: Fraction
    basic_below_percentile: float
    basic_min_members: int
    unqualified_points_below: int
    # The rules whose points make a member count as taking part (participation rate).
    participation_rules: tuple[str, ...] = ()
    # 评先评优: which period's credit hours decide, and which quotas must be met.
    eligibility_period: str = "quarter"
    eligibility_required: bool = True
    eligibility_elective: bool = True
    # 民主评议 ballot: each grade's value, the weights of the ballot and of points, the bands of the combined score.
    ballot_values: tuple[tuple[str, float], ...] = ()
    ballot_weight: float = 0.7
    points_weight: float = 0.3
    ballot_bands: tuple[tuple[str, float], ...] = ()  # (grade, lowest combined score), best first


@lru_cache(maxsize=4)
def _load(path: str) -> Policy:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    weights = data["weights"]
    grades = data["grades"]
    return Policy(
        per_member=float(weights["per_member"]),
        participation=float(weights["participation"]),
        own=float(weights["own"]),
        appraised_statuses=tuple(data["appraised_statuses"]),
        stars=tuple(sorted(((int(k), float(v)) for k, v in data["stars"].items()), reverse=True)),
        excellent_share=Fraction(str(grades["excellent_share"])),
        basic_below_percentile=float(grades["basic_below_percentile"]),
        basic_min_members=int(grades.get("basic_min_members", 10)),
        unqualified_points_below=int(grades["unqualified_points_below"]),
        participation_rules=tuple(data["participation_rules"]),
        eligibility_period=str(data["eligibility"]["period"]),
        eligibility_required=bool(data["eligibility"]["required"]),
        eligibility_elective=bool(data["eligibility"]["elective"]),
        **_ballot(data.get("ballot") or {}),
    )


def _ballot(data: dict) -> dict:
    if not data:
        return {}
    return {"ballot_values": tuple((str(k), float(v)) for k, v in data["grade_values"].items()),
            "ballot_weight": float(data["weights"]["ballot"]), "points_weight": float(data["weights"]["points"]),
            "ballot_bands": tuple(sorted(((str(k), float(v)) for k, v in data["bands"].items()), key=lambda b: -b[1]))}


def policy() -> Policy:
    return _policy_in(current_app.config["CONTENT_DIR"])


@lru_cache(maxsize=4)
def _policy_in(content_dir) -> Policy:  # asked for once a row when a city's branches are scored
    return _load(str(Path(content_dir) / "points" / "scoring.yaml"))


@dataclass
class OrgFigures:
    """The raw figures of one organisation's subtree for a period."""

    member_count: int = 0  # appraised members now in the subtree
    active_members: int = 0  # of those, members who took part (points by a participation rule)
    member_points: int = 0  # members' points earned in the subtree
    own_points: int = 0  # the organisations' own points
    branch_count: int = 0

    def add(self, other: "OrgFigures") -> None:
        self.member_count += other.member_count
        self.active_members += other.active_members
        self.member_points += other.member_points
        self.own_points += other.own_points
        self.branch_count += other.branch_count

    @property
    def points_per_member(self) -> float:
        return self.member_points / self.member_count if self.member_count else 0.0

    @property
    def participation(self) -> float:
        """Share of appraised members who took part, 0–100."""
        return 100.0 * self.active_members / self.member_count if self.member_count else 0.0

    @property
    def own_per_branch(self) -> float:
        return self.own_points / max(self.branch_count, 1)


def org_score(figures: OrgFigures, p: Policy | None = None) -> float:
    p = p or policy()
    return round(
        p.per_member * figures.points_per_member
        + p.participation * figures.participation
        + p.own * figures.own_per_branch,
        2,
    )


def stars_for(score: float, p: Policy | None = None) -> int:
    p = p or policy()
    for stars, lowest in p.stars:
        if score >= lowest:
            return stars
    return 1


def rank_with_ties(scores: list[float]) -> list[int]:
    """Competition ranking of scores already sorted best first: 1, 2, 2, 4."""
    ranks, previous = [], None
    for position, score in enumerate(scores, start=1):
        if score != previous:
            current, previous = position, score
        ranks.append(current)
    return ranks


def participation_rule_ids(codes: list[str] | None = None) -> list[int]:
    """Ids of the rules that count as taking part (default: scoring.yaml's ``participation_rules``)."""
    from sqlalchemy import select

    from learning.extensions import db
    from learning.points.models import PointRule

    codes = list(policy().participation_rules) if codes is None else codes
    return list(db.session.scalars(select(PointRule.id).where(PointRule.code.in_(codes or ["-"]))))
