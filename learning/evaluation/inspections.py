"""季督查: a committee inspects each branch once a quarter against the checklist of
content/evaluation/checklist.yaml.  Computed items take the quarter's figures (meetings held on schedule,
study hours, participation, report punctuality); entered items take the inspector's score and comment.
Published, the branch sees its result and may dispute each item once; the inspector decides.  Everything
is frozen with the quarter: once its period is closed nobody changes a score or a dispute.

Who inspects: an administrator of the organisations above the branch (manage-orgs over it), never the
branch's own administrators — a branch secretary is not trusted with their own score.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import yaml
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from learning.config import PACKAGE_DIR
from learning.db import utcnow
from learning.evaluation import reports
from learning.evaluation.models import (
    DisputeState, Inspection, InspectionItem, InspectionStatus, MonthlyReport, ReportStatus,
)
from learning.evaluation.errors import EvaluationError
from learning.extensions import db
from learning.notifications.services import notify
from learning.orgs.models import Organisation
from learning.orgs.scoping import Permission, scope_for
from learning.points import periods

INSPECTION_PUBLISHED = "inspection_published"
MAX_TEXT = 500


class InspectionError(EvaluationError):
    pass


@lru_cache(maxsize=1)
def checklist() -> tuple[dict, ...]:
    data = yaml.safe_load((PACKAGE_DIR / "content" / "evaluation" / "checklist.yaml").read_text(encoding="utf-8"))
    return tuple(data["items"])


def parse_quarter(key: str | None, today: date) -> str:
    try:
        span = periods.parse(key or "")
    except periods.PeriodError:
        span = None
    if span is None or span.kind != "quarter" or span.starts_on.year < 2000 or span.starts_on > today:
        raise InspectionError(_l("Choose a quarter up to this one, as 2026Q4."), field="quarter", status=404)
    return key


def frozen(quarter_key: str) -> bool:
    from learning.points.rankings import is_closed

    return is_closed(quarter_key)


def may_inspect(account, branch: Organisation) -> bool:
    if account is None or not reports.is_branch(branch) or reports.may_write(account, branch):
        return False
    return scope_for(account).can_org(Permission.MANAGE_ORGS, branch)


def may_read(account, branch: Organisation, inspection: Inspection | None) -> bool:
    if may_inspect(account, branch):
        return True
    visible = inspection is not None and inspection.status == InspectionStatus.PUBLISHED
    return visible and reports.is_branch(branch) and scope_for(account).can_org(Permission.VIEW_SCORES, branch)


# -- the figures --------------------------------------------------------------------------------
def figures(branch: Organisation, quarter_key: str, today: date) -> dict[str, float]:
    """The computed items' shares (0–1) for the branch's quarter."""
    from learning.courses.services import subtree_compliance
    from learning.orglife.records import overview as records, windows_of
    from learning.points.rankings import branch_ranking

    record = next(iter(records(branch, quarter_key, today)), None)
    required = held = 0
    for line in (record.kinds.values() if record else []):
        if line.frequency:
            required += line.required
            held += len(set(line.windows) & line.held_in)
    study = subtree_compliance(branch, quarter_key)
    row = next((r for r in branch_ranking(branch, quarter_key) if r.organisation_id == branch.id), None)
    months = windows_of(periods.parse(quarter_key), "month")
    on_time = db.session.scalar(select(func.count()).select_from(MonthlyReport).where(
        MonthlyReport.organisation_id == branch.id, MonthlyReport.month_key.in_(months),
        MonthlyReport.status == ReportStatus.SUBMITTED, MonthlyReport.late.is_(False))) or 0
    return {
        "meetings_on_schedule": held / required if required else 0.0,
        "study_rate": study.compliant_count / len(study.lines) if study.lines else 0.0,
        "participation": (row.figures.participation / 100) if row else 0.0,
        "report_punctuality": on_time / 3,
    }


def _fill(inspection: Inspection, branch: Organisation, today: date) -> None:
    shares = figures(branch, inspection.quarter_key, today)
    for item in inspection.items:
        if item.computed:
            item.figure = round(shares.get(item.code, 0.0), 4)
            item.score = round(item.max_points * item.figure, 1)


# -- the inspector ----------------------------------------------------------------------------
def inspection_of(branch: Organisation, quarter_key: str) -> Inspection | None:
    return db.session.scalar(select(Inspection).where(Inspection.organisation_id == branch.id,
                                                      Inspection.quarter_key == quarter_key))


def start(actor, branch: Organisation, quarter_key: str, today: date) -> Inspection:
    """The branch's inspection of the quarter, begun from the checklist if it is not yet (a draft)."""
    if not may_inspect(actor, branch):
        raise InspectionError(_l("No such branch among those you inspect."), status=404)
    found = inspection_of(branch, quarter_key)
    if found is not None:
        if found.status == InspectionStatus.DRAFT and not frozen(quarter_key):
            _fill(found, branch, today)  # a draft follows the figures until it is published
        return found
    if frozen(quarter_key):
        raise InspectionError(_l("%(quarter)s is closed: its inspections can no longer change.",
                                 quarter=periods.label(quarter_key)), status=409)
    inspection = Inspection(organisation_id=branch.id, quarter_key=quarter_key, inspector_account_id=actor.id,
                            items=[InspectionItem(position=i, code=spec["code"], name=spec["name"], max_points=int(spec["max"]),
                                                  computed=not spec.get("entered"), comment="")
                                   for i, spec in enumerate(checklist())])
    try:
        with db.session.begin_nested():
            db.session.add(inspection)
            db.session.flush()
    except IntegrityError:  # two inspectors began it at once
        return inspection_of(branch, quarter_key)
    _fill(inspection, branch, today)
    return inspection


def _score(item: InspectionItem, value) -> float:
    try:
        score = float(value)
    except (TypeError, ValueError):
        raise InspectionError(_l("Enter a score from 0 to %(n)d.", n=item.max_points), field=item.code) from None
    if not 0 <= score <= item.max_points or score * 2 != int(score * 2):
        raise InspectionError(_l("Enter a score from 0 to %(n)d (halves allowed).", n=item.max_points), field=item.code)
    return score


def save(actor, inspection: Inspection, entries: dict[str, tuple[object, str]], *, publish: bool) -> Inspection:
    """Record the entered items' scores and comments ({code: (score, comment)}); publish when asked."""
    branch = inspection.organisation
    if not may_inspect(actor, branch):
        raise InspectionError(_l("No such branch among those you inspect."), status=404)
    if frozen(inspection.quarter_key):
        raise InspectionError(_l("%(quarter)s is closed: its inspections can no longer change.",
                                 quarter=periods.label(inspection.quarter_key)), status=409)
    if inspection.status == InspectionStatus.PUBLISHED:
        raise InspectionError(_l("This inspection is published: change a score by deciding a dispute."), status=409)
    for item in inspection.items:
        if item.computed or item.code not in entries:
            continue
        value, comment = entries[item.code]
        comment = (comment or "").strip()
        if len(comment) > MAX_TEXT:
            raise InspectionError(_l("At most %(n)d characters.", n=MAX_TEXT), field=item.code)
        item.score = None if value in (None, "") else _score(item, value)
        item.comment = comment
    if publish:
        missing = [i.name for i in inspection.items if not i.computed and (i.score is None or not i.comment)]
        if missing:
            raise InspectionError(_l("Score and comment every entered item before publishing: %(items)s.",
                                     items="、".join(missing)), field="publish")
        inspection.status, inspection.published_at = InspectionStatus.PUBLISHED, utcnow()
        writers = reports.writers_of([branch.id]).get(branch.id, [])
        notify(INSPECTION_PUBLISHED, f"inspection:{inspection.id}",
               {m: {"branch_id": branch.id, "quarter": inspection.quarter_key, "total": total(inspection)} for m in writers})
    inspection.inspector_account_id, inspection.updated_at = actor.id, utcnow()
    db.session.flush()
    return inspection


def total(inspection: Inspection) -> float:
    return round(sum(item.score or 0 for item in inspection.items), 1)


def maximum(inspection: Inspection) -> int:
    return sum(item.max_points for item in inspection.items)


# -- disputes ---------------------------------------------------------------------------------
def _item(inspection: Inspection, code: str) -> InspectionItem:
    item = next((i for i in inspection.items if i.code == code), None)
    if item is None:
        raise InspectionError(_l("No such item."), status=404)
    return item


def dispute(actor, inspection: Inspection, code: str, reason: str) -> InspectionItem:
    """The branch objects to one item's score, once."""
    branch = inspection.organisation
    if not reports.may_write(actor, branch) or inspection.status != InspectionStatus.PUBLISHED:
        raise InspectionError(_l("No such inspection of your branch."), status=404)
    if frozen(inspection.quarter_key):
        raise InspectionError(_l("%(quarter)s is closed: its inspections can no longer change.",
                                 quarter=periods.label(inspection.quarter_key)), status=409)
    item = _item(inspection, code)
    if item.dispute_state is not None:
        raise InspectionError(_l("This item has been disputed already: each item once."), status=409)
    reason = (reason or "").strip()
    if not 5 <= len(reason) <= MAX_TEXT:
        raise InspectionError(_l("Say why in 5 to %(n)d characters.", n=MAX_TEXT), field="reason")
    item.dispute_reason, item.dispute_state, item.disputed_by_account_id = reason, DisputeState.OPEN, actor.id
    db.session.flush()
    return item


def decide(actor, inspection: Inspection, code: str, *, accept: bool, score, reply: str) -> InspectionItem:
    if not may_inspect(actor, inspection.organisation):
        raise InspectionError(_l("No such branch among those you inspect."), status=404)
    if frozen(inspection.quarter_key):
        raise InspectionError(_l("%(quarter)s is closed: its inspections can no longer change.",
                                 quarter=periods.label(inspection.quarter_key)), status=409)
    item = _item(inspection, code)
    if item.dispute_state != DisputeState.OPEN:
        raise InspectionError(_l("This item has no open dispute."), status=409)
    reply = (reply or "").strip()
    if not 2 <= len(reply) <= MAX_TEXT:
        raise InspectionError(_l("Answer the branch in 2 to %(n)d characters.", n=MAX_TEXT), field="reply")
    if accept:
        item.score = _score(item, score)
    item.dispute_state = DisputeState.ACCEPTED if accept else DisputeState.REJECTED
    item.dispute_reply, item.decided_by_account_id = reply, actor.id
    db.session.flush()
    return item


# -- the committee's view ----------------------------------------------------------------------
@dataclass
class InspectionLine:
    branch: Organisation
    inspection: Inspection | None
    total: float | None
    open_disputes: int


def overview(account, org: Organisation, quarter_key: str) -> list[InspectionLine]:
    branches = db.session.scalars(reports.branches_under(org)).all()
    found = {i.organisation_id: i for i in db.session.scalars(select(Inspection).options(selectinload(Inspection.items))
             .where(Inspection.quarter_key == quarter_key,
                    Inspection.organisation_id.in_(select(reports.branches_under(org).subquery().c.id))))}
    lines = []
    for branch in branches:
        inspection = found.get(branch.id)
        if inspection is not None and not may_read(account, branch, inspection):
            inspection = None  # a draft, for its inspectors only
        lines.append(InspectionLine(branch, inspection, total(inspection) if inspection else None,
                                    sum(1 for i in inspection.items if i.dispute_state == DisputeState.OPEN) if inspection else 0))
    return lines
