"""Requesting, building and handing over background exports.

A request is one row (the same file asked again while it is waiting or being built is that row);
the scheduler process claims requested rows one at a time (a conditional UPDATE, so two schedulers
never build the same file), builds the file with the kind's function and keeps it in the row for
``EXPORT_KEEP_HOURS``.  While it builds, the number of rows written is stored from a connection of
its own every ``EXPORT_PROGRESS_SECONDS`` (the build's own reads stay in one transaction), which is
what the progress bar shows.  A build whose progress stopped for ``EXPORT_STALE_SECONDS`` died with
its process and is marked failed, so it can be asked for again.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError


from learning.db import utcnow
from learning.exports.models import ExportJob, ExportStatus
from learning.extensions import db
from learning.orgs.models import Organisation
from learning.orgs.queries import active_member_count
from learning.orgs.scoping import Permission, scope_for

log = logging.getLogger("learning.exports")

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Kind:
    """A file a feature exports: its title, who may have it, which periods it is made for
    (``period(key)``: the key as the feature writes it, or None), how it is built (``build(org,
    period_key, progress)`` returns a ``learning.spreadsheet.LargeWorkbook``) and named."""

    name: str
    title: object  # a lazy string
    permission: Permission
    period: Callable[[str], str | None]
    build: Callable[[Organisation, str, Progress], object]
    filename: Callable[[Organisation, str], str]


KINDS: dict[str, Kind] = {}
ACTIVE = (ExportStatus.REQUESTED, ExportStatus.RUNNING)


def register(kind: Kind) -> None:
    KINDS[kind.name] = kind


class ExportError(Exception):
    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


def in_background(org: Organisation) -> bool:
    """Whether ``org``'s files are too large to build while a request waits."""
    return active_member_count(org) > current_app.config["EXPORT_DIRECT_MAX_MEMBERS"]


def request_export(kind_name: str, org: Organisation, period_key: str, actor) -> tuple[ExportJob, bool]:
    """(the export, whether it is new): the caller's own request for the same file while it is
    waiting or being built is returned instead of a second one."""
    kind = KINDS.get(kind_name)
    if kind is None:
        raise ExportError(_l("There is no such export."))
    if not scope_for(actor).can_org(kind.permission, org):
        raise ExportError(_l("You may not export this organisation's figures."))
    period_key = kind.period(period_key or "")
    if period_key is None:
        raise ExportError(_l("There is no such period for this file."))
    found = _active(kind_name, org, period_key, actor)
    if found is not None:
        return found, False
    job = ExportJob(kind=kind_name, organisation_id=org.id, period_key=period_key, requested_by_id=actor.id,
                    status=ExportStatus.REQUESTED, rows_total=active_member_count(org), rows_done=0)
    try:
        with db.session.begin_nested():
            db.session.add(job)
            db.session.flush()
    except IntegrityError:  # the same request, at the same moment, in another worker: that one
        return _active(kind_name, org, period_key, actor), False
    return job, True


def _active(kind_name: str, org: Organisation, period_key: str, actor) -> ExportJob | None:
    """The requester's export of the same file that is waiting or being made."""
    return db.session.scalar(select(ExportJob).where(
        ExportJob.kind == kind_name, ExportJob.organisation_id == org.id, ExportJob.period_key == period_key,
        ExportJob.requested_by_id == actor.id, ExportJob.status.in_(ACTIVE)))


def visible(job_id: int, account) -> ExportJob | None:
    """The export if ``account`` asked for it (nobody else sees another's file)."""
    job = db.session.get(ExportJob, job_id)
    return job if job is not None and job.requested_by_id == account.id else None


def may_download(job: ExportJob, account) -> bool:
    """Ready, and the organisation is still in the requester's scope for the kind."""
    kind = KINDS.get(job.kind)
    return (job.status is ExportStatus.READY and kind is not None
            and scope_for(account).can_org(kind.permission, job.organisation))


def content(job: ExportJob) -> bytes:
    return db.session.scalar(select(ExportJob.content).where(ExportJob.id == job.id)) or b""


def mine(account):
    """The account's exports, newest first (a SELECT to page)."""
    return select(ExportJob).where(ExportJob.requested_by_id == account.id).order_by(ExportJob.id.desc())


# -- the scheduler's side -----------------------------------------------------------------------
def run_requested() -> int:
    """Build every requested export, oldest first; how many were built."""
    tidy()
    built = 0
    while (job_id := _claim_next()) is not None:
        build(job_id)
        built += 1
    return built


def _claim_next() -> int | None:
    while True:
        job_id = db.session.scalar(select(ExportJob.id).where(ExportJob.status == ExportStatus.REQUESTED)
                                   .order_by(ExportJob.id).limit(1))
        if job_id is None:
            db.session.rollback()
            return None
        now = utcnow()
        taken = db.session.execute(update(ExportJob).where(ExportJob.id == job_id,
                                                           ExportJob.status == ExportStatus.REQUESTED)
                                   .values(status=ExportStatus.RUNNING, started_at=now, beat_at=now)).rowcount
        db.session.commit()
        if taken == 1:
            return job_id


def progress_writer(job_id: int, every: float | None = None) -> Progress:
    """A function that stores the rows written so far, at most every ``every`` seconds, from a
    connection of its own (the build's reading transaction is not ended)."""
    every = current_app.config["EXPORT_PROGRESS_SECONDS"] if every is None else every
    engine = db.engine
    last = [0.0]

    def write(done: int) -> None:
        write.done = done
        now = time.monotonic()
        if now - last[0] < every:
            return
        last[0] = now
        with engine.begin() as connection:
            connection.execute(update(ExportJob.__table__).where(ExportJob.__table__.c.id == job_id)
                               .values(rows_done=done, beat_at=utcnow()))

    write.done = 0  # the rows written so far, whether stored yet or not
    return write


def build(job_id: int) -> ExportJob:
    """Build one claimed export and keep its file; a failure is recorded on the row, in the log and
    in nothing else."""
    job = db.session.get(ExportJob, job_id)
    kind = KINDS.get(job.kind)
    progress = progress_writer(job_id)
    try:
        if kind is None:
            raise ExportError(_l("There is no such export."))
        book = kind.build(job.organisation, job.period_key, progress)
        data = book.bytes()
        filename = kind.filename(job.organisation, job.period_key)
    except Exception as exc:  # noqa: BLE001 (any failure of a build is the row's, not the scheduler's)
        db.session.rollback()
        log.exception("export %s (%s) failed", job_id, getattr(kind, "name", "?"))
        job = db.session.get(ExportJob, job_id)
        job.status, job.finished_at = ExportStatus.FAILED, utcnow()
        job.error = str(exc.message if isinstance(exc, ExportError) else
                        _l("The file could not be made; please try again."))[:500]
        db.session.commit()
        return job
    job = db.session.get(ExportJob, job_id)
    job.content, job.size, job.filename = data, len(data), filename
    job.rows_done = max(progress.done, job.rows_done)
    job.status, job.finished_at = ExportStatus.READY, utcnow()
    db.session.commit()
    return job


def tidy() -> dict:
    """Mark builds whose progress stopped as failed, and delete files kept past their time."""
    now = utcnow()
    config = current_app.config
    stale = db.session.execute(update(ExportJob).where(
        ExportJob.status == ExportStatus.RUNNING,
        ExportJob.beat_at < now - timedelta(seconds=config["EXPORT_STALE_SECONDS"]))
        .values(status=ExportStatus.FAILED, finished_at=now,
                error=str(_l("The file was not finished: the process making it stopped. Please ask for it again."))))
    purged = db.session.execute(delete(ExportJob).where(
        ExportJob.status.in_([ExportStatus.READY, ExportStatus.FAILED]),
        ExportJob.finished_at < now - timedelta(hours=config["EXPORT_KEEP_HOURS"])))
    db.session.commit()
    return {"stale": stale.rowcount, "purged": purged.rowcount}
