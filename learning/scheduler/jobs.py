"""The jobs: what each one does, when it runs by default, and how late it may still start.

Each job calls the services of its feature and returns a summary of what it did (stored with
its run).  Every job is idempotent: running it twice for the same time changes nothing more.
Schedules are cron expressions in the configured time zone (Asia/Shanghai by default): five
fields, or six with seconds first; ``LEARNING_SCHEDULE_<JOB>`` replaces one, ``off`` disables it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

from flask_babel import lazy_gettext as _l

from learning.extensions import db


class JobFailed(RuntimeError):
    """The job ran but did not do all it should; its summary is kept with the failure."""

    def __init__(self, message: str, summary: dict):
        super().__init__(message)
        self.summary = summary


@dataclass(frozen=True)
class JobDefinition:
    name: str
    title: object  # lazy string
    description: object
    schedule: str
    run: Callable[[], dict]
    grace_seconds: int = 3600  # how late a missed run may still start (then it waits for its next time)


def close_periods() -> dict:
    """Freeze the quarter and the year that have ended, once (the day after a quarter ends)."""
    from sqlalchemy import select

    from learning.points import periods
    from learning.points.models import LedgerEntry
    from learning.points.snapshots import close_period

    today = periods.local_today()
    last_quarter = periods.quarter_key(periods.parse(periods.quarter_key(today)).starts_on - timedelta(days=1))
    last_year = str(today.year - 1)
    summary = {"closed": [], "already_closed": [], "empty": []}
    for key in (last_quarter, last_year):
        span = periods.parse(key)
        column = LedgerEntry.quarter_key if span.kind == "quarter" else LedgerEntry.year_key
        if db.session.scalar(select(LedgerEntry.id).where(column == key).limit(1)) is None:
            summary["empty"].append(key)  # nothing was earned then (before the platform started)
            continue
        result = close_period(key)
        db.session.commit()
        summary["closed" if result.created else "already_closed"].append(key)
        if result.created:
            summary.setdefault("snapshots", {})[key] = {
                "members": result.snapshot.member_rows, "organisations": result.snapshot.org_rows,
                "ledger_rows": result.snapshot.entry_count}
    return summary


def remind_behind() -> dict:
    from learning.courses.reminders import remind_behind as remind

    return remind().as_dict()


def refresh_campaigns() -> dict:
    from learning.quizzes.challenges import refresh_all

    changed = refresh_all()
    db.session.commit()
    return {"changed": changed}


def expire_attempts() -> dict:
    from learning.quizzes.attempts import expire_overdue

    graded = 0
    while True:
        batch = expire_overdue(limit=500)
        db.session.commit()
        graded += batch
        if batch < 500:
            return {"graded": graded}


def pull_registries() -> dict:
    from sqlalchemy import select

    from learning.registry.models import RegistryConnection, SyncStatus
    from learning.registry.sync import pull

    connections = db.session.scalars(select(RegistryConnection).where(
        RegistryConnection.revoked_at.is_(None), RegistryConnection.pull_url.is_not(None))
        .order_by(RegistryConnection.id)).all()
    summary = {"connections": {}}
    failed = []
    for connection in connections:
        run = pull(connection, apply=True)
        summary["connections"][connection.name] = {"status": run.status.value, "error": run.error,
                                                   "sync_run": run.id}
        if run.status is not SyncStatus.SUCCEEDED:
            failed.append(connection.name)
    if failed:
        raise JobFailed(f"pull sync failed for {', '.join(failed)}", summary)
    return summary


def retry_registry_events() -> dict:
    from sqlalchemy import func, select

    from learning.registry.models import EventStatus, RegistryEvent
    from learning.registry.services import retry_failed

    applied = retry_failed()
    still = db.session.scalar(select(func.count()).select_from(RegistryEvent)
                              .where(RegistryEvent.status == EventStatus.FAILED))
    return {"applied": applied, "still_failing": still}


def verify_totals() -> dict:
    """The cached totals that rankings read are kept in the same transaction as each ledger row,
    so there is nothing to rebuild on a timer; this proves every night that they still equal
    the ledger, and fails loudly (on the jobs page) if they do not."""
    from learning.points.services import verify_totals as verify

    problems = verify()
    summary = {"differences": len(problems), "examples": problems[:20]}
    if problems:
        raise JobFailed(f"{len(problems)} cached totals differ from the ledger; "
                        "see `learning points verify-totals`", summary)
    return summary


def email_notices() -> dict:
    """E-mail new notices (通知公告) and their reminders to members with an address."""
    from learning.orglife.notices import email_pending

    return {"emailed": email_pending()}


def remind_reports() -> dict:
    """Remind branch secretaries of last month's report, before its deadline and once it is late."""
    from learning.evaluation.reports import remind_due
    from learning.points import periods

    summary = remind_due(periods.local_today())
    db.session.commit()
    return summary


def housekeeping() -> dict:
    """Forget old run records and heartbeats of schedulers long gone."""
    from flask import current_app

    from learning.scheduler.services import prune

    summary = prune(current_app.config["JOB_RUN_DAYS"])
    db.session.commit()
    return summary


JOBS: dict[str, JobDefinition] = {job.name: job for job in [
    JobDefinition("close_periods", _l("Close ended periods"),
                  _l("Freezes the quarter (and the year) that has ended into ranking snapshots, the day after it ends."),
                  "30 0 * * *", close_periods, grace_seconds=6 * 3600),
    JobDefinition("remind_behind", _l("Study hours reminders"),
                  _l("Reminds members who are behind on their hours at two thirds of the period and in its last week."),
                  "0 9 * * *", remind_behind, grace_seconds=6 * 3600),
    JobDefinition("refresh_campaigns", _l("Open and close campaigns"),
                  _l("Opens challenge campaigns at their start and closes them at their end."),
                  "* * * * *", refresh_campaigns, grace_seconds=50),
    JobDefinition("expire_attempts", _l("Grade abandoned attempts"),
                  _l("Grades quiz attempts left open past their time limit with the answers given in time."),
                  "* * * * *", expire_attempts, grace_seconds=50),
    JobDefinition("pull_registries", _l("Pull sync from registries"),
                  _l("Reads the roster of every registry with a SCIM server and applies the differences."),
                  "0 3 * * *", pull_registries, grace_seconds=6 * 3600),
    JobDefinition("retry_registry_events", _l("Retry failed registry events"),
                  _l("Applies again the registry events that failed (for example a member not yet provisioned)."),
                  "*/10 * * * *", retry_registry_events, grace_seconds=500),
    JobDefinition("verify_totals", _l("Check cached totals"),
                  _l("Proves that the cached point totals used by rankings equal a rebuild from the ledger."),
                  "0 4 * * *", verify_totals, grace_seconds=6 * 3600),
    JobDefinition("email_notices", _l("E-mail notices"),
                  _l("E-mails new notices and their reminders to members whose account has an e-mail address."),
                  "*/5 * * * *", email_notices, grace_seconds=250),
    JobDefinition("remind_reports", _l("Monthly report reminders"),
                  _l("Reminds branch secretaries of last month's report two days before it is due and when it is late."),
                  "0 9 * * *", remind_reports, grace_seconds=6 * 3600),
    JobDefinition("housekeeping", _l("Housekeeping"),
                  _l("Deletes job run records older than the retention and heartbeats of stopped schedulers."),
                  "15 4 * * *", housekeeping, grace_seconds=6 * 3600),
]}
