"""City rankings where users wait: the rankings page and /api/v1/rankings through gunicorn.

Prerequisite: bench/generate_city.py and bench/ranking.py (10,000,000 ledger rows) have filled the
database; 2026Q2 is closed here first if it is not (bench/close.py times that).  Prints, against the
bare GROUP BY of the quarter's ledger rows measured in the same run:

- the city's first page, HTML and API, for the live quarter (2026Q3) and a closed one (2026Q2);
- eight reviewers opening the city page at once, against one alone;
- one branch's ranking page, against /healthz;
- every worker's resident memory after these pages, against a fresh worker.

    .venv/bin/python bench/rankings_pages.py [--cache redis://127.0.0.1:6379/14]
"""
from __future__ import annotations

import json
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Browser, Server, api_token, city_app, ensure_account, get_ok, report, sql_timer, timed  # noqa: E402

LIVE, CLOSED = "2026Q3", "2026Q2"
BARE = "SELECT member_id, sum(points) FROM ledger_entry WHERE quarter_key = :q GROUP BY member_id"


def main() -> None:
    import argparse

    from sqlalchemy import select

    from learning.accounts.models import Role
    from learning.extensions import db
    from learning.orgs.models import Organisation, OrgKind
    from learning.points.snapshots import close_period
    from learning.points.rankings import snapshot_for

    app = city_app()
    with app.app_context():
        city = db.session.scalar(select(Organisation).where(Organisation.parent_id.is_(None)))
        branch = db.session.scalar(select(Organisation).where(Organisation.kind == OrgKind.BRANCH).order_by(Organisation.id))
        city_id, branch_id = city.id, branch.id
        if snapshot_for(CLOSED) is None:
            started = time.perf_counter()
            close_period(CLOSED)
            db.session.commit()
            print(f"closed {CLOSED} in {time.perf_counter() - started:.1f} s")
    ensure_account(app, "bench-reviewer", role=Role.REVIEWER, organisation_id=city_id)
    ensure_account(app, "bench-secretary", role=Role.BRANCH_SECRETARY, organisation_id=branch_id)
    token = api_token(app, "bench-reviewer")
    bare_live = timed(sql_timer(app, BARE, {"q": LIVE}), runs=3)[0]
    bare_closed = timed(sql_timer(app, BARE, {"q": CLOSED}), runs=3)[0]

    parser = argparse.ArgumentParser()
    parser.add_argument("--cache", default="", help="LEARNING_CACHE_URL for the workers (default: a folder of learning serve's own that its workers share)")
    args = parser.parse_args()
    server = Server(workers=2, threads=4, env={"LEARNING_CACHE_URL": args.cache} if args.cache else None)
    try:
        fresh = max(server.rss_mb().values())
        reviewer = Browser(server.base, "bench-reviewer")
        secretary = Browser(server.base, "bench-secretary")
        page = f"/admin/points/rankings?org={city_id}&period={{}}"
        api = f"/api/v1/rankings?org={city_id}&period={{}}&per_page=20"
        headers = {"Authorization": f"Bearer {token}"}

        html_live, body = timed(lambda: reviewer.ok(page.format(LIVE)))
        assert "党员" in body.decode()
        html_closed, _ = timed(lambda: reviewer.ok(page.format(CLOSED)))
        api_live, body = timed(lambda: get_ok(server.base, api.format(LIVE), headers))
        items = json.loads(body)["items"]
        assert len(items) == 20 and json.loads(body)["total"] == 220_000, json.loads(body)["total"]
        api_closed, _ = timed(lambda: get_ok(server.base, api.format(CLOSED), headers))

        alone = html_live
        took = []

        def one():
            started = time.perf_counter()
            reviewer.ok(page.format(LIVE))
            took.append(time.perf_counter() - started)

        threads = [threading.Thread(target=one) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        eight = statistics.median(took)

        branch_page = f"/admin/points/rankings?org={branch_id}&period={LIVE}"
        branch_time, _ = timed(lambda: secretary.ok(branch_page), runs=20)
        health, _ = timed(lambda: get_ok(server.base, "/healthz"), runs=20)
        after = server.rss_mb()
    finally:
        server.stop()

    report("City rankings through gunicorn (2 workers × 4 threads), 220,000 members, "
           f"{LIVE} live and {CLOSED} closed, cache: {args.cache or 'a folder the workers share'}", [
               (f"city ranking page 1, HTML, live {LIVE}", html_live, "bare GROUP BY of the quarter", bare_live, "≤ 0.25"),
               (f"city ranking page 1, HTML, closed {CLOSED}", html_closed, "bare GROUP BY of the quarter", bare_closed, "≤ 0.25"),
               (f"city ranking page 1, API, live {LIVE}", api_live, "bare GROUP BY of the quarter", bare_live, "≤ 0.25"),
               (f"city ranking page 1, API, closed {CLOSED}", api_closed, "bare GROUP BY of the quarter", bare_closed, "≤ 0.25"),
               ("8 concurrent city ranking pages (median of the 8)", eight, "one page alone", alone, "≤ 2×"),
               ("one branch's ranking page (median of 20)", branch_time, "/healthz (median of 20)", health, "≤ 50 ms"),
           ])
    print(f"\nworkers' resident memory after these pages: {', '.join(f'{v:.0f} MB' for v in after.values())}"
          f" (a fresh worker: {fresh:.0f} MB; goal ≤ 300 MB)")


if __name__ == "__main__":
    main()
