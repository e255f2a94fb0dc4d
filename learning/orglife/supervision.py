"""Notices, the 台账 the committee supervises (with its Excel file), and card readers."""
from __future__ import annotations

import io

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from learning.audit import services as audit
from learning.db import utcnow
from learning.extensions import db
from learning.orglife import activities, devices, names, notices, records
from learning.orglife.forms import CardsForm, DeviceForm, NoticeForm, audience_choices, show_refusal
from learning.orglife.models import Device, Notice
from learning.orgs import queries as org_queries
from learning.orgs.models import OrgKind, Organisation
from learning.orgs.scoping import Permission, org_or_404, scope_for
from learning.points import periods
from learning.web import ConfirmForm, ListPage, admin_required, id_arg, page_arg

bp = Blueprint("orglife_records", __name__, url_prefix="/admin/orglife")


@bp.context_processor
def _names():
    return {"orglife_names": names, "now_utc": utcnow}


# -- notices ------------------------------------------------------------------------------------
@bp.route("/notices/")
@admin_required()
def notice_list():
    pagination = org_queries.paginate(notices.for_admin(current_user), page_arg(), current_app.config["PAGE_SIZE"])
    counts = notices.receipt_counts([n.id for n in pagination.items])
    rows = [(n, *counts[n.id]) for n in pagination.items]
    return render_template("orglife/admin_notices.html", pagination=pagination, rows=rows,
                           may_create=scope_for(current_user).has_any(Permission.MANAGE_MEMBERS))


@bp.route("/notices/new", methods=["GET", "POST"])
@admin_required(Permission.MANAGE_MEMBERS)
def new_notice():
    orgs = activities.managed_orgs(current_user)
    form = NoticeForm()
    audience_choices(form, orgs)
    if form.validate_on_submit():
        org = db.session.get(Organisation, form.organisation.data)
        try:
            item = notices.publish(org, actor=current_user, kind=form.kind.data, title=form.title.data,
                                   body=form.body.data, group_ids=form.groups.data or None)
        except activities.OrgLifeError as exc:
            db.session.rollback()
            show_refusal(form, exc)
        else:
            total, _read = notices.receipts(item)
            db.session.commit()
            flash(_("The notice was sent to %(n)d members.", n=total), "success")
            return redirect(url_for("orglife_records.notice_detail", notice_id=item.id))
    return render_template("orglife/admin_notice_new.html", form=form)


def _notice_or_404(notice_id: int) -> Notice:
    item = db.session.get(Notice, notice_id)
    if item is None or not scope_for(current_user).can_org(Permission.VIEW_MEMBERS, item.organisation):
        abort(404)
    return item


@bp.route("/notices/<int:notice_id>")
@admin_required()
def notice_detail(notice_id: int):
    item = _notice_or_404(notice_id)
    total, read = notices.receipts(item)
    return render_template("orglife/admin_notice.html", notice=item, total=total, read=read,
                           unread=notices.unread_members(item), confirm=ConfirmForm(),
                           manage=scope_for(current_user).can_org(Permission.MANAGE_MEMBERS, item.organisation))


@bp.route("/notices/<int:notice_id>/remind", methods=["POST"])
@admin_required(Permission.MANAGE_MEMBERS)
def remind(notice_id: int):
    item = _notice_or_404(notice_id)
    ConfirmForm().validate_on_submit() or abort(400)
    try:
        sent = notices.remind(item, actor=current_user)
    except activities.OrgLifeError as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
    else:
        db.session.commit()
        flash(_("%(n)d members who have not read it were reminded.", n=sent), "success")
    return redirect(url_for("orglife_records.notice_detail", notice_id=item.id))


# -- 台账 ----------------------------------------------------------------------------------------
def _root_and_period():
    scope = scope_for(current_user)
    org_id = id_arg("org")
    if org_id is None:
        root = scope.first_root(Permission.VIEW_MEMBERS)
        if root is None:
            abort(404)
    else:
        root = org_or_404(current_user, org_id)
    period_key = request.args.get("period", "").strip() or periods.current_quarter()
    try:
        span = periods.parse(period_key)
    except periods.PeriodError:
        abort(404)
    if span.kind == "all":
        abort(404)
    return root, period_key


@bp.route("/records/")
@admin_required()
def record_overview():
    root, period_key = _root_and_period()
    rows = records.overview(root, period_key)
    behind_only = request.args.get("behind") == "1"
    shown = [r for r in rows if r.behind] if behind_only else rows
    page = ListPage(shown, page_arg(), current_app.config["PAGE_SIZE"])
    return render_template("orglife/admin_records.html", root=root, period_key=period_key, page=page,
                           total=len(rows), behind=sum(r.behind for r in rows), behind_only=behind_only,
                           kinds=records.setup.load().kinds, period_choices=periods.recent_keys(all_time=False),
                           children=db.session.scalars(select(Organisation).where(
                               Organisation.parent_id == root.id, Organisation.kind != OrgKind.GROUP,
                               Organisation.active.is_(True)).order_by(Organisation.name)).all())


@bp.route("/records/<int:org_id>")
@admin_required()
def record_branch(org_id: int):
    branch = org_or_404(current_user, org_id)
    period_key = request.args.get("period", "").strip() or periods.current_quarter()
    try:
        periods.parse(period_key)
    except periods.PeriodError:
        abort(404)
    overview = records.overview(branch, period_key)
    items = records.branch_activities(branch, period_key)
    return render_template("orglife/admin_record_branch.html", branch=branch, period_key=period_key,
                           record=overview[0] if overview else None, activities=items,
                           counts=activities.counts([a.id for a in items]),
                           notices=records.branch_notices(branch, period_key),
                           hours=records.volunteer_hours(branch, period_key),
                           period_choices=periods.recent_keys(all_time=False))


@bp.route("/records.xlsx")
@admin_required()
def record_xlsx():
    root, period_key = _root_and_period()
    data = records.overview_xlsx(root, period_key, records.overview(root, period_key))
    audit.record("data.exported", actor=current_user, target=f"orglife-records:{period_key}", organisation_id=root.id,
                 detail={"organisation": root.name})
    db.session.commit()
    return send_file(io.BytesIO(data), as_attachment=True, download_name=f"orglife-{root.id}-{period_key}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


# -- card readers (e通卡) ------------------------------------------------------------------------
@bp.route("/devices/", methods=["GET", "POST"])
@admin_required(Permission.MANAGE_ORGS)
def device_list():
    scope = scope_for(current_user)
    orgs = [o for o in activities.managed_orgs(current_user) if scope.can_org(Permission.MANAGE_ORGS, o)]
    form = DeviceForm(prefix="device")
    form.organisation.choices = [SelectChoice(o.id, o.name) for o in orgs if o.kind != OrgKind.GROUP]
    cards = CardsForm(prefix="cards")
    issued = None
    if request.method == "POST" and "device-name" in request.form:
        if form.validate_on_submit():
            org = org_or_404(current_user, form.organisation.data, Permission.MANAGE_ORGS)
            try:
                issued = devices.register_device(org, form.name.data, actor=current_user)
            except activities.OrgLifeError as exc:
                db.session.rollback()
                form.name.errors = [*form.name.errors, str(exc.message)]
            else:
                db.session.commit()
    report = None
    if request.method == "POST" and "cards-cards" in request.form and cards.validate_on_submit():
        report = devices.import_cards(cards.cards.data, scope.org_clause(Permission.MANAGE_ORGS), actor=current_user,
                                      organisation_id=scope.root_ids(Permission.MANAGE_ORGS)[0]
                                      if scope.root_ids(Permission.MANAGE_ORGS) else None)
        if report.problems:
            db.session.rollback()
        else:
            db.session.commit()
            flash(_("%(n)d cards assigned; %(s)d kept swipes were applied.", n=report.assigned,
                    s=report.applied_swipes), "success")
    readers = db.session.scalars(select(Device).join(Device.organisation).where(
        scope.org_clause(Permission.MANAGE_ORGS)).order_by(Device.id.desc())).all()
    return render_template("orglife/admin_devices.html", form=form, cards=cards, issued=issued, readers=readers,
                           report=report, confirm=ConfirmForm(),
                           unmatched=devices.unmatched(scope.org_clause(Permission.MANAGE_ORGS)))


@bp.route("/devices/<int:device_id>/revoke", methods=["POST"])
@admin_required(Permission.MANAGE_ORGS)
def revoke_device(device_id: int):
    device = db.session.get(Device, device_id)
    if device is None or not scope_for(current_user).can_org(Permission.MANAGE_ORGS, device.organisation):
        abort(404)
    ConfirmForm().validate_on_submit() or abort(400)
    devices.revoke_device(device, actor=current_user)
    db.session.commit()
    flash(_("The reader %(name)s can no longer check anyone in.", name=device.name), "success")
    return redirect(url_for("orglife_records.device_list"))
