"""The jobs page: what runs when, what each run did, and a button to run a job now."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from learning.web import ConfirmForm
from learning.extensions import db
from learning.orgs import queries as org_queries
from learning.orgs.scoping import Permission
from learning.web import admin_required, page_arg
from learning.scheduler import services
from learning.scheduler.jobs import JOBS
from learning.scheduler.models import JobRun, RunStatus
from learning.scheduler.summaries import describe, describe_schedule

bp = Blueprint("scheduler", __name__, url_prefix="/admin/jobs")


bp.add_app_template_global(describe_schedule, "describe_schedule")


@bp.app_template_global("describe_run")
def describe_run(summary):
    """A run's summary as (label, value) lines in the reader's language."""
    return describe(summary)


@bp.route("/")
@admin_required(Permission.MANAGE_SYSTEM)
def jobs():
    job = request.args.get("job", "")
    job = job if job in JOBS else ""
    status = request.args.get("status", "")
    status = status if status in {s.value for s in RunStatus} else ""
    pagination = org_queries.paginate(services.runs_query(job or None, status or None), page_arg(),
                                      current_app.config["PAGE_SIZE"])
    rows = services.overview()
    return render_template(
        "scheduler/jobs.html", rows=rows, pagination=pagination, job=job, status=status, jobs=JOBS,
        statuses=list(RunStatus), form=ConfirmForm(), alive=services.scheduler_alive(), last_beat=services.last_beat(),
        busy=any(row["pending"] for row in rows),
    )


@bp.route("/runs/<int:run_id>")
@admin_required(Permission.MANAGE_SYSTEM)
def run_detail(run_id: int):
    run = db.session.get(JobRun, run_id) or abort(404)
    return render_template("scheduler/run.html", run=run, definition=JOBS.get(run.job))


@bp.route("/<name>/run", methods=["POST"])
@admin_required(Permission.MANAGE_SYSTEM)
def run_now(name: str):
    ConfirmForm().validate_on_submit() or abort(400)
    if name not in JOBS:
        abort(404)
    run, created = services.request_run(name, actor=current_user)
    db.session.commit()
    title = str(JOBS[name].title)
    if not created:
        flash(_("%(job)s is already waiting or running; it was not started again.", job=title), "info")
    elif services.scheduler_alive():
        flash(_("%(job)s will start within a few seconds; this page shows its progress.", job=title), "success")
    else:
        flash(_("%(job)s is queued, but no scheduler is running: it starts when `learning scheduler` runs.",
                job=title), "warning")
    return redirect(url_for("scheduler.jobs"))
