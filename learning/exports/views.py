"""Background exports: the page that offers one, its progress, the list of one's files, the download."""
from __future__ import annotations

import io

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from learning.audit import services as audit
from learning.exports import services
from learning.exports.models import ExportStatus
from learning.extensions import db
from learning.orgs.queries import active_member_count
from learning.orgs.scoping import org_or_404
from learning.spreadsheet import XLSX_MIMETYPE
from learning.web import ConfirmForm, id_arg, page_arg

bp = Blueprint("exports", __name__, url_prefix="/admin/exports")


def _offered():
    """(kind, organisation, period key) of ?kind=&org=&period=, or 404."""
    kind = services.KINDS.get(request.args.get("kind", "")) or abort(404)
    org_id = id_arg("org")
    if org_id is None:
        abort(404)
    org = org_or_404(current_user, org_id, kind.permission)
    period_key = kind.period(request.args.get("period", "").strip()) or abort(404)
    return kind, org, period_key


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    """A file too large to make while the browser waits: say so, and make it on request."""
    kind, org, period_key = _offered()
    form = ConfirmForm()
    if request.method == "POST":
        form.validate_on_submit() or abort(400)
        try:
            job, created = services.request_export(kind.name, org, period_key, current_user)
        except services.ExportError as exc:
            db.session.rollback()
            flash(str(exc.message), "error")
            return redirect(url_for("exports.mine"))
        db.session.commit()
        if not created:
            flash(_("This file is already being made; its progress is below."), "info")
        return redirect(url_for("exports.detail", job_id=job.id))
    return render_template("exports/new.html", kind=kind, org=org, period_key=period_key,
                           members=active_member_count(org), form=form)


@bp.route("/")
@login_required
def mine():
    listed = db.paginate(services.mine(current_user), page=page_arg(), per_page=20, error_out=False)
    return render_template("exports/list.html", listed=listed, kinds=services.KINDS)


@bp.route("/<int:job_id>")
@login_required
def detail(job_id: int):
    job = services.visible(job_id, current_user) or abort(404)
    return render_template("exports/detail.html", job=job, kind=services.KINDS.get(job.kind),
                           may_download=services.may_download(job, current_user))


@bp.route("/<int:job_id>/status")
@login_required
def status(job_id: int):
    """What the progress bar polls."""
    job = services.visible(job_id, current_user) or abort(404)
    ready = job.status is ExportStatus.READY
    response = jsonify(status=job.status.value, percent=job.percent, rows_done=job.rows_done,
                       rows_total=job.rows_total, error=job.error,
                       file=url_for("exports.file", job_id=job.id) if ready else None)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/<int:job_id>/file")
@login_required
def file(job_id: int):
    job = services.visible(job_id, current_user) or abort(404)
    if not services.may_download(job, current_user):
        abort(404)
    audit.record("data.exported", actor=current_user, target=f"{job.kind}:{job.period_key}",
                 organisation_id=job.organisation_id, detail={"format": "xlsx", "export": job.id})
    db.session.commit()
    response = send_file(io.BytesIO(services.content(job)), mimetype=XLSX_MIMETYPE, as_attachment=True,
                         download_name=job.filename, conditional=False, etag=False)  # the name quoted safely
    response.headers["Cache-Control"] = "no-store"
    return response
