"""The city's appraisal page and its Excel file through gunicorn, against the bare GROUP BY of the
quarter's ledger rows measured in the same run, with the workers' peak memory.

    .venv/bin/python bench/appraisal.py
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Browser, Server, city_app, ensure_account, report, sql_timer, timed  # noqa: E402

QUARTER = "2026Q3"
BARE = "SELECT member_id, sum(points) FROM ledger_entry WHERE quarter_key = :q GROUP BY member_id"


def main() -> None:
    from sqlalchemy import select

    from learning.accounts.models import Role
    from learning.extensions import db
    from learning.orgs.models import Organisation

    app = city_app()
    with app.app_context():
        city_id = db.session.scalar(select(Organisation.id).where(Organisation.parent_id.is_(None)))
    ensure_account(app, "bench-reviewer", role=Role.REVIEWER, organisation_id=city_id)
    bare = timed(sql_timer(app, BARE, {"q": QUARTER}), runs=3)[0]
    server = Server(workers=2, threads=4)
    try:
        fresh = max(server.peak_mb().values())
        reviewer = Browser(server.base, "bench-reviewer")

        page, body = timed(lambda: reviewer.ok(f"/admin/points/appraisal?org={city_id}&period={QUARTER}"), runs=2)
        html_size = len(body)
        started = time.perf_counter()
        data = reviewer.ok(f"/admin/points/export?org={city_id}&period={QUARTER}&format=xlsx")
        xlsx = time.perf_counter() - started
        peak = server.peak_mb()
    finally:
        server.stop()
    report(f"City appraisal, 220,000 members, {QUARTER}", [
        (f"city appraisal page ({html_size / 1024:.0f} KB of HTML)", page, "bare GROUP BY of the quarter", bare, "≤ 2 s"),
        (f"city appraisal Excel ({len(data) / 1e6:.1f} MB)", xlsx, "bare GROUP BY of the quarter", bare, "streamed"),
    ])
    print(f"workers' peak memory: {', '.join(f'{v:.0f} MB' for v in peak.values())} (a fresh worker: {fresh:.0f} MB; "
          "goal ≤ 300 MB)")


if __name__ == "__main__":
    main()
