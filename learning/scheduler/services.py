"""Running jobs: schedules, the once-per-slot rule, run records, hand-started runs, heartbeats.

A scheduled run takes the job's lock, then records itself under its slot (the scheduled time
it belongs to).  The slot is unique per job, so a second scheduler process that wakes for the
same time, even after the first has finished, finds the record and does nothing.  Runs started
by hand in the admin area are recorded as *requested* and picked up by whichever scheduler
polls first; web workers never run jobs themselves.
"""
from __future__ import annotations

import logging
import os
import re
import socket
import traceback
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from learning.db import utcnow
from learning.extensions import db
from learning.scheduler.jobs import JOBS, JobDefinition, JobFailed
from learning.scheduler.locks import job_lock
from learning.scheduler.models import JobRun, RunStatus, SchedulerHeartbeat

log = logging.getLogger("learning.scheduler")
OFF = "off"


class ScheduleError(ValueError):
    pass


# -- schedules ----------------------------------------------------------------------------------
_WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _cron_weekdays(field: str) -> str:
    """Cron's weekday numbers (0 or 7 = Sunday) as names: APScheduler 3 counts from Monday = 0,
    so "1-5" would otherwise mean Tuesday to Saturday."""
    if field in ("0-6", "0-7", "1-7"):
        return "*"
    return re.sub(r"\d+", lambda m: _WEEKDAYS[int(m.group())] if int(m.group()) <= 7 else m.group(), field)


def trigger_for(expression: str, zone: ZoneInfo) -> CronTrigger:
    """A cron trigger from five fields (minute hour day month weekday, as in crontab) or six
    (seconds first)."""
    fields = expression.split()
    if len(fields) == 5:
        fields = ["0", *fields]
    if len(fields) != 6:
        raise ScheduleError(f"{expression!r}: a schedule has five fields (or six, seconds first)")
    second, minute, hour, day, month, day_of_week = fields
    try:
        return CronTrigger(second=second, minute=minute, hour=hour, day=day, month=month,
                           day_of_week=_cron_weekdays(day_of_week), timezone=zone)
    except ValueError as exc:
        raise ScheduleError(f"{expression!r}: {exc}") from None


def schedule_of(job: JobDefinition) -> str:
    return (current_app.config.get("SCHEDULES") or {}).get(job.name, job.schedule)


def zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def enabled_jobs() -> list[tuple[JobDefinition, CronTrigger]]:
    """Every job with its trigger; a job whose schedule is ``off`` is left out."""
    jobs = []
    for job in JOBS.values():
        expression = schedule_of(job)
        if expression.strip().lower() != OFF:
            jobs.append((job, trigger_for(expression, zone())))
    return jobs


def schedule_problems() -> list[str]:
    try:
        where = zone()
    except (ValueError, KeyError):  # a bad LEARNING_TIMEZONE is reported on its own
        where = ZoneInfo("UTC")
    problems = []
    for name in (current_app.config.get("SCHEDULES") or {}):
        if name not in JOBS:
            problems.append(f"LEARNING_SCHEDULE_{name.upper()}: there is no job {name!r}")
    for job in JOBS.values():
        expression = schedule_of(job)
        if expression.strip().lower() != OFF:
            try:
                trigger_for(expression, where)
            except ScheduleError as exc:
                problems.append(f"LEARNING_SCHEDULE_{job.name.upper()}={exc}")
    return problems


def slot_for(trigger: CronTrigger, now: datetime, grace_seconds: int) -> datetime | None:
    """The latest time the trigger fired at or before ``now`` (within the grace), in UTC."""
    moment = trigger.get_next_fire_time(None, now - timedelta(seconds=grace_seconds))
    slot = None
    while moment is not None and moment <= now:
        slot = moment
        moment = trigger.get_next_fire_time(moment, moment + timedelta(seconds=1))
    return slot.astimezone(ZoneInfo("UTC")) if slot else None


def next_run(trigger: CronTrigger, now: datetime | None = None) -> datetime | None:
    now = (now or utcnow()).astimezone(trigger.timezone)
    return trigger.get_next_fire_time(None, now)


# -- running ------------------------------------------------------------------------------------
def _me() -> tuple[str, int]:
    return socket.gethostname()[:100], os.getpid()  # the same host name the SQLite lock rows use


def _record(name: str, slot: datetime | None) -> int | None:
    host, pid = _me()
    run = JobRun(job=name, slot=slot, manual=slot is None, status=RunStatus.RUNNING, host=host, pid=pid,
                 requested_at=utcnow(), started_at=utcnow())
    db.session.add(run)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return None
    return run.id


def _claim(run_id: int) -> bool:
    host, pid = _me()
    claimed = db.session.execute(
        update(JobRun).where(JobRun.id == run_id, JobRun.status == RunStatus.REQUESTED)
        .values(status=RunStatus.RUNNING, started_at=utcnow(), host=host, pid=pid)
    ).rowcount
    db.session.commit()
    return claimed == 1


def _mark_interrupted(name: str, current_id: int) -> int:
    """Runs of this job still marked running belong to processes that died: we hold the lock."""
    count = db.session.execute(
        update(JobRun).where(JobRun.job == name, JobRun.status == RunStatus.RUNNING, JobRun.id != current_id)
        .values(status=RunStatus.INTERRUPTED, finished_at=utcnow(),
                error="the process running it stopped before it finished; the next run did the work")
    ).rowcount
    db.session.commit()
    return count


def run_job(name: str, *, slot: datetime | None = None, requested_run_id: int | None = None) -> JobRun | None:
    """Run job ``name`` now under its lock and record it; None when it did not run because another
    process holds the lock, the slot has already run, or a requested run was claimed by another."""
    job = JOBS[name]
    with job_lock(name) as held:
        if not held:
            log.info("job %s not started: another scheduler is running it", name, extra={"job": name})
            return None
        if requested_run_id is not None:
            run_id = requested_run_id if _claim(requested_run_id) else None
        else:
            run_id = _record(name, slot)
        if run_id is None:
            log.info("job %s not started: its run for %s exists", name, slot, extra={"job": name})
            return None
        _mark_interrupted(name, run_id)
        log.info("job %s started", name, extra={"job": name, "run": run_id})
        status, summary, error = RunStatus.SUCCEEDED, None, None
        try:
            summary = job.run()
        except JobFailed as exc:
            db.session.rollback()
            status, summary, error = RunStatus.FAILED, exc.summary, str(exc)
        except Exception as exc:  # a job's failure is recorded and logged; the scheduler goes on
            db.session.rollback()
            status, error = RunStatus.FAILED, "".join(traceback.format_exception_only(exc)).strip()
            log.exception("job %s failed", name, extra={"job": name, "run": run_id})
            from learning.errortracking import capture

            capture(exc)
        run = db.session.get(JobRun, run_id)
        run.status, run.summary, run.error, run.finished_at = status, summary, error, utcnow()
        db.session.commit()
        log.info("job %s %s", name, status.value, extra={"job": name, "run": run_id, "outcome": status.value})
        return run


def run_scheduled(name: str, trigger: CronTrigger | None = None) -> JobRun | None:
    """What the scheduler calls at a job's time (with the trigger it fired): the run belongs to the
    slot just passed."""
    job = JOBS[name]
    trigger = trigger or trigger_for(schedule_of(job), zone())
    return run_job(name, slot=slot_for(trigger, utcnow(), job.grace_seconds))


def request_run(name: str, actor=None) -> tuple[JobRun, bool]:
    """Ask the scheduler to run ``name`` now; (run, created).  A job already waiting or running is
    not asked twice."""
    if name not in JOBS:
        raise KeyError(name)
    pending = db.session.scalar(select(JobRun).where(
        JobRun.job == name, JobRun.status.in_([RunStatus.REQUESTED, RunStatus.RUNNING])).order_by(JobRun.id.desc()))
    if pending is not None and pending.status is RunStatus.RUNNING:
        # Running, or left "running" by a process that died: only the lock can tell.
        with job_lock(name) as free:
            if free:
                _mark_interrupted(name, current_id=0)
                pending = None
    if pending is not None:
        return pending, False
    run = JobRun(job=name, manual=True, status=RunStatus.REQUESTED, requested_at=utcnow(),
                 requested_by_id=actor.id if actor is not None else None)
    db.session.add(run)
    db.session.flush()
    return run, True


def run_requested() -> int:
    """Run the runs requested by hand, oldest first (polled by every scheduler process)."""
    ids = db.session.execute(select(JobRun.id, JobRun.job).where(JobRun.status == RunStatus.REQUESTED)
                             .order_by(JobRun.id)).all()
    db.session.rollback()
    return sum(1 for run_id, name in ids if name in JOBS and run_job(name, requested_run_id=run_id))


# -- heartbeats ---------------------------------------------------------------------------------
def beat(instance: str) -> None:
    host, pid = _me()
    row = db.session.get(SchedulerHeartbeat, instance)
    if row is None:
        db.session.add(SchedulerHeartbeat(instance=instance, host=host, pid=pid, started_at=utcnow(), beat_at=utcnow()))
    else:
        row.beat_at = utcnow()
    db.session.commit()


def stop(instance: str) -> None:
    row = db.session.get(SchedulerHeartbeat, instance)
    if row is not None:
        db.session.delete(row)
        db.session.commit()


def last_beat() -> datetime | None:
    return db.session.scalar(select(func.max(SchedulerHeartbeat.beat_at)))


def scheduler_alive(now: datetime | None = None) -> bool:
    beat_at = last_beat()
    limit = timedelta(seconds=3 * current_app.config["SCHEDULER_HEARTBEAT_SECONDS"])
    return beat_at is not None and (now or utcnow()) - beat_at <= limit


def prune(keep_days: int) -> dict:
    """Delete finished runs older than ``keep_days`` and heartbeats a day old."""
    from sqlalchemy import delete

    now = utcnow()
    runs = db.session.execute(delete(JobRun).where(
        JobRun.requested_at < now - timedelta(days=keep_days),
        JobRun.status.not_in([RunStatus.REQUESTED, RunStatus.RUNNING]))).rowcount
    beats = db.session.execute(delete(SchedulerHeartbeat).where(
        SchedulerHeartbeat.beat_at < now - timedelta(days=1))).rowcount
    return {"runs_deleted": runs, "heartbeats_deleted": beats}


# -- reading ------------------------------------------------------------------------------------
def overview() -> list[dict]:
    """Each job with its schedule, next time and last run, for the jobs page and the CLI."""
    newest = select(func.max(JobRun.id)).where(JobRun.status != RunStatus.REQUESTED).group_by(JobRun.job)
    last = {run.job: run for run in db.session.scalars(select(JobRun).where(JobRun.id.in_(newest)))}
    pending = {run.job: run for run in db.session.scalars(select(JobRun).where(
        JobRun.status.in_([RunStatus.REQUESTED, RunStatus.RUNNING])))}
    rows = []
    for job in JOBS.values():
        expression = schedule_of(job)
        enabled = expression.strip().lower() != OFF
        rows.append({
            "job": job, "schedule": expression, "enabled": enabled,
            "next_run": next_run(trigger_for(expression, zone())) if enabled else None,
            "last": last.get(job.name), "pending": pending.get(job.name),
        })
    return rows


def runs_query(job: str | None = None, status: str | None = None):
    query = select(JobRun).order_by(JobRun.id.desc())
    if job:
        query = query.where(JobRun.job == job)
    if status:
        query = query.where(JobRun.status == RunStatus(status))
    return query
