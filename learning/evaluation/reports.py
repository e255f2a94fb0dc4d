"""The monthly report (月报告): each branch's secretary writes a short account beside the figures the
system assembled and submits it by the deadline (content/evaluation/reports.yaml); the committee sees who
submitted, who is late and reads each report; late branches are reminded through the notification centre.

Who may write: the branch's own administrators (a branch-secretary or org-admin grant on that branch),
never a committee for it: punctuality is the branch's.  Who may read: anyone who sees the branch's scores.
A submitted report is frozen: its figures are kept as they were, nobody edits it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

import yaml
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from learning.accounts.models import Account, Role, RoleGrant
from learning.config import PACKAGE_DIR
from learning.db import utcnow
from learning.evaluation.figures import month_figures
from learning.evaluation.models import MonthlyReport, ReportStatus
from learning.evaluation.errors import EvaluationError
from learning.extensions import db
from learning.notifications.services import notify
from learning.orgs.models import Organisation, OrgKind
from learning.orgs.scoping import Permission, in_subtree, scope_for
from learning.points import periods

WRITERS = (Role.BRANCH_SECRETARY, Role.ORG_ADMIN)
REPORT_REMINDER = "report_reminder"


class ReportError(EvaluationError):
    pass


@lru_cache(maxsize=1)
def settings() -> dict:
    data = yaml.safe_load((PACKAGE_DIR / "content" / "evaluation" / "reports.yaml").read_text(encoding="utf-8"))
    return data["monthly"]


def deadline(month_key: str) -> date:
    """The last day to submit ``month_key``'s report: day ``due_day`` of the next month."""
    span = periods.parse(month_key)
    year, month = (span.starts_on.year + 1, 1) if span.starts_on.month == 12 else (span.starts_on.year, span.starts_on.month + 1)
    return date(year, month, settings()["due_day"])


def last_month(today: date) -> str:
    return periods.month_key(date(today.year, today.month, 1) - timedelta(days=1))


def parse_month(month_key: str | None, today: date) -> str:
    """A month a report can be about: this one (a draft) or one before it, from 2000."""
    try:
        span = periods.parse(month_key or "")
    except periods.PeriodError:
        span = None
    if span is None or span.kind != "month" or span.starts_on.year < 2000 or span.starts_on > today:
        raise ReportError(_l("Choose a month up to this one, as 2026-11."), field="month")
    return month_key


def is_branch(org: Organisation | None) -> bool:
    return org is not None and org.active and org.kind == OrgKind.BRANCH


def may_write(account: Account | None, branch: Organisation) -> bool:
    if account is None or not account.is_active or not is_branch(branch):
        return False
    return any(g.role in WRITERS and g.organisation_id == branch.id for g in account.grants)


def may_read(account: Account | None, branch: Organisation) -> bool:
    return account is not None and is_branch(branch) and scope_for(account).can_org(Permission.VIEW_SCORES, branch)


def written_branches(account: Account) -> list[Organisation]:
    """The branches ``account`` writes reports for."""
    ids = [g.organisation_id for g in account.grants if g.role in WRITERS and g.organisation_id]
    if not ids:
        return []
    return [o for o in db.session.scalars(select(Organisation).where(Organisation.id.in_(ids)).order_by(Organisation.path))
            if is_branch(o)]


def report_of(branch: Organisation, month_key: str, *, for_update: bool = False) -> MonthlyReport | None:
    query = select(MonthlyReport).where(MonthlyReport.organisation_id == branch.id, MonthlyReport.month_key == month_key)
    return db.session.scalar(query.with_for_update() if for_update else query)


def save(account: Account, branch: Organisation, month_key: str, text: str, *, submit: bool,
         now: datetime | None = None) -> MonthlyReport:
    """Keep the secretary's account as a draft, or submit the report (figures frozen, late or not)."""
    now = now or utcnow()
    today = periods.local_today(now)
    if not may_write(account, branch):
        raise ReportError(_l("No such branch among yours."), status=404)
    month_key = parse_month(month_key, today)
    text = (text or "").strip()
    limit = settings()["max_length"]
    if len(text) > limit:
        raise ReportError(_l("At most %(n)d characters.", n=limit), field="account")
    if submit and len(text) < 10:
        raise ReportError(_l("Write a short account of the month (at least 10 characters) before submitting."),
                          field="account")
    span = periods.parse(month_key)
    if submit and span.ends_on >= today:
        raise ReportError(_l("The month has not ended yet: save a draft and submit it from the 1st of next month."),
                          field="month")
    report = report_of(branch, month_key, for_update=True) or _create(branch, month_key)
    if report.status == ReportStatus.SUBMITTED:
        raise ReportError(_l("This report was submitted on %(day)s and can no longer be changed.",
                             day=periods.local_date(report.submitted_at).isoformat()), status=409)
    report.account, report.updated_at, report.updated_by_account_id = text, now, account.id
    if submit:
        report.status, report.submitted_at, report.submitted_by_account_id = ReportStatus.SUBMITTED, now, account.id
        report.late = today > deadline(month_key)
        report.figures = month_figures(branch, month_key)
    db.session.flush()
    return report


def _create(branch: Organisation, month_key: str) -> MonthlyReport:
    report = MonthlyReport(organisation_id=branch.id, month_key=month_key, status=ReportStatus.DRAFT, account="")
    try:
        with db.session.begin_nested():
            db.session.add(report)
            db.session.flush()
    except IntegrityError:  # the other secretary of the branch started it at the same moment
        report = report_of(branch, month_key, for_update=True)
    return report


# -- the committee's view ----------------------------------------------------------------------
@dataclass
class ReportLine:
    branch: Organisation
    report: MonthlyReport | None
    state: str  # submitted, late (submitted after the deadline), draft, missing (nothing submitted)
    overdue: bool  # not submitted and the deadline has passed


def branches_under(org: Organisation):
    return (select(Organisation).where(in_subtree(Organisation.path, org.path), Organisation.kind == OrgKind.BRANCH,
                                       Organisation.active.is_(True)).order_by(Organisation.path))


def overview(org: Organisation, month_key: str, today: date) -> list[ReportLine]:
    branches = db.session.scalars(branches_under(org)).all()
    reports = {r.organisation_id: r for r in db.session.scalars(select(MonthlyReport).where(
        MonthlyReport.month_key == month_key, MonthlyReport.organisation_id.in_(select(branches_under(org).subquery().c.id))))}
    past_due = today > deadline(month_key)
    lines = []
    for branch in branches:
        report = reports.get(branch.id)
        if report is not None and report.status == ReportStatus.SUBMITTED:
            state = "late" if report.late else "submitted"
        else:
            state = "draft" if report is not None else "missing"
        lines.append(ReportLine(branch, report, state, past_due and state in ("draft", "missing")))
    return lines


def writers_of(branch_ids: list[int]) -> dict[int, list[int]]:
    """The member ids of each branch's report writers (those with a member record)."""
    found: dict[int, list[int]] = {}
    rows = db.session.execute(select(RoleGrant.organisation_id, Account.member_id).join(Account, Account.id == RoleGrant.account_id)
                              .where(RoleGrant.organisation_id.in_(branch_ids), RoleGrant.role.in_(WRITERS),
                                     Account.active.is_(True), Account.member_id.is_not(None))).all()
    for org_id, member_id in rows:
        found.setdefault(org_id, []).append(member_id)
    return found


def remind(lines: list[ReportLine], month_key: str, stage: str) -> int:
    """Tell the writers of every branch among ``lines`` without a submitted report; once per stage."""
    waiting = [line.branch for line in lines if line.state in ("draft", "missing")]
    writers = writers_of([b.id for b in waiting])
    sent = 0
    for branch in waiting:
        params = {"month": month_key, "branch": branch.name, "branch_id": branch.id,
                  "due": deadline(month_key).isoformat(), "stage": stage}
        sent += len(notify(REPORT_REMINDER, f"report:{month_key}:{branch.id}:{stage}",
                           {m: params for m in writers.get(branch.id, [])}))
    return sent


CATCH_UP_DAYS = 3


def remind_due(today: date) -> dict:
    """The scheduler's daily reminders of last month's report: ``remind_before_days`` before the deadline
    (due soon) and the day after it (late), each caught up on the next days if the scheduler was down."""
    month_key = last_month(today)
    due = deadline(month_key)
    soon = due - timedelta(days=settings()["remind_before_days"])
    stage = ("due_soon" if soon <= today <= min(due, soon + timedelta(days=CATCH_UP_DAYS - 1))
             else "late" if due < today <= due + timedelta(days=CATCH_UP_DAYS) else None)
    if stage is None:
        return {"month": month_key, "stage": None, "reminded": 0}
    roots = db.session.scalars(select(Organisation).where(Organisation.parent_id.is_(None))).all()
    sent = sum(remind(overview(root, month_key, today), month_key, stage) for root in roots)
    return {"month": month_key, "stage": stage, "reminded": sent}
