"""Admin pages of the registry connector: connections (credentials shown once) and the event log."""
from __future__ import annotations

import os
import time

from flask import Blueprint, abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from learning.web import ConfirmForm
from learning.extensions import db
from learning.orgs import queries as org_queries
from learning.orgs.scoping import Permission
from learning.web import admin_required, page_arg
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
    from learning.registry.sync import last_runs

    return render_template("registry/connections.html", connections=rows, counts=counts, form=form,
                           last_runs=last_runs([c.id for c in rows]))


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


# -- roster upload -------------------------------------------------------------------------
ROSTER_SUFFIXES = (".csv", ".xlsx")


def _upload_dir():
    from pathlib import Path

    folder = Path(current_app.instance_path) / "roster_uploads"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():  # checked but never applied: gone after a day
        if old.stat().st_mtime < time.time() - 86_400:
            old.unlink(missing_ok=True)
    return folder


@bp.route("/roster", methods=["GET", "POST"])
@admin_required(Permission.MANAGE_SYSTEM)
def roster():
    """Upload a roster: a dry run first, shown row by row; the same file is then applied by its token."""
    import secrets

    from learning.registry.roster import RosterError, import_roster

    form = ConfirmForm()
    if request.method == "GET":
        return render_template("registry/roster.html", form=form, report=None)
    form.validate_on_submit() or abort(400)
    token = request.form.get("upload", "")
    if token:  # apply a file that was dry-run before
        matches = [p for p in _upload_dir().glob(f"{token}.*")] if token.isalnum() else []
        if not matches:
            flash(_("That upload has expired; upload the file again."), "error")
            return redirect(url_for("registry.roster"))
        path, apply = matches[0], True
    else:
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            flash(_("Choose a CSV or XLSX file."), "error")
            return redirect(url_for("registry.roster"))
        suffix = "." + upload.filename.rsplit(".", 1)[-1].lower() if "." in upload.filename else ""
        if suffix not in ROSTER_SUFFIXES:
            flash(_("A roster is a .csv or .xlsx file."), "error")
            return redirect(url_for("registry.roster"))
        token = secrets.token_hex(12)
        path = _upload_dir() / f"{token}{suffix}"
        upload.save(path)
        os.utime(path, (time.time(), time.time()))  # aged by the app's clock, like the clean-up that reads it
        apply = False
    try:
        report = import_roster(path, apply=apply, force=apply and request.form.get("force") == "1")
    except RosterError as exc:
        path.unlink(missing_ok=True)
        flash(str(exc), "error")
        return redirect(url_for("registry.roster"))
    if report.problems:
        path.unlink(missing_ok=True)  # a file with problems is never applied
    if apply and report.applied:
        path.unlink(missing_ok=True)
        flash(_("Roster applied: %(c)d created, %(u)d updated, %(d)d deactivated.",
                c=len(report.created), u=len(report.updated), d=len(report.deactivated)), "success")
        return redirect(url_for("registry.roster"))
    return render_template("registry/roster.html", form=form, report=report, upload=token)


# -- pull sync -------------------------------------------------------------------------------
@bp.route("/<int:connection_id>/sync", methods=["GET", "POST"])
@admin_required(Permission.MANAGE_SYSTEM)
def sync(connection_id: int):
    """Where a connection pulls from, a dry run or a sync by hand, and the diff of every run."""
    from learning.registry import sync as pull_sync
    from learning.registry.models import SyncRun

    connection = db.session.get(RegistryConnection, connection_id) or abort(404)
    form = ConfirmForm()
    if request.method == "POST":
        form.validate_on_submit() or abort(400)
        action = request.form.get("action", "")
        if action == "source":
            try:
                services.set_pull_source(connection, request.form.get("url", ""), request.form.get("token", ""))
            except services.RegistryError as exc:
                db.session.rollback()
                flash(str(exc), "error")
            else:
                db.session.commit()
                flash(_("Saved. Run a check to see what the registry would change."), "success")
        elif action in ("check", "apply") and connection.active:
            try:
                run = pull_sync.pull(connection, apply=action == "apply", force=request.form.get("force") == "1")
            except pull_sync.SyncError as exc:
                flash(str(exc), "error")
            else:
                if run.status.value == "succeeded":
                    flash(_("Sync applied.") if action == "apply" else _("Check finished: nothing was written."), "success")
                else:
                    flash(_("The sync failed: %(error)s", error=run.error), "error")
        else:
            abort(400)
        return redirect(url_for("registry.sync", connection_id=connection.id))
    runs = org_queries.paginate(
        select(SyncRun).where(SyncRun.connection_id == connection.id).order_by(SyncRun.id.desc()),
        page_arg(), current_app.config["PAGE_SIZE"],
    )
    latest = runs.items[0] if runs.items and runs.page == 1 else None
    return render_template("registry/sync.html", connection=connection, runs=runs, latest=latest, form=form)
