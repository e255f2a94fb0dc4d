"""What the scheduler keeps in the database: run records, lock rows and heartbeats."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from learning.db import UTCDateTime, str_enum, utcnow
from learning.extensions import db


class RunStatus(str, enum.Enum):
    REQUESTED = "requested"  # started by hand in the admin area, waiting for a scheduler to pick it up
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # its process died; found by the next holder of the job's lock


class JobRun(db.Model):
    """One run of one job.

    ``slot`` is the scheduled time the run belongs to; it is unique per job, so when two
    scheduler processes both wake for the same time only the first one's run is recorded and
    executed.  Runs started by hand have no slot.
    """

    __tablename__ = "job_run"
    __table_args__ = (
        UniqueConstraint("job", "slot"),
        Index("ix_job_run_job_id", "job", "id"),
        Index("ix_job_run_status", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job: Mapped[str] = mapped_column(String(40))
    slot: Mapped[datetime | None] = mapped_column(UTCDateTime)
    manual: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[RunStatus] = mapped_column(str_enum(RunStatus))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    host: Mapped[str | None] = mapped_column(String(100))
    pid: Mapped[int | None] = mapped_column(Integer)
    summary: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)

    @property
    def seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class JobLock(db.Model):
    """The lock of one job where the database has no advisory locks (SQLite).

    A holder names its host and process, so a lock left by a process that died can be taken
    over at once on the same machine; elsewhere it lapses at ``expires_at``.
    """

    __tablename__ = "job_lock"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(160))
    acquired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SchedulerHeartbeat(db.Model):
    """Each running scheduler process says it is alive every half minute (/readyz reads it)."""

    __tablename__ = "scheduler_heartbeat"

    instance: Mapped[str] = mapped_column(String(160), primary_key=True)
    host: Mapped[str] = mapped_column(String(100))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
