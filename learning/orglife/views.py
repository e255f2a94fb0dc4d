"""A member's organisational life: upcoming activities, check-in by code, leave, and notices."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from learning.db import utcnow
from learning.extensions import db, limiter
from learning.orglife import activities, checkin, names, notices, volunteer
from learning.orglife.forms import CodeForm, LeaveForm
from learning.orglife.models import Activity, Attendance, LeaveRequest, Notice
from learning.orgs import queries as org_queries
from learning.points import periods
from learning.web import page_arg

bp = Blueprint("orglife", __name__)


@bp.context_processor
def _names():
    return {"orglife_names": names, "now_utc": utcnow}


def _member():
    if current_user.member_id is None:
        abort(404)
    return current_user.member


def _activity_or_404(activity_id: int) -> Activity:
    activity = db.session.get(Activity, activity_id)
    if activity is None or not activities.may_see(current_user, activity):
        abort(404)
    return activity


@bp.route("/activities/")
@login_required
def my_activities():
    member = _member()
    upcoming = db.session.scalars(activities.for_member(member).limit(50)).all()
    past = org_queries.paginate(activities.for_member(member, upcoming=False), page_arg(), current_app.config["PAGE_SIZE"])
    present, leave = activities.member_states(member, [a.id for a in upcoming] + [a.id for a in past.items])
    year = periods.local_today().year
    return render_template("orglife/my_activities.html", upcoming=upcoming, pagination=past, present=present,
                           leave=leave, code_form=CodeForm(), open_now=activities.open_for_check_in,
                           service_year=year, services=volunteer.member_year(member, year))


@bp.route("/activities/<int:activity_id>")
@login_required
def activity(activity_id: int):
    member = _member()
    item = _activity_or_404(activity_id)
    scanned = request.args.get("code", "")[:6]
    form = CodeForm(data={"code": scanned})
    return render_template("orglife/activity.html", activity=item, member=member,
                           attendance=db.session.get(Attendance, (item.id, member.id)),
                           leave=db.session.get(LeaveRequest, (item.id, member.id)),
                           code_form=form, leave_form=LeaveForm(), open_now=activities.open_for_check_in(item),
                           may_manage=activities.may_manage(current_user, item),
                           scanned=len(scanned) == 6 and scanned.isdigit())


def _checked_in(item: Activity, created: bool):
    if created:
        flash(_("Checked in to %(title)s.", title=item.title), "success")
    else:
        flash(_("You were checked in to %(title)s already.", title=item.title), "info")
    return redirect(url_for("orglife.activity", activity_id=item.id))


@bp.route("/activities/<int:activity_id>/check-in", methods=["POST"])
@login_required
@limiter.limit(checkin.ATTEMPTS, key_func=checkin.attempt_key)
def check_in(activity_id: int):
    member = _member()
    item = _activity_or_404(activity_id)
    form = CodeForm()
    if not form.validate_on_submit():
        for error in form.code.errors or [_("The form has expired: please try again.")]:
            flash(str(error), "error")
        return redirect(url_for("orglife.activity", activity_id=item.id))
    try:
        _attendance, created = checkin.check_in_with_code(item, member, form.code.data)
    except activities.OrgLifeError as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
        return redirect(url_for("orglife.activity", activity_id=item.id))
    db.session.commit()
    return _checked_in(item, created)


@bp.route("/activities/check-in", methods=["POST"])
@login_required
@limiter.limit(checkin.ATTEMPTS, key_func=checkin.attempt_key)
def check_in_by_code():
    """The digits typed without choosing the activity: the member's open activity showing them."""
    member = _member()
    form = CodeForm()
    if not form.validate_on_submit():
        for error in form.code.errors or [_("The form has expired: please try again.")]:
            flash(str(error), "error")
        return redirect(url_for("orglife.my_activities"))
    item = checkin.find_by_code(member, form.code.data)
    if item is None:
        flash(_("No activity of yours shows this code now: check the digits on the screen."), "error")
        return redirect(url_for("orglife.my_activities"))
    _attendance, created = checkin.record(item, member, checkin.CheckInMethod.CODE)
    db.session.commit()
    return _checked_in(item, created)


@bp.route("/activities/<int:activity_id>/leave", methods=["POST"])
@login_required
def ask_leave(activity_id: int):
    member = _member()
    item = _activity_or_404(activity_id)
    form = LeaveForm()
    if not form.validate_on_submit():
        for error in form.reason.errors or [_("The form has expired: please try again.")]:
            flash(str(error), "error")
        return redirect(url_for("orglife.activity", activity_id=item.id))
    try:
        activities.ask_leave(item, member, form.reason.data)
    except activities.OrgLifeError as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
    else:
        db.session.commit()
        flash(_("Your request for leave was sent to the secretary."), "success")
    return redirect(url_for("orglife.activity", activity_id=item.id))


@bp.route("/notices/")
@login_required
def my_notices():
    member = _member()
    pagination = org_queries.paginate(notices.for_member(member), page_arg(), current_app.config["PAGE_SIZE"])
    read = notices.read_times(member, [n.id for n in pagination.items])
    return render_template("orglife/my_notices.html", pagination=pagination,
                           rows=[(n, read.get(n.id)) for n in pagination.items])


@bp.route("/notices/<int:notice_id>")
@login_required
def notice(notice_id: int):
    item = db.session.get(Notice, notice_id) or abort(404)
    member = current_user.member
    receipt = notices.receipt(item.id, member.id) if member is not None else None
    if receipt is None and not activities.scope_for(current_user).can_org(
            activities.Permission.VIEW_MEMBERS, item.organisation):
        abort(404)
    if receipt is not None and notices.mark_read(item, member):
        db.session.commit()
    linked = db.session.get(Activity, item.activity_id) if item.activity_id else None
    return render_template("orglife/notice.html", notice=item, activity=linked)
