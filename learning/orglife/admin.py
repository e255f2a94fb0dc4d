"""The secretary's side of activities: create, the rotating code screen, the roll (hand marking,
leave decisions), cancelling."""
from __future__ import annotations

import time
from datetime import timezone

import segno
from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from learning.db import utcnow
from learning.extensions import db
from learning.orglife import activities, checkin, names, notices
from learning.orglife.forms import ActivityForm, MarkForm, audience_choices, show_refusal
from learning.orglife.models import Activity, ActivityKind, LeaveRequest
from learning.orgs import queries as org_queries
from learning.orgs.models import Member, Organisation
from learning.orgs.scoping import Permission, scope_for
from learning.points import periods
from learning.web import ConfirmForm, admin_required, id_arg, page_arg

bp = Blueprint("orglife_admin", __name__, url_prefix="/admin/orglife")


@bp.context_processor
def _names():
    return {"orglife_names": names, "now_utc": utcnow}


def activity_or_404(activity_id: int, permission: Permission = Permission.VIEW_MEMBERS) -> Activity:
    item = db.session.get(Activity, activity_id)
    if item is None or not scope_for(current_user).can_org(permission, item.organisation):
        abort(404)
    return item


def _utc(local):
    return local.replace(tzinfo=periods.zone()).astimezone(timezone.utc)


@bp.route("/activities/")
@admin_required()
def activity_list():
    kind = request.args.get("kind", "")
    kind = ActivityKind(kind) if kind in {k.value for k in ActivityKind} else None
    org_id = id_arg("org")
    org = None
    if org_id is not None:
        org = db.session.get(Organisation, org_id)
        if not scope_for(current_user).can_org(Permission.VIEW_MEMBERS, org):
            abort(404)
    pagination = org_queries.paginate(activities.for_admin(current_user, organisation=org, kind=kind), page_arg(),
                                      current_app.config["PAGE_SIZE"])
    return render_template("orglife/admin_activities.html", pagination=pagination, rows=pagination.items,
                           counts=activities.counts([a.id for a in pagination.items]), kind=kind, org=org,
                           may_create=scope_for(current_user).has_any(Permission.MANAGE_MEMBERS))


@bp.route("/activities/new", methods=["GET", "POST"])
@admin_required(Permission.MANAGE_MEMBERS)
def new_activity():
    orgs = activities.managed_orgs(current_user)
    form = ActivityForm()
    audience_choices(form, orgs)
    if form.validate_on_submit():
        org = db.session.get(Organisation, form.organisation.data)
        try:
            item = activities.create_activity(
                org, actor=current_user, kind=form.kind.data, title=form.title.data,
                starts_at=_utc(form.starts_at.data), ends_at=_utc(form.ends_at.data), place=form.place.data,
                description=form.description.data, audience=activities.Audience(group_ids=form.groups.data or None))
            if form.publish_notice.data:
                notices.publish(org, actor=current_user, kind="meeting", title=item.title,
                                body=_notice_text(item), group_ids=form.groups.data or None, activity=item)
        except activities.OrgLifeError as exc:
            db.session.rollback()
            show_refusal(form, exc)
        else:
            db.session.commit()
            flash(_("%(title)s was created.", title=item.title), "success")
            return redirect(url_for("orglife_admin.activity_detail", activity_id=item.id))
    return render_template("orglife/admin_activity_new.html", form=form)


def _notice_text(item: Activity) -> str:
    zone = periods.zone()
    when = item.starts_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    text = _("%(kind)s: %(title)s, %(when)s.", kind=names.kind(item.kind), title=item.title, when=when)
    if item.place:
        text += " " + _("Place: %(place)s.", place=item.place)
    if item.description:
        text += "\n\n" + item.description
    return text + "\n\n" + _("If you cannot attend, ask for leave on the activity's page.")


@bp.route("/activities/<int:activity_id>")
@admin_required()
def activity_detail(activity_id: int):
    item = activity_or_404(activity_id)
    roll = activities.roll(item)
    manage = activities.may_manage(current_user, item)
    mark = MarkForm()
    mark.member.choices = [SelectChoice(r["member"].id, r["member"].name) for r in roll
                           if r["attendance"] is None and r["member"].id != current_user.member_id]
    expected = sum(1 for r in roll if r["expected"])
    present = sum(1 for r in roll if r["attendance"] is not None)
    return render_template("orglife/admin_activity.html", activity=item, roll=roll, manage=manage, mark=mark,
                           confirm=ConfirmForm(), expected=expected, present=present,
                           pending=[r for r in roll if r["leave"] is not None and r["leave"].status.value == "pending"],
                           open_now=activities.open_for_check_in(item), started=item.starts_at <= utcnow())


def _may_show_code(item: Activity) -> bool:
    return item.organiser_account_id == current_user.id or activities.may_manage(current_user, item)


def code_payload(item: Activity) -> dict:
    code, expires_at = checkin.current_code(item)
    link = url_for("orglife.activity", activity_id=item.id, code=code, _external=True)
    return {"code": code, "expires_at": expires_at.isoformat(), "seconds_left": max(int(expires_at.timestamp() - time.time()), 0),
            "qr": segno.make(link, error="m").svg_inline(scale=6, border=2, dark="#1f2937", omitsize=True), "link": link,
            "open": activities.open_for_check_in(item)}


@bp.route("/activities/<int:activity_id>/code")
@admin_required()
def code_screen(activity_id: int):
    item = activity_or_404(activity_id)
    if not _may_show_code(item):
        abort(403)
    return render_template("orglife/admin_code.html", activity=item, payload=code_payload(item))


@bp.route("/activities/<int:activity_id>/code.json")
@admin_required()
def code_json(activity_id: int):
    item = activity_or_404(activity_id)
    if not _may_show_code(item):
        abort(403)
    present = activities.counts([item.id])[item.id]
    response = jsonify({**code_payload(item), "expected": present[0], "present": present[1]})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/activities/<int:activity_id>/mark", methods=["POST"])
@admin_required(Permission.MANAGE_MEMBERS)
def mark(activity_id: int):
    item = activity_or_404(activity_id, Permission.MANAGE_MEMBERS)
    form = MarkForm()
    form.member.choices = [SelectChoice(r["member"].id, r["member"].name) for r in activities.roll(item)]
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "error")
        return redirect(url_for("orglife_admin.activity_detail", activity_id=item.id))
    member = db.session.get(Member, form.member.data)
    try:
        _attendance, created = checkin.mark_by_hand(item, member, actor=current_user, reason=form.reason.data,
                                                    hours=form.hours.data)
    except activities.OrgLifeError as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
    else:
        db.session.commit()
        flash(_("%(name)s is marked present.", name=member.name) if created
              else _("%(name)s was checked in already.", name=member.name), "success" if created else "info")
    return redirect(url_for("orglife_admin.activity_detail", activity_id=item.id))


@bp.route("/activities/<int:activity_id>/leave/<int:member_id>/<any(approve,refuse):decision>", methods=["POST"])
@admin_required(Permission.MANAGE_MEMBERS)
def decide_leave(activity_id: int, member_id: int, decision: str):
    item = activity_or_404(activity_id, Permission.MANAGE_MEMBERS)
    ConfirmForm().validate_on_submit() or abort(400)
    leave = db.session.get(LeaveRequest, (item.id, member_id)) or abort(404)
    try:
        activities.decide_leave(leave, actor=current_user, approve=decision == "approve")
    except activities.OrgLifeError as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
    else:
        db.session.commit()
        flash(_("Leave approved.") if decision == "approve" else _("Leave refused."), "success")
    return redirect(url_for("orglife_admin.activity_detail", activity_id=item.id))


@bp.route("/activities/<int:activity_id>/cancel", methods=["POST"])
@admin_required(Permission.MANAGE_MEMBERS)
def cancel(activity_id: int):
    item = activity_or_404(activity_id, Permission.MANAGE_MEMBERS)
    ConfirmForm().validate_on_submit() or abort(400)
    try:
        activities.cancel(item)
    except activities.OrgLifeError as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
    else:
        db.session.commit()
        flash(_("%(title)s was cancelled.", title=item.title), "success")
    return redirect(url_for("orglife_admin.activity_detail", activity_id=item.id))

