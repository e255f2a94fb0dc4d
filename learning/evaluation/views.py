"""月报告 pages: the committee's overview of a month (who submitted, who is late), a report to read, and
the secretary's form to write and submit it."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from learning.evaluation import names, reports
from learning.evaluation.figures import month_figures
from learning.evaluation.forms import ReportForm
from learning.evaluation.models import ReportStatus
from learning.extensions import db
from learning.orgs.models import Organisation
from learning.orgs.scoping import Permission, org_or_404, scope_for
from learning.points import periods
from learning.web import ConfirmForm, admin_required, id_arg, org_arg

bp = Blueprint("evaluation", __name__, url_prefix="/admin/evaluation")


@bp.context_processor
def _names():
    from learning.orglife.names import kind

    return {"report_state": names.report_state, "orglife_kind": kind}


def _month_arg(today: date) -> str:
    try:
        return reports.parse_month(request.args.get("month") or reports.last_month(today), today)
    except reports.ReportError:
        abort(404)


def _month_choices(today: date, count: int = 12) -> list[str]:
    keys, first = [], date(today.year, today.month, 1)
    for _i in range(count):
        keys.append(periods.month_key(first))
        first = date(first.year - (first.month == 1), (first.month - 2) % 12 + 1, 1)
    return keys


@bp.route("/reports")
@admin_required(Permission.VIEW_SCORES)
def report_overview():
    today = periods.local_today()
    org = org_arg(Permission.VIEW_SCORES)
    month_key = _month_arg(today)
    lines = reports.overview(org, month_key, today)
    counts = {state: sum(1 for line in lines if line.state == state) for state in ("submitted", "late", "draft", "missing")}
    return render_template("evaluation/overview.html", org=org, month_key=month_key, months=_month_choices(today),
                           lines=lines, counts=counts, due=reports.deadline(month_key),
                           overdue=sum(1 for line in lines if line.overdue), confirm=ConfirmForm(),
                           may_remind=scope_for(current_user).can_org(Permission.MANAGE_MEMBERS, org),
                           writes=reports.written_branches(current_user))


@bp.route("/reports/remind", methods=["POST"])
@admin_required(Permission.MANAGE_MEMBERS)
def remind_late():
    """One click of the committee: remind the writers of every branch whose report is overdue."""
    ConfirmForm().validate_on_submit() or abort(400)
    today = periods.local_today()
    org = org_or_404(current_user, id_arg("org") or 0, Permission.MANAGE_MEMBERS)
    month_key = _month_arg(today)
    lines = [line for line in reports.overview(org, month_key, today) if line.overdue]
    sent = reports.remind(lines, month_key, f"nudge:{today.isoformat()}")
    db.session.commit()
    flash(_("%(n)d secretaries of %(b)d branches were reminded.", n=sent, b=len(lines)) if sent
          else _("Nobody to remind: the overdue branches were reminded today already, or have no secretary's account."),
          "success" if sent else "warning")
    return redirect(url_for("evaluation.report_overview", org=org.id, month=month_key))


@bp.route("/reports/<int:branch_id>/<month>", methods=["GET", "POST"])
@admin_required(Permission.VIEW_SCORES)
def edit_report(branch_id: int, month: str):
    """The report: a form for the branch's writers until it is submitted, then a page to read and print."""
    today = periods.local_today()
    branch = db.session.get(Organisation, branch_id)
    writer = branch is not None and reports.may_write(current_user, branch)
    if branch is None or not (writer or reports.may_read(current_user, branch)):
        abort(404)
    try:
        month_key = reports.parse_month(month, today)
    except reports.ReportError:
        abort(404)
    report = reports.report_of(branch, month_key)
    editable = writer and (report is None or report.status == ReportStatus.DRAFT)
    form = ReportForm(obj=None)
    if request.method == "GET" and report is not None:
        form.account.data = report.account
    if request.method == "POST":
        if not editable:
            abort(409 if writer else 404)
        if form.validate_on_submit():
            submit = form.submit_report.data
            try:
                reports.save(current_user, branch, month_key, form.account.data, submit=submit)
            except reports.ReportError as exc:
                db.session.rollback()
                (getattr(form, exc.field).errors if exc.field == "account" else form.account.errors).append(str(exc.message))
            else:
                db.session.commit()
                flash(_("The report of %(month)s is submitted.", month=periods.label(month_key)) if submit
                      else _("Draft saved."), "success")
                return redirect(url_for("evaluation.edit_report", branch_id=branch.id, month=month_key))
    figures = report.figures if report is not None and report.figures else month_figures(branch, month_key)
    return render_template("evaluation/report.html", branch=branch, month_key=month_key, report=report,
                           figures=figures, frozen=bool(report and report.figures), editable=editable, form=form,
                           due=reports.deadline(month_key), today=today,
                           max_length=reports.settings()["max_length"])
