"""The jobs at their local times: period close and reminders across a year boundary in
Asia/Shanghai, under a frozen clock; locks; hand-started runs; the notification centre."""
from __future__ import annotations

import threading
import time
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import time_machine

from learning.courses.services import set_quota
from learning.notifications.models import Notification
from learning.orgs.models import Organisation
from learning.points.models import Snapshot
from learning.points.snapshots import verify_snapshot
from learning.scheduler import jobs as job_definitions
from learning.scheduler import services
from learning.scheduler.models import JobRun, RunStatus
from tests.conftest import at_once, csrf_token, login
from tests.factories import PASSWORD
from tests.scheduler.conftest import earn, utc

SHANGHAI = ZoneInfo("Asia/Shanghai")


def fire_times(name: str, start, end) -> list:
    """When the scheduler fires job ``name`` between two moments (its real trigger)."""
    trigger = dict((job.name, trigger) for job, trigger in services.enabled_jobs())[name]
    times, moment = [], trigger.get_next_fire_time(None, start)
    while moment <= end:
        times.append(moment)
        moment = trigger.get_next_fire_time(moment, moment + timedelta(seconds=1))
    return times


def snapshot_keys(db) -> list[str]:
    return sorted(db.session.scalars(sa.select(Snapshot.period_key)))


def notification_keys(db) -> dict[str, int]:
    return dict(db.session.execute(sa.select(Notification.key, sa.func.count()).group_by(Notification.key)).all())


def test_close_and_reminders_fire_at_local_times_across_the_year_boundary(db, tree, rules):
    earn(db, tree, utc(2026, 12, 10, 2))  # a point in 2026Q4 (and the year 2026)
    # 三支部 counts its hours by the year: it hears about the year, the others about the quarter.
    set_quota(db.session.get(Organisation, tree["orgs"]["B3"]), "year", Decimal(32), Decimal(12))
    db.session.commit()

    start, end = utc(2026, 12, 23, 16), utc(2027, 1, 3, 16)  # 24 Dec to 4 Jan in Shanghai
    events = sorted([(t, "close_periods") for t in fire_times("close_periods", start, end)]
                    + [(t, "remind_behind") for t in fire_times("remind_behind", start, end)])
    # The triggers fire at local times: 00:30 and 09:00 in Shanghai, i.e. 16:30 and 01:00 UTC.
    assert {(t.astimezone(SHANGHAI).hour, t.astimezone(SHANGHAI).minute) for t, name in events
            if name == "close_periods"} == {(0, 30)}
    assert {t.astimezone(SHANGHAI).hour for t, name in events if name == "remind_behind"} == {9}

    closed_at, reminded_at, seen = {}, {}, notification_keys(db)
    for moment, name in events:
        with time_machine.travel(moment + timedelta(seconds=2), tick=False):
            run = services.run_scheduled(name)
        assert run is not None and run.status is RunStatus.SUCCEEDED, (name, moment, run and run.error)
        assert run.slot == moment.astimezone(ZoneInfo("UTC"))
        for key in snapshot_keys(db):
            closed_at.setdefault(key, moment)
        now_seen = notification_keys(db)
        for key, count in now_seen.items():
            if count != seen.get(key):
                assert key not in reminded_at, f"{key} sent again at {moment}"
                reminded_at[key] = moment
        seen = now_seen

    # 2026Q4 and 2026 close at 00:30 on 1 January in Shanghai, which is still 31 December in UTC.
    new_year = utc(2026, 12, 31, 16, 30)
    assert closed_at == {"2026Q4": new_year, "2026": new_year}
    assert verify_snapshot("2026Q4") == [] and verify_snapshot("2026") == []
    # The last-week reminders go out on 25 December at 09:00 (01:00 UTC), once, to the right people.
    assert reminded_at == {"hours:2026Q4:last_week": utc(2026, 12, 25, 1), "hours:2026:last_week": utc(2026, 12, 25, 1)}
    by_key = {key: set(db.session.scalars(sa.select(Notification.member_id).where(Notification.key == key)))
              for key in reminded_at}
    members = tree["members"]
    assert members["b3_member"] in by_key["hours:2026:last_week"]
    assert members["b3_member"] not in by_key["hours:2026Q4:last_week"]
    assert members["b1_member"] in by_key["hours:2026Q4:last_week"]
    assert members["bx_member"] in by_key["hours:2026Q4:last_week"]
    # One run per fire time, none failed.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(JobRun)) == len(events)


def test_two_thirds_reminder_and_no_reminder_before_it(db, tree, rules):
    """Q4 2026 has 92 days: two thirds are over on 1 December."""
    with time_machine.travel(utc(2026, 11, 30, 1, 0, 5), tick=False):
        assert services.run_job("remind_behind").summary["notified"] == 0
    with time_machine.travel(utc(2026, 12, 1, 1, 0, 5), tick=False):
        summary = services.run_job("remind_behind").summary
    assert summary["due"] == ["2026Q4:two_thirds"] and summary["notified"] == summary["behind"] > 0
    assert set(notification_keys(db)) == {"hours:2026Q4:two_thirds"}


def test_close_job_waits_for_the_local_day_after(db, tree, rules):
    """At 23:59 on 31 December in Shanghai the quarter has not ended; at 00:30 it has."""
    earn(db, tree, utc(2026, 12, 10, 2))
    with time_machine.travel(utc(2026, 12, 31, 15, 59), tick=False):
        assert services.run_job("close_periods").summary["closed"] == []
    with time_machine.travel(utc(2026, 12, 31, 16, 30), tick=False):
        summary = services.run_job("close_periods").summary
    assert summary["closed"] == ["2026Q4", "2026"]
    with time_machine.travel(utc(2027, 1, 2, 16, 30), tick=False):
        assert services.run_job("close_periods").summary["already_closed"] == ["2026Q4", "2026"]
    assert snapshot_keys(db) == ["2026", "2026Q4"]


def test_a_real_scheduler_fires_the_close_at_half_past_midnight_local(app, db, tree, rules):
    """APScheduler itself, started three seconds before 00:30 on 1 January in Shanghai."""
    from learning.scheduler.process import build

    earn(db, tree, utc(2026, 12, 10, 2))
    saved = dict(app.config.get("SCHEDULES") or {})
    app.config["SCHEDULES"] = {name: "off" for name in job_definitions.JOBS if name != "close_periods"}
    try:
        with time_machine.travel(utc(2026, 12, 31, 16, 29, 57), tick=True):
            scheduler, _instance = build(app, blocking=False)
            scheduler.start()
            try:
                deadline = time.monotonic() + 15
                while time.monotonic() < deadline and not db.session.scalar(sa.select(JobRun.id)):
                    db.session.rollback()
                    time.sleep(0.2)
                run = db.session.scalar(sa.select(JobRun))
                while run is not None and run.status is RunStatus.RUNNING and time.monotonic() < deadline:
                    db.session.rollback()
                    time.sleep(0.2)
                    run = db.session.scalar(sa.select(JobRun))
            finally:
                scheduler.shutdown(wait=True)
    finally:
        app.config["SCHEDULES"] = saved
    assert run is not None, "the scheduler did not fire"
    assert run.slot == utc(2026, 12, 31, 16, 30) and run.status is RunStatus.SUCCEEDED
    assert snapshot_keys(db) == ["2026", "2026Q4"]


def test_a_job_runs_once_per_slot_and_never_twice_at_once(app, db, tree, monkeypatch):
    """Eight threads wake for the same slot of a slow job: one runs it."""
    calls = []

    def slow():
        calls.append(threading.get_ident())
        time.sleep(0.5)
        return {"ok": True}

    definition = job_definitions.JOBS["housekeeping"]
    monkeypatch.setitem(job_definitions.JOBS, "housekeeping",
                        job_definitions.JobDefinition("housekeeping", definition.title, definition.description,
                                                      definition.schedule, slow))
    slot = utc(2026, 11, 21, 4, 15)
    results = []

    def worker():
        with app.app_context():
            run = services.run_job("housekeeping", slot=slot)
            results.append(run.id if run else None)
            db.session.remove()

    at_once([worker] * 8)
    assert len(calls) == 1
    assert sum(1 for r in results if r) == 1
    # After it finished, the same slot does not run again; the next one does.
    assert services.run_job("housekeeping", slot=slot) is None
    assert services.run_job("housekeeping", slot=slot + timedelta(days=1)).status is RunStatus.SUCCEEDED
    assert len(calls) == 2


def test_a_failing_job_is_recorded_and_the_next_one_runs(db, monkeypatch):
    def broken():
        raise RuntimeError("registry unreachable")

    definition = job_definitions.JOBS["retry_registry_events"]
    monkeypatch.setitem(job_definitions.JOBS, "retry_registry_events", job_definitions.JobDefinition(
        definition.name, definition.title, definition.description, definition.schedule, broken))
    run = services.run_job("retry_registry_events")
    assert run.status is RunStatus.FAILED and "registry unreachable" in run.error
    assert services.run_job("refresh_campaigns").status is RunStatus.SUCCEEDED


def test_verify_totals_job_fails_when_a_cached_total_is_wrong(db, tree, rules):
    from learning.points.models import MemberTotal

    earn(db, tree, utc(2026, 11, 10, 2))
    assert services.run_job("verify_totals").status is RunStatus.SUCCEEDED
    db.session.execute(sa.update(MemberTotal).values(points=MemberTotal.points + 1))
    db.session.commit()
    run = services.run_job("verify_totals")
    assert run.status is RunStatus.FAILED and run.summary["differences"] == 4  # month, quarter, year, all time


def test_schedules_can_be_changed_or_switched_off_and_bad_ones_are_named(app, db):
    saved = dict(app.config.get("SCHEDULES") or {})
    try:
        app.config["SCHEDULES"] = {"remind_behind": "0 10 * * 1-5", "housekeeping": "off", "nightly": "0 1 * * *",
                                   "verify_totals": "61 * * * *"}
        problems = services.schedule_problems()
        assert any("no job 'nightly'" in p for p in problems)
        assert any(p.startswith("LEARNING_SCHEDULE_VERIFY_TOTALS=") for p in problems)
        app.config["SCHEDULES"] = {"remind_behind": "0 10 * * 1-5", "housekeeping": "off"}
        names = {job.name for job, _trigger in services.enabled_jobs()}
        assert "housekeeping" not in names and "remind_behind" in names
        trigger = dict((job.name, trigger) for job, trigger in services.enabled_jobs())["remind_behind"]
        saturday = utc(2026, 11, 21, 0)  # Saturday in Shanghai
        assert trigger.get_next_fire_time(None, saturday) == utc(2026, 11, 23, 2).astimezone(SHANGHAI)
    finally:
        app.config["SCHEDULES"] = saved


# -- the admin page and hand-started runs ---------------------------------------------------------
def test_jobs_page_starts_a_run_by_hand_and_a_scheduler_picks_it_up(client, db, tree):
    assert login(client, "root", PASSWORD).status_code == 302
    page = client.get("/admin/jobs/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "关闭已结束的周期" in html and "调度器未运行" in html
    token = csrf_token(client, "/admin/jobs/")
    response = client.post("/admin/jobs/verify_totals/run", data={"csrf_token": token}, follow_redirects=True)
    assert "已排队" in response.get_data(as_text=True)
    again = client.post("/admin/jobs/verify_totals/run", data={"csrf_token": token}, follow_redirects=True)
    assert "已在等待或运行" in again.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(JobRun)) == 1
    db.session.rollback()

    assert services.run_requested() == 1
    run = db.session.scalar(sa.select(JobRun))
    assert run.manual and run.status is RunStatus.SUCCEEDED and run.requested_by_id == tree["accounts"]["superadmin"]
    detail = client.get(f"/admin/jobs/runs/{run.id}").get_data(as_text=True)
    assert "成功" in detail and "differences" in detail
    assert client.post("/admin/jobs/nothing/run", data={"csrf_token": token}).status_code == 404
    assert client.post("/admin/jobs/verify_totals/run").status_code == 400  # no CSRF token


def test_a_run_left_running_by_a_dead_process_does_not_block_starting_it_by_hand(db):
    dead = JobRun(job="close_periods", status=RunStatus.RUNNING, host="gone", pid=999999,
                  requested_at=utc(2026, 11, 20, 16, 30), started_at=utc(2026, 11, 20, 16, 30))
    db.session.add(dead)
    db.session.commit()
    run, created = services.request_run("close_periods")
    db.session.commit()
    assert created and run.status is RunStatus.REQUESTED
    db.session.refresh(dead)
    assert dead.status is RunStatus.INTERRUPTED
    # While a live process holds the job's lock, its run is left alone and no second one is queued.
    db.session.delete(run)
    live = JobRun(job="close_periods", status=RunStatus.RUNNING, requested_at=utc(2026, 11, 21, 16, 30))
    db.session.add(live)
    db.session.commit()
    from learning.scheduler.locks import job_lock

    with job_lock("close_periods") as held:
        assert held
        same, created = services.request_run("close_periods")
    assert not created and same.id == live.id and same.status is RunStatus.RUNNING


def test_jobs_page_is_for_system_administrators_only(client, tree):
    login(client, "orgadmin", PASSWORD)
    assert client.get("/admin/jobs/").status_code == 403
    token = csrf_token(client, "/account")
    assert client.post("/admin/jobs/close_periods/run", data={"csrf_token": token}).status_code == 403


def test_readyz_needs_a_scheduler_heartbeat(client, db):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"] == {"database": "ok", "schema": "ok", "scheduler": "no heartbeat",
                                             "scheduler_heartbeat": None}
    assert client.get("/readyz?only=database").status_code == 200
    services.beat("test:1")
    assert client.get("/readyz").status_code == 200
    with time_machine.travel(services.last_beat() + timedelta(minutes=5)):
        stale = client.get("/readyz")
    assert stale.status_code == 503 and stale.get_json()["checks"]["scheduler"] == "stale"


def test_housekeeping_forgets_old_finished_runs_only(db):
    old = dict(requested_at=utc(2026, 1, 1), started_at=utc(2026, 1, 1))
    db.session.add_all([JobRun(job="verify_totals", status=RunStatus.SUCCEEDED, **old),
                        JobRun(job="verify_totals", status=RunStatus.REQUESTED, **old),
                        JobRun(job="verify_totals", status=RunStatus.SUCCEEDED, requested_at=utc(2026, 11, 1))])
    db.session.commit()
    with time_machine.travel(utc(2026, 11, 21, 20, 15, 5), tick=False):
        run = services.run_job("housekeeping")
    assert run.summary == {"runs_deleted": 1, "heartbeats_deleted": 0}
    assert sorted(r.status.value for r in db.session.scalars(sa.select(JobRun))) == ["requested", "succeeded", "succeeded"]
