"""The appraisal year over /api/v1/evaluations…: monthly reports (the committee's list, a report, writing one)."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_smorest import Blueprint

from learning.api import auth_required, current_api_account
from learning.api.problems import problem
from learning.evaluation.api_common import refused, scored_org
from learning.evaluation import reports
from learning.evaluation.figures import month_figures
from learning.evaluation.schemas import (
    ReportArgsSchema, ReportListSchema, ReportSchema, ReportWriteSchema, YearArgsSchema, YearSchema,
)
from learning.extensions import db
from learning.orgs.models import Organisation
from learning.points import periods

blp = Blueprint("evaluation_api", __name__, url_prefix="/api/v1/evaluations",
                description="The appraisal year: branches' monthly reports")


def _line_dict(line: reports.ReportLine, month_key: str, *, with_figures: bool = False) -> dict:
    report = line.report
    figures = report.figures if report is not None and report.figures else (
        month_figures(line.branch, month_key) if with_figures else None)
    return {"branch_id": line.branch.id, "branch": line.branch.name, "month": month_key, "state": line.state,
            "due": reports.deadline(month_key), "overdue": line.overdue,
            "submitted_at": report.submitted_at if report else None,
            "account": report.account if report is not None and (with_figures or report.submitted_at) else None,
            "figures": figures}


@blp.route("/reports", methods=["GET"])
@auth_required(blp)
@blp.arguments(ReportArgsSchema, location="query")
@blp.response(200, ReportListSchema)
@blp.alt_response(404, description="No such organisation in your scope")
def report_list(args):
    """Every branch under an organisation (default: the top of your scope) with its report of a month
    (default: last month): submitted, late, draft or missing, and whether it is overdue."""
    today = periods.local_today()
    org, not_found = scored_org(args.get("org"))
    if not_found:
        return not_found
    try:
        month_key = reports.parse_month(args.get("month") or reports.last_month(today), today)
    except reports.ReportError as exc:
        return refused(exc)
    lines = reports.overview(org, month_key, today)
    return {"org": org.id, "month": month_key, "due": reports.deadline(month_key),
            "items": [_line_dict(line, month_key) for line in lines]}


def _branch_and_month(branch_id: int, month: str, *, write: bool):
    account = current_api_account()
    branch = db.session.get(Organisation, branch_id)
    allowed = branch is not None and (reports.may_write(account, branch) or (not write and reports.may_read(account, branch)))
    if not allowed:
        return None, None, problem(404, detail=_("No such branch in your scope."))
    try:
        return branch, reports.parse_month(month, periods.local_today()), None
    except reports.ReportError as exc:
        return None, None, problem(404, detail=str(exc.message))


def _one(branch: Organisation, month_key: str) -> dict:
    today = periods.local_today()
    line = next(line for line in reports.overview(branch, month_key, today) if line.branch.id == branch.id)
    return _line_dict(line, month_key, with_figures=True)


@blp.route("/reports/<int:branch_id>/<month>", methods=["GET"])
@auth_required(blp)
@blp.response(200, ReportSchema)
@blp.alt_response(404, description="No such branch in your scope, or no such month")
def report_get(branch_id: int, month: str):
    """A branch's report of a month with its figures (frozen if submitted, as of now otherwise)."""
    branch, month_key, not_found = _branch_and_month(branch_id, month, write=False)
    return not_found or _one(branch, month_key)


@blp.route("/reports/<int:branch_id>/<month>", methods=["PUT"])
@auth_required(blp)
@blp.arguments(ReportWriteSchema)
@blp.response(200, ReportSchema)
@blp.alt_response(404, description="Not a branch whose reports you write")
@blp.alt_response(409, description="Already submitted: a submitted report is final")
@blp.alt_response(422, description="Invalid input (field errors)")
def report_put(data, branch_id: int, month: str):
    """Keep the branch's account of the month as a draft, or submit the report (``submit``: true)."""
    branch, month_key, not_found = _branch_and_month(branch_id, month, write=True)
    if not_found:
        return not_found
    try:
        reports.save(current_api_account(), branch, month_key, data["account"], submit=data["submit"])
    except reports.ReportError as exc:
        return refused(exc)
    db.session.commit()
    return _one(branch, month_key)



@blp.route("/years", methods=["GET"])
@auth_required(blp)
@blp.arguments(YearArgsSchema, location="query")
@blp.response(200, YearSchema)
@blp.alt_response(404, description="No such organisation in your scope")
def year_get(args):
    """年考评: the branches under an organisation with their parts, score of 110 and stars; frozen once confirmed."""
    from learning.evaluation import yearly

    org, not_found = scored_org(args.get("org"))
    if not_found:
        return not_found
    year = args.get("year") or periods.local_today().year - 1
    result, rows = yearly.rows_of(org, year)
    return {"org": org.id, "year": year, "confirmed": result is not None, "checksum": result.checksum if result else None,
            "verified": (not yearly.verify(result)) if result else None, "rows": rows}
