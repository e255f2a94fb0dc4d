"""季督查 pages: the committee's quarter of inspections, one inspection to fill in, publish, read, dispute
and decide."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from learning.evaluation import inspections, reports
from learning.evaluation.models import DisputeState, InspectionStatus
from learning.extensions import db
from learning.orgs.models import Organisation
from learning.orgs.scoping import Permission
from learning.points import periods
from learning.web import ConfirmForm, admin_required, org_arg

bp = Blueprint("inspection", __name__, url_prefix="/admin/evaluation/inspections")


def _quarter(value: str | None) -> str:
    today = periods.local_today()
    try:
        return inspections.parse_quarter(value or periods.quarter_key(today), today)
    except inspections.InspectionError:
        abort(404)


@bp.route("/")
@admin_required(Permission.VIEW_SCORES)
def quarter_overview():
    org = org_arg(Permission.VIEW_SCORES)
    quarter = _quarter(request.args.get("quarter"))
    choices = [key for key in periods.recent_keys(8, all_time=False) if "Q" in key]
    lines = inspections.overview(current_user, org, quarter)
    return render_template("evaluation/inspections.html", org=org, quarter=quarter, quarters=choices, lines=lines,
                           frozen=inspections.frozen(quarter), maximum=sum(int(i["max"]) for i in inspections.checklist()),
                           may_inspect=lambda b: inspections.may_inspect(current_user, b))


@bp.route("/<int:branch_id>/<quarter>", methods=["GET", "POST"])
@admin_required(Permission.VIEW_SCORES)
def inspection_page(branch_id: int, quarter: str):
    branch = db.session.get(Organisation, branch_id) or abort(404)
    quarter = _quarter(quarter)
    inspector = inspections.may_inspect(current_user, branch)
    inspection = inspections.inspection_of(branch, quarter)
    if not inspections.may_read(current_user, branch, inspection):
        abort(404)
    confirm = ConfirmForm()
    if request.method == "POST":
        confirm.validate_on_submit() or abort(400)
        action = request.form.get("action", "")
        try:
            if action in ("save", "publish") and inspector:
                inspection = inspection or inspections.start(current_user, branch, quarter, periods.local_today())
                entries = {i.code: (request.form.get(f"score-{i.code}", ""), request.form.get(f"comment-{i.code}", ""))
                           for i in inspection.items if not i.computed}
                inspections.save(current_user, inspection, entries, publish=action == "publish")
                done = _("The inspection is published; the branch has been told.") if action == "publish" else _("Saved.")
            elif action == "dispute" and inspection is not None:
                inspections.dispute(current_user, inspection, request.form.get("code", ""), request.form.get("reason", ""))
                done = _("Your objection has been sent to the inspector.")
            elif action == "decide" and inspection is not None:
                inspections.decide(current_user, inspection, request.form.get("code", ""),
                                   accept=request.form.get("accept") == "1", score=request.form.get("score"),
                                   reply=request.form.get("reply", ""))
                done = _("The objection is decided.")
            else:
                abort(400)
        except inspections.InspectionError as exc:
            db.session.rollback()
            if exc.status == 404:
                abort(404)
            flash(str(exc.message), "error")
        else:
            db.session.commit()
            flash(done, "success")
        return redirect(url_for("inspection.inspection_page", branch_id=branch.id, quarter=quarter))
    if inspection is None and inspector and not inspections.frozen(quarter):
        inspection = inspections.start(current_user, branch, quarter, periods.local_today())
        db.session.commit()
    elif inspection is not None and inspector and inspection.status == InspectionStatus.DRAFT and not inspections.frozen(quarter):
        inspections.start(current_user, branch, quarter, periods.local_today())  # the draft follows the figures
        db.session.commit()
    return render_template("evaluation/inspection.html", branch=branch, quarter=quarter, inspection=inspection,
                           inspector=inspector, writer=reports.may_write(current_user, branch),
                           frozen=inspections.frozen(quarter), confirm=confirm, open_state=DisputeState.OPEN,
                           total=inspections.total(inspection) if inspection else None,
                           maximum=inspections.maximum(inspection) if inspection else None,
                           draft=inspection is not None and inspection.status == InspectionStatus.DRAFT)
