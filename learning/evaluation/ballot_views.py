"""民主评议 pages: the member's ballot (/ballot), and the committee's windows, turnout and results."""
from __future__ import annotations

from datetime import timezone

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from learning.evaluation import ballots
from learning.evaluation.forms import BallotForm, WindowForm
from learning.db import utcnow
from learning.evaluation.models import Ballot, BallotWindow
from learning.extensions import db
from learning.orgs.models import Organisation
from learning.orgs.scoping import Permission, scope_for
from learning.points import periods
from learning.web import ConfirmForm, admin_required

bp = Blueprint("ballot", __name__)
admin_bp = Blueprint("ballot_admin", __name__, url_prefix="/admin/evaluation/ballots")


@bp.context_processor
@admin_bp.context_processor
def _names():
    return {"grades": ballots.GRADES}


@bp.route("/ballot", methods=["GET", "POST"])
@login_required
def my_ballot():
    member = current_user.member
    window = ballots.window_for(member) if member is not None else None
    if window is None:
        return render_template("evaluation/ballot.html", mine=None)
    mine = ballots.my_ballot(window, member)
    form = BallotForm()
    if request.method == "GET" and mine.ballot is not None:
        form.self_assessment.data = mine.ballot.self_assessment
    chosen = dict(mine.grades)
    if request.method == "POST" and form.validate_on_submit():
        chosen = {m.id: request.form.get(f"grade-{m.id}", "") for m in mine.candidates}
        try:
            ballots.cast(member, form.self_assessment.data, {k: v for k, v in chosen.items() if v})
        except ballots.BallotError as exc:
            db.session.rollback()
            if exc.field == "self_assessment":
                form.self_assessment.errors.append(str(exc.message))
            else:
                flash(str(exc.message), "error")
        else:
            db.session.commit()
            flash(_("Your ballot is saved. You may change it until %(when)s.",
                    when=_local(window.closes_at)), "success")
            return redirect(url_for("ballot.my_ballot"))
    return render_template("evaluation/ballot.html", mine=mine, form=form, chosen=chosen,
                           closes=_local(window.closes_at))


def _local(moment) -> str:
    from flask_babel import format_datetime

    return format_datetime(moment, "short")


# -- the committee ---------------------------------------------------------------------------
def _window_or_404(window_id: int) -> BallotWindow:
    window = db.session.get(BallotWindow, window_id)
    if window is None or not ballots.visible(current_user, window):
        abort(404)
    return window


@admin_bp.route("/", methods=["GET", "POST"])
@admin_required(Permission.VIEW_SCORES)
def window_list():
    scope = scope_for(current_user)
    form = WindowForm()
    orgs = db.session.scalars(scope.orgs(Permission.MANAGE_ORGS).where(Organisation.kind != "group")
                              .order_by(Organisation.path).limit(200)).all() if scope.has_any(Permission.MANAGE_ORGS) else []
    form.organisation.choices = [SelectChoice(o.id, o.name) for o in orgs]
    if request.method == "GET":
        form.year.data = periods.local_today().year
    if request.method == "POST":
        if not orgs:
            abort(403)
        if form.validate_on_submit():
            org = db.session.get(Organisation, form.organisation.data)
            zone = periods.zone()
            try:
                window = ballots.open_window(current_user, org, form.year.data,
                                             form.opens_at.data.replace(tzinfo=zone).astimezone(timezone.utc),
                                             form.closes_at.data.replace(tzinfo=zone).astimezone(timezone.utc))
            except ballots.BallotError as exc:
                db.session.rollback()
                getattr(form, exc.field if exc.field in ("year", "closes_at") else "organisation").errors.append(str(exc.message))
            else:
                db.session.commit()
                flash(_("The ballot of %(year)d is open for %(org)s; its members have been told.", year=window.year,
                        org=org.name), "success")
                return redirect(url_for("ballot_admin.window_detail", window_id=window.id))
    return render_template("evaluation/windows.html", windows=ballots.windows_in_scope(current_user), form=form,
                           may_open=bool(orgs), state=ballots.state)


@admin_bp.route("/<int:window_id>")
@admin_required(Permission.VIEW_SCORES)
def window_detail(window_id: int):
    window = _window_or_404(window_id)
    scope = scope_for(current_user)
    rows = [r for r in ballots.turnout(window) if scope.can_org(Permission.VIEW_SCORES, r["branch"])]
    return render_template("evaluation/window.html", window=window, rows=rows, open_now=ballots.is_open(window),
                           closed=utcnow() >= window.closes_at, confirm=ConfirmForm(),
                           may_close=scope.can_org(Permission.MANAGE_ORGS, window.organisation))


@admin_bp.route("/<int:window_id>/close", methods=["POST"])
@admin_required(Permission.MANAGE_ORGS)
def close_window(window_id: int):
    ConfirmForm().validate_on_submit() or abort(400)
    window = _window_or_404(window_id)
    try:
        ballots.close_now(current_user, window)
    except ballots.BallotError:
        abort(404)
    db.session.commit()
    flash(_("The ballot is closed; its results can be read."), "success")
    return redirect(url_for("ballot_admin.window_detail", window_id=window.id))


@admin_bp.route("/<int:window_id>/branches/<int:branch_id>")
@admin_required(Permission.VIEW_SCORES)
def branch_results(window_id: int, branch_id: int):
    window = _window_or_404(window_id)
    branch = db.session.get(Organisation, branch_id)
    if branch is None or not scope_for(current_user).can_org(Permission.VIEW_SCORES, branch) or \
            branch.id not in [r["branch"].id for r in ballots.turnout(window)]:
        abort(404)
    try:
        lines = ballots.results(window, branch)
    except ballots.BallotError as exc:
        flash(str(exc.message), "warning")
        return redirect(url_for("ballot_admin.window_detail", window_id=window.id))
    assessments = db.session.execute(select(Ballot.voter_member_id, Ballot.self_assessment).where(
        Ballot.window_id == window.id, Ballot.branch_id == branch.id)).all()
    return render_template("evaluation/results.html", window=window, branch=branch, lines=lines,
                           assessments=dict(assessments), today=periods.local_today())
