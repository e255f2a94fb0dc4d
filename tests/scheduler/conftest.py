"""Scheduler fixtures: points earned in a period, and subprocesses that use the test database."""
from __future__ import annotations

import os
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest

from learning.orgs.models import Member
from learning.points import services as points

REPO = Path(__file__).resolve().parents[2]


def earn(db, tree, *moments: datetime) -> None:
    """王党员 attends a meeting at each moment (one ledger row each)."""
    member = db.session.get(Member, tree["members"]["b1_member"])
    for i, moment in enumerate(moments):
        points.award("meeting_attended", member=member, source_key=f"meeting:{i}", occurred_at=moment)
    db.session.commit()


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


@pytest.fixture
def process_env(app, tmp_path):
    """The environment of a `learning` subprocess on this test's database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEARNING_")}
    env.update({
        "LEARNING_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "LEARNING_INSTANCE_PATH": str(tmp_path / "instance"),
        "LEARNING_SECRET_KEY": "test-secret-key-not-for-production",
        "LEARNING_CONTENT_DIR": str(REPO / "learning" / "content"),
        "LEARNING_LOG_FORMAT": "json",
        "PYTHONUNBUFFERED": "1",
    })
    return env


@pytest.fixture
def processes():
    """Started subprocesses, killed at the end of the test whatever happens."""
    started: list[subprocess.Popen] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(10)
