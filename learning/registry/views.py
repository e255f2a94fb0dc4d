"""Admin pages of the registry connector: connections (credentials shown once) and the event log."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from learning.accounts.forms import ConfirmForm
from learning.extensions import db
from learning.orgs import queries as org_queries
from learning.orgs.scoping import Permission
from learning.orgs.views import admin_required, page_arg
from learning.registry import services
from learning.registry.models import EventStatus, RegistryConnection, RegistryEvent

bp = Blueprint("registry", __name__, url_prefix="/admin/registry")


@bp.route("/", methods=["GET", "POST"])
@admin_required(Permission.MANAGE_SYSTEM)
def connections():
    form = ConfirmForm()
    if request.method == "POST":
        form.validate_on_submit() or abort(400)
        try:
            issued = services.create_connection(request.form.get("name", ""), actor=current_user)
        except services.RegistryError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            response = make_response(render_template("registry/credentials.html", issued=issued))
            response.headers["Cache-Control"] = "no-store"
            return response
    rows = db.session.scalars(select(RegistryConnection).order_by(RegistryConnection.id)).all()
    counts = dict(db.session.execute(
        select(RegistryEvent.status, func.count()).group_by(RegistryEvent.status)
    ).all())
    return render_template("registry/connections.html", connections=rows, counts=counts, form=form)


@bp.route("/<int:connection_id>/revoke", methods=["POST"])
@admin_required(Permission.MANAGE_SYSTEM)
def revoke(connection_id: int):
    ConfirmForm().validate_on_submit() or abort(400)
    connection = db.session.get(RegistryConnection, connection_id) or abort(404)
    services.revoke_connection(connection)
    db.session.commit()
    flash(_("The connection %(name)s is revoked: its token and secret no longer work.", name=connection.name), "success")
    return redirect(url_for("registry.connections"))


@bp.route("/events")
@admin_required(Permission.MANAGE_SYSTEM)
def events():
    query = select(RegistryEvent).order_by(RegistryEvent.id.desc())
    status = request.args.get("status", "")
    if status in {s.value for s in EventStatus}:
        query = query.where(RegistryEvent.status == EventStatus(status))
    event_type = request.args.get("type", "")
    if event_type:
        query = query.where(RegistryEvent.type == event_type)
    q = request.args.get("q", "").strip()
    if q:
        query = query.where(RegistryEvent.event_id == q)
    pagination = org_queries.paginate(query, page_arg(), current_app.config["PAGE_SIZE"])
    types = db.session.scalars(select(RegistryEvent.type).distinct().order_by(RegistryEvent.type)).all()
    return render_template("registry/events.html", pagination=pagination, status=status, event_type=event_type,
                           q=q, types=types, statuses=list(EventStatus), form=ConfirmForm())


@bp.route("/events/<int:event_pk>/retry", methods=["POST"])
@admin_required(Permission.MANAGE_SYSTEM)
def retry(event_pk: int):
    ConfirmForm().validate_on_submit() or abort(400)
    if db.session.get(RegistryEvent, event_pk) is None:
        abort(404)
    event = services.apply_event(event_pk)
    if event.status == EventStatus.APPLIED:
        flash(_("Event %(id)s applied.", id=event.event_id), "success")
    else:
        flash(_("Event %(id)s failed again: %(error)s", id=event.event_id, error=event.error), "error")
    return redirect(request.referrer or url_for("registry.events"))


@bp.route("/events/retry-failed", methods=["POST"])
@admin_required(Permission.MANAGE_SYSTEM)
def retry_all():
    ConfirmForm().validate_on_submit() or abort(400)
    applied = services.retry_failed()
    flash(_("%(n)d failed events now applied.", n=applied), "success")
    return redirect(url_for("registry.events", status="failed"))
