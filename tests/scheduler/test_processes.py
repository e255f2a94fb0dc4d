"""Real processes on the test database: two schedulers side by side, and a period close killed
halfway through."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter

import sqlalchemy as sa

from learning.points.models import Snapshot, SnapshotMember
from learning.points.snapshots import verify_snapshot
from learning.scheduler.models import JobRun, RunStatus, SchedulerHeartbeat
from learning.scheduler.services import request_run
from tests.conftest import clock_prefix, learning_command
from tests.scheduler.conftest import earn, utc

FAST = "*/3 * * * * *"  # every three seconds: the same slots in both processes


def test_two_scheduler_processes_run_each_due_job_once(app, db, tree, rules, client, process_env, processes,
                                                       time_machine):
    time_machine.move_to(utc(2026, 11, 20, 2))  # 2026Q3 is the one period that has ended and is open
    earn(db, tree, utc(2026, 8, 3, 2), utc(2026, 8, 4, 2))  # 2026Q3 has ended and is not closed
    env = dict(process_env, LEARNING_SCHEDULER_POLL_SECONDS="1", LEARNING_SCHEDULER_HEARTBEAT_SECONDS="1",
               LEARNING_SCHEDULE_CLOSE_PERIODS=FAST, LEARNING_SCHEDULE_REFRESH_CAMPAIGNS=FAST,
               LEARNING_SCHEDULE_EXPIRE_ATTEMPTS=FAST, LEARNING_SCHEDULE_RETRY_REGISTRY_EVENTS=FAST,
               LEARNING_SCHEDULE_REMIND_BEHIND="off", LEARNING_SCHEDULE_PULL_REGISTRIES="off",
               LEARNING_SCHEDULE_VERIFY_TOTALS="off", LEARNING_SCHEDULE_HOUSEKEEPING="off")
    for _ in range(2):
        processes.append(subprocess.Popen(learning_command("scheduler"), env=env, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and db.session.scalar(
            sa.select(sa.func.count()).select_from(SchedulerHeartbeat)) < 2:
        db.session.rollback()
        time.sleep(0.2)
    assert client.get("/readyz").status_code == 200
    run, _created = request_run("verify_totals")  # started by hand while both poll for it
    db.session.commit()
    time.sleep(11)
    for process in processes:
        process.send_signal(signal.SIGTERM)
    outputs = [process.communicate(timeout=30) for process in processes]
    assert [process.returncode for process in processes] == [0, 0], outputs

    runs = db.session.execute(sa.select(JobRun.job, JobRun.slot, JobRun.status, JobRun.pid, JobRun.started_at,
                                        JobRun.finished_at, JobRun.summary)).all()
    per_slot = Counter((r.job, r.slot) for r in runs if r.slot is not None)
    assert per_slot and max(per_slot.values()) == 1
    for job in ("close_periods", "refresh_campaigns", "expire_attempts", "retry_registry_events"):
        slots = sorted(r.slot for r in runs if r.job == job)
        assert len(slots) >= 3, (job, slots)
        # No due time was skipped: consecutive slots three seconds apart.
        assert all((b - a).total_seconds() == 3 for a, b in zip(slots, slots[1:])), (job, slots)
        spans = sorted((r.started_at, r.finished_at) for r in runs if r.job == job)
        assert all(prev[1] <= nxt[0] for prev, nxt in zip(spans, spans[1:])), f"{job} ran twice at once"
    assert all(r.status is RunStatus.SUCCEEDED for r in runs), [r for r in runs if r.status is not RunStatus.SUCCEEDED]
    # Both processes were competing for the same times.
    logs = [json.loads(line) for _out, err in outputs for line in err.splitlines() if line.startswith("{")]
    busy_pids = {entry["pid"] for entry in logs if "not started" in entry["message"]}
    worked_pids = {r.pid for r in runs}
    assert len(busy_pids | worked_pids) == 2
    # The quarter was closed by exactly one run; later runs found it closed.
    closes = [r.summary for r in runs if r.job == "close_periods"]
    assert sum(1 for s in closes if "2026Q3" in s["closed"]) == 1
    assert sum(1 for s in closes if "2026Q3" in s["already_closed"]) == len(closes) - 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Snapshot)) == 1
    # The run started by hand ran once, in one of them.
    manual = db.session.scalars(sa.select(JobRun).where(JobRun.manual.is_(True))).all()
    assert [(m.id, m.status) for m in manual] == [(run.id, RunStatus.SUCCEEDED)]
    # Stopped schedulers take their heartbeats with them: readiness says so.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SchedulerHeartbeat)) == 0
    assert client.get("/readyz").status_code == 503


KILLER = textwrap.dedent("""
    import functools, os, signal
    from learning import create_app
    from learning.points import snapshots
    from learning.scheduler.services import run_job

    def die():
        print("members frozen; killing myself", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)

    snapshots.close_period = functools.partial(snapshots.close_period, _after_members=die)
    app = create_app()
    with app.app_context():
        run_job("close_periods")
    print("not reached")
""")


def test_a_killed_period_close_is_completed_by_the_next_run(db, tree, rules, runner, process_env, time_machine):
    time_machine.move_to(utc(2026, 11, 20, 2))  # 2026Q3 is the one period that has ended and is open
    earn(db, tree, utc(2026, 8, 3, 2), utc(2026, 9, 30, 15, 59))  # the second: 23:59 on 30 September in Shanghai
    killed = subprocess.run([sys.executable, "-c", clock_prefix() + KILLER], env=process_env, capture_output=True,
                            text=True, timeout=60)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert "members frozen" in killed.stdout and "not reached" not in killed.stdout
    # Nothing of the half-made snapshot is left, and its run is still marked running.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Snapshot)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SnapshotMember)) == 0
    dead = db.session.scalar(sa.select(JobRun))
    assert dead.status is RunStatus.RUNNING and dead.finished_at is None
    db.session.rollback()

    result = runner.invoke(args=["scheduler", "run", "close_periods"])
    assert result.exit_code == 0, result.output
    assert '"2026Q3"' in result.output and "succeeded" in result.output
    snapshots = db.session.scalars(sa.select(Snapshot)).all()
    assert [s.period_key for s in snapshots] == ["2026Q3"] and snapshots[0].entry_count == 2
    assert verify_snapshot("2026Q3") == []
    statuses = dict(db.session.execute(sa.select(JobRun.id, JobRun.status)).all())
    assert statuses[dead.id] is RunStatus.INTERRUPTED
    assert sorted(s.value for s in statuses.values()) == ["interrupted", "succeeded"]
    # And once more: still one snapshot.
    assert runner.invoke(args=["scheduler", "run", "close_periods"]).exit_code == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Snapshot)) == 1
