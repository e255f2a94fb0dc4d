"""年考评: the year's branch score combines points, the four inspections and the monthly reports (weights
in content/evaluation/yearly.yaml) on a 110-point scale; stars follow a published scale with a cap on five
stars.  The committee confirms once the year is closed; the confirmed rows are frozen with a SHA-256 that a
recomputation must reproduce (``verify``)."""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from fractions import Fraction
from functools import lru_cache

import yaml
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from learning.config import PACKAGE_DIR
from learning.evaluation import inspections, reports
from learning.evaluation.models import Inspection, InspectionStatus, MonthlyReport, ReportStatus, YearlyResult
from learning.evaluation.errors import EvaluationError
from learning.extensions import db
from learning.orgs.models import Organisation
from learning.orgs.scoping import Permission, scope_for
from learning.points import periods


class YearError(EvaluationError):
    default_status = 409


@lru_cache(maxsize=1)
def settings() -> dict:
    data = yaml.safe_load((PACKAGE_DIR / "content" / "evaluation" / "yearly.yaml").read_text(encoding="utf-8"))
    return {"parts": {k: float(v) for k, v in data["parts"].items()},
            "stars": sorted(((int(k), float(v)) for k, v in data["stars"].items()), reverse=True),
            "five_star_share": Fraction(str(data["five_star_share"]))}


@dataclass
class YearRow:
    branch_id: int
    branch: str
    ranking_score: float
    inspection_points: float  # the four inspections' total
    inspection_max: int
    reports_on_time: int
    points_part: float
    inspections_part: float
    reports_part: float
    score: float
    stars: int
    rank: int = 0


def _stars(score: float) -> int:
    return next((n for n, low in settings()["stars"] if score >= low), 0)


def compute(org: Organisation, year: int) -> list[YearRow]:
    """The year's rows for the branches under ``org``, best first (ties share a rank)."""
    from learning.points.rankings import branch_ranking
    from learning.points.scoring import rank_with_ties

    parts = settings()["parts"]
    ranking = branch_ranking(org, str(year))
    best = max((r.score for r in ranking), default=0) or 0
    quarters = [f"{year}Q{q}" for q in (1, 2, 3, 4)]
    per_quarter = sum(int(i["max"]) for i in inspections.checklist())
    found = db.session.scalars(select(Inspection).options(selectinload(Inspection.items)).where(
        Inspection.quarter_key.in_(quarters), Inspection.status == InspectionStatus.PUBLISHED,
        Inspection.organisation_id.in_(select(reports.branches_under(org).subquery().c.id))))
    inspected: dict[int, float] = {}
    for inspection in found:
        inspected[inspection.organisation_id] = inspected.get(inspection.organisation_id, 0) + inspections.total(inspection)
    on_time = dict(db.session.execute(select(MonthlyReport.organisation_id, func.count()).where(
        MonthlyReport.month_key.like(f"{year}-%"), MonthlyReport.status == ReportStatus.SUBMITTED,
        MonthlyReport.late.is_(False)).group_by(MonthlyReport.organisation_id)).all())
    rows = []
    for r in ranking:
        points_part = round(parts["points"] * r.score / best, 1) if best > 0 else 0.0
        total = round(inspected.get(r.organisation_id, 0), 1)
        inspections_part = round(parts["inspections"] * total / (4 * per_quarter), 1) if per_quarter else 0.0
        reports_part = round(parts["reports"] * on_time.get(r.organisation_id, 0) / 12, 1)
        score = round(points_part + inspections_part + reports_part, 1)
        rows.append(YearRow(r.organisation_id, r.name, round(r.score, 2), total, 4 * per_quarter,
                            on_time.get(r.organisation_id, 0), points_part, inspections_part, reports_part, score,
                            _stars(score)))
    rows.sort(key=lambda row: (-row.score, row.branch))
    for row, rank in zip(rows, rank_with_ties([row.score for row in rows])):
        row.rank = rank
    # Five stars for at most the share of the branches, best first; a tie that does not fit drops whole.
    allowed = int(len(rows) * settings()["five_star_share"])
    fives = [row for row in rows if row.stars == 5]
    taken, full_up = 0, False
    for score in sorted({row.score for row in fives}, reverse=True):
        group = [row for row in fives if row.score == score]
        full_up = full_up or taken + len(group) > allowed
        if full_up:
            for row in group:
                row.stars = 4
        else:
            taken += len(group)
    return rows


def checksum(rows: list[dict]) -> str:
    return hashlib.sha256(json.dumps(rows, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()


def result_of(org: Organisation, year: int) -> YearlyResult | None:
    return db.session.scalar(select(YearlyResult).where(YearlyResult.organisation_id == org.id, YearlyResult.year == year))


def rows_of(org: Organisation, year: int) -> tuple[YearlyResult | None, list[dict]]:
    """The confirmed result and its frozen rows, or (None, the rows as computed now)."""
    result = result_of(org, year)
    return result, (result.rows if result else [asdict(row) for row in compute(org, year)])


def may_confirm(account, org: Organisation) -> bool:
    return scope_for(account).can_org(Permission.MANAGE_ORGS, org) and not reports.is_branch(org)


def confirm(actor, org: Organisation, year: int) -> YearlyResult:
    """Freeze the year's rows for ``org``: once the year's points are closed, once per organisation and year."""
    from learning.points.rankings import is_closed

    if not may_confirm(actor, org):
        raise YearError(_l("No such organisation among those you manage."), status=404)
    if not is_closed(str(year)):
        raise YearError(_l("Close the year %(year)d first: its points must no longer change.", year=year))
    rows = [asdict(row) for row in compute(org, year)]
    result = YearlyResult(organisation_id=org.id, year=year, rows=rows, checksum=checksum(rows),
                          confirmed_by_account_id=actor.id)
    try:
        with db.session.begin_nested():
            db.session.add(result)
            db.session.flush()
    except IntegrityError:
        raise YearError(_l("The year %(year)d is confirmed already.", year=year)) from None
    from learning.audit.services import record

    record("evaluation.year_confirmed", actor=actor, target=f"year:{year}", organisation_id=org.id,
           detail={"branches": len(rows), "checksum": result.checksum})
    return result


def verify(result: YearlyResult) -> list[str]:
    """What no longer matches: the stored rows against their checksum, and against a recomputation."""
    problems = []
    if checksum(result.rows) != result.checksum:
        problems.append(str(_l("The stored rows do not match their checksum.")))
    if [asdict(row) for row in compute(result.organisation, result.year)] != result.rows:
        problems.append(str(_l("A recomputation from the frozen inputs gives other rows.")))
    return problems


def year_label(year: int) -> str:
    return periods.label(str(year))
