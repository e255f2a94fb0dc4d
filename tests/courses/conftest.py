"""Courses fixtures: the shipped content imported, and a clock the tests move."""
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from learning.courses import study
from learning.courses.content import import_courses

CONTENT = Path(__file__).resolve().parents[2] / "learning" / "content" / "courses"


@pytest.fixture
def courses(db, tree, rules, app, tmp_path):
    app.config["MEDIA_DIR"] = str(tmp_path / "media")
    report = import_courses(CONTENT)
    assert not report.errors, report.errors
    return report


class Clock:
    def __init__(self):
        self.moment = datetime(2026, 11, 10, 2, 0, tzinfo=timezone.utc)  # 10:00 in Shanghai

    def __call__(self):
        return self.moment

    def advance(self, seconds: float):
        self.moment += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(study, "now", clock)
    return clock
