"""The city's appraisal page through gunicorn and its Excel file made in the background by the
scheduler process (asked for, watched and downloaded as the browser does), against the bare GROUP BY
of the quarter's ledger rows measured in the same run, with the peak memory of every process.

    .venv/bin/python bench/appraisal.py
"""
from __future__ import annotations

import io
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Browser, Scheduler, Server, city_app, ensure_account, report, sql_timer, timed  # noqa: E402

QUARTER = "2026Q3"
BARE = "SELECT member_id, sum(points) FROM ledger_entry WHERE quarter_key = :q GROUP BY member_id"


def main() -> None:
    from openpyxl import load_workbook
    from sqlalchemy import select

    from learning.accounts.models import Role
    from learning.extensions import db
    from learning.orgs.models import Organisation

    app = city_app()
    with app.app_context():
        city_id = db.session.scalar(select(Organisation.id).where(Organisation.parent_id.is_(None)))
    ensure_account(app, "bench-reviewer", role=Role.REVIEWER, organisation_id=city_id)
    bare = timed(sql_timer(app, BARE, {"q": QUARTER}), runs=3)[0]
    server, scheduler = Server(workers=2, threads=4), Scheduler()
    try:
        fresh = max(server.peak_mb().values())
        reviewer = Browser(server.base, "bench-reviewer")

        page, body = timed(lambda: reviewer.ok(f"/admin/points/appraisal?org={city_id}&period={QUARTER}"), runs=3)
        html_size = len(body)
        deep, _ = timed(lambda: reviewer.ok(f"/admin/points/appraisal?org={city_id}&period={QUARTER}&page=5000"), runs=3)
        xlsx, data, seen = reviewer.background_export(f"/admin/points/export?org={city_id}&period={QUARTER}&format=xlsx")
        peak, made = server.peak_mb(), scheduler.peak_mb()
    finally:
        server.stop()
        scheduler.stop()
    rows = load_workbook(io.BytesIO(data), read_only=True)["党员"].max_row - 4
    report(f"City appraisal, 220,000 members, {QUARTER}", [
        (f"city appraisal page 1 ({html_size / 1024:.0f} KB of HTML)", page, "bare GROUP BY of the quarter", bare, "≤ 2 s"),
        ("city appraisal page 5,000", deep, "bare GROUP BY of the quarter", bare, "≤ 2 s"),
        (f"city appraisal Excel in the background ({len(data) / 1e6:.1f} MB, {rows:,} members)", xlsx,
         "bare GROUP BY of the quarter", bare, "progress shown"),
    ])
    print(f"progress the page showed: {', '.join(f'{p}%' for p in seen)}")
    print(f"web workers' peak memory: {', '.join(f'{v:.0f} MB' for v in peak.values())} (a fresh worker: {fresh:.0f} MB); "
          f"the scheduler making the file: {', '.join(f'{v:.0f} MB' for v in made.values())} (goal ≤ 300 MB)")


if __name__ == "__main__":
    main()
