"""The scheduler process: APScheduler 3 with one cron job per enabled job, a heartbeat and a poll
for runs requested by hand.

``learning scheduler`` runs it blocking in its own process; ``learning serve --embedded`` (what
``make run`` uses) runs it in the background of the one process that also serves the app.  It
is never started by ``create_app``, so gunicorn workers never run jobs.
"""
from __future__ import annotations

import logging
import os
from datetime import datetime
import socket
import uuid

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from learning.exports import services as exports
from learning.extensions import db
from learning.scheduler import services

log = logging.getLogger("learning.scheduler")


def _in_app(app: Flask, function, *args):
    """Run ``function`` in an app context and always give the session back."""
    with app.app_context():
        try:
            return function(*args)
        finally:
            db.session.remove()


def build(app: Flask, *, blocking: bool):
    """An APScheduler scheduler for ``app`` (not started) and this process's instance name."""
    instance = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
    with app.app_context():
        zone = services.zone()
        jobs = services.enabled_jobs()
        heartbeat = app.config["SCHEDULER_HEARTBEAT_SECONDS"]
        poll = app.config["SCHEDULER_POLL_SECONDS"]
    scheduler = (BlockingScheduler if blocking else BackgroundScheduler)(
        timezone=zone, job_defaults={"coalesce": True, "max_instances": 1})
    for job, trigger in jobs:
        scheduler.add_job(_in_app, trigger, args=[app, services.run_scheduled, job.name, trigger], id=job.name,
                          name=job.name, misfire_grace_time=job.grace_seconds)
    scheduler.add_job(_in_app, "interval", seconds=heartbeat, args=[app, services.beat, instance],
                      id="_heartbeat", name="heartbeat", next_run_time=datetime.now(zone))
    scheduler.add_job(_in_app, "interval", seconds=poll, args=[app, services.run_requested],
                      id="_requested", name="requested runs")
    scheduler.add_job(_in_app, "interval", seconds=poll, args=[app, exports.run_requested],
                      id="_exports", name="background exports")
    return scheduler, instance


def describe(app: Flask) -> list[str]:
    with app.app_context():
        return [f"{job.name:<24} {services.schedule_of(job):<16} next {services.next_run(trigger):%Y-%m-%d %H:%M:%S %Z}"
                for job, trigger in services.enabled_jobs()]


def start_background(app: Flask):
    """Start the scheduler in the background of this process (the embedded default)."""
    scheduler, instance = build(app, blocking=False)
    scheduler.start()
    log.info("scheduler started in the background (%s)", instance)
    return scheduler, instance


def run_blocking(app: Flask, echo=print) -> None:
    """Run the scheduler in the foreground until SIGINT or SIGTERM (a run in progress finishes)."""
    import signal

    scheduler, instance = build(app, blocking=True)

    def _stop(signum, _frame):
        log.info("scheduler stopping on signal %s", signum)
        scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, _stop)
    echo(f"Scheduler {instance} ({app.config['TIMEZONE']}); jobs:")
    for line in describe(app):
        echo(f"  {line}")
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        _in_app(app, services.stop, instance)
