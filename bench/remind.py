"""The 学时 reminders job for the whole city, against a bare INSERT … SELECT of the same rows, in the
same run (bench/study_hours.py fills the completions first).

Runs ``remind_behind`` on the last-week reminder day of 2026Q3 (the quarter's and the year's
reminders of that day), after deleting that day's reminders so the run is repeatable; the baseline
copies the notifications it made into a scratch table and times inserting them again with one
INSERT … SELECT.

    .venv/bin/python bench/remind.py
"""
from __future__ import annotations

import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import city_app, report  # noqa: E402

DAY = date(2026, 9, 24)  # 2026Q3's last week begins
PATTERN = "hours:2026%:last_week"


def main() -> None:
    from sqlalchemy import text

    from learning.courses.reminders import remind_behind
    from learning.extensions import db

    app = city_app()
    with app.app_context():
        def clear():
            db.session.execute(text("DELETE FROM notification WHERE key LIKE :k"), {"k": PATTERN})
            db.session.commit()

        clear()
        started = time.perf_counter()
        result = remind_behind(DAY)
        ours = time.perf_counter() - started
        assert result.notified == result.behind > 0, result
        db.session.execute(text("DROP TABLE IF EXISTS bench_reminders"))
        db.session.execute(text("CREATE TABLE bench_reminders AS SELECT member_id, kind, key, params, created_at "
                                "FROM notification WHERE key LIKE :k"), {"k": PATTERN})
        db.session.commit()
        clear()
        started = time.perf_counter()
        db.session.execute(text("INSERT INTO notification (member_id, kind, key, params, created_at) "
                                "SELECT member_id, kind, key, params, created_at FROM bench_reminders "
                                "ON CONFLICT (member_id, key) DO NOTHING"))
        db.session.commit()
        bare = time.perf_counter() - started
        db.session.execute(text("DROP TABLE bench_reminders"))
        db.session.commit()
    report(f"学时 reminders for the city on {DAY}: {result.notified:,} members behind ({', '.join(result.due)})", [
        ("remind_behind (the job)", ours, "INSERT … SELECT of the same rows", bare, "≤ 3×"),
    ])


if __name__ == "__main__":
    main()
