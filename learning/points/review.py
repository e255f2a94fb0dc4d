"""Administrators' points work that a second pair of eyes checks (四眼原则): manual bonuses and
deductions, their approval queue, and disputes."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from learning.extensions import db
from learning.orgs import queries as org_queries
from learning.orgs.scoping import Permission, member_or_404, scope_for
from learning.web import admin_required, page_arg
from learning.points import disputes as dispute_services
from learning.points import manual, queries
from learning.points.forms import ManualDecisionForm, ManualEntryForm, ResolveDisputeForm
from learning.points.models import Dispute, DisputeStatus, ManualAward, ManualStatus
from learning.points.services import PointsError

bp = Blueprint("points_review", __name__)
bp.add_app_template_global(manual.credit, "manual_credit")
bp.add_app_template_global(manual.status_name, "manual_status")


def _flash_errors(*fields) -> None:
    """A decision form posted from a list page: its field errors go back to that page as messages."""
    for field in fields:
        for error in field.errors:
            flash(f"{field.label.text}: {error}", "error")


@bp.route("/admin/members/<int:member_id>/points", methods=["GET", "POST"])
@admin_required(Permission.MANAGE_MEMBERS)
def manual_entry(member_id: int):
    member = member_or_404(current_user, member_id, Permission.MANAGE_MEMBERS)
    form = ManualEntryForm()
    if form.validate_on_submit():
        points = form.points.data if form.direction.data == "bonus" else -form.points.data
        try:
            given = manual.give(actor=current_user, member=member, points=points, reason=form.reason.data,
                                request_id=form.request_id.data)
        except PointsError as exc:
            db.session.rollback()
            getattr(form, exc.field or "reason").errors.append(str(exc.message))
        else:
            db.session.commit()
            if given.status is ManualStatus.PENDING:
                flash(_("%(points)+d points for %(name)s wait for a second administrator's approval; they count once approved.",
                        points=given.points, name=member.name), "info")
            else:
                flash(_("%(points)+d points recorded for %(name)s.", points=given.points, name=member.name), "success")
            return redirect(url_for("points_review.manual_entry", member_id=member.id))
    recent = db.session.scalars(queries.member_entries(member).limit(10)).all()
    return render_template("points/manual.html", member=member, form=form, recent=recent,
                           given=manual.by_entry([e.id for e in recent]),
                           awards=db.session.scalars(manual.awards_of(member).limit(10)).all(),
                           summary=queries.member_summary(member))


@bp.route("/admin/points/approvals")
@admin_required(Permission.MANAGE_MEMBERS)
def approvals():
    scope = scope_for(current_user)
    pagination = org_queries.paginate(manual.pending_in_scope(scope.org_clause(Permission.MANAGE_MEMBERS)),
                                      page_arg(), current_app.config["PAGE_SIZE"])
    rows = [(m, manual.review_refusal(current_user, m)) for m in pagination.items]
    return render_template("points/approvals.html", pagination=pagination, rows=rows, form=ManualDecisionForm())


@bp.route("/admin/points/approvals/<int:manual_id>", methods=["POST"])
@admin_required(Permission.MANAGE_MEMBERS)
def decide(manual_id: int):
    item = db.session.get(ManualAward, manual_id)
    if item is None or not scope_for(current_user).can_org(Permission.MANAGE_MEMBERS, item.organisation):
        abort(404)
    form = ManualDecisionForm()
    if not form.validate_on_submit():
        _flash_errors(form.decision, form.note)
        return redirect(url_for("points_review.approvals"))
    try:
        manual.decide(item, reviewer=current_user, approve=form.decision.data == "approve", note=form.note.data)
    except PointsError as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
    else:
        db.session.commit()
        flash(_("Approved: the points now count.") if item.status is ManualStatus.APPROVED
              else _("Refused: the points do not count."), "success")
    return redirect(url_for("points_review.approvals"))


@bp.route("/admin/points/disputes")
@admin_required(Permission.MANAGE_MEMBERS)
def disputes():
    scope = scope_for(current_user)
    status = request.args.get("status", "open")
    chosen = DisputeStatus(status) if status in {s.value for s in DisputeStatus} else None
    pagination = org_queries.paginate(
        queries.disputes_in_scope(scope.org_clause(Permission.MANAGE_MEMBERS), chosen), page_arg(),
        current_app.config["PAGE_SIZE"],
    )
    refusals = {d.id: dispute_services.decision_refusal(current_user, d) for d in pagination.items
                if d.status is DisputeStatus.OPEN}
    return render_template("points/disputes.html", pagination=pagination, status=status, form=ResolveDisputeForm(),
                           refusals=refusals)


@bp.route("/admin/points/disputes/<int:dispute_id>", methods=["POST"])
@admin_required(Permission.MANAGE_MEMBERS)
def resolve_dispute(dispute_id: int):
    item = db.session.get(Dispute, dispute_id)
    if item is None:
        abort(404)
    member_or_404(current_user, item.member_id, Permission.MANAGE_MEMBERS)
    form = ResolveDisputeForm()
    if not form.validate_on_submit():
        _flash_errors(form.decision, form.resolution)
        return redirect(url_for("points_review.disputes"))
    try:
        dispute_services.resolve_dispute(item, actor=current_user, accept=form.decision.data == "accept",
                                         resolution=form.resolution.data)
    except PointsError as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
    else:
        db.session.commit()
        flash(_("The dispute has been resolved."), "success")
    return redirect(url_for("points_review.disputes"))
