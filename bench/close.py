"""Closing and verifying a period at city scale, against the bare COPY of the same ledger rows piped
to sha256sum (the least any checksum over them must do), in the same run.

Closes a quarter of about 2.5 million ledger rows inside a transaction that is rolled back (so the
run can be repeated on the same database), then verifies the closed 2026Q2 snapshot.

    .venv/bin/python bench/close.py [--quarter 2026Q1]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import CITY_URL, city_app, report  # noqa: E402


def bare_copy(quarter: str) -> tuple[float, str]:
    """psql's COPY of the quarter's rows, as the checksum writes them, piped to sha256sum."""
    url = urlparse(CITY_URL)
    query = ("COPY (SELECT id::text || '|' || subject_key || '|' || organisation_id::text || '|' || rule_id::text"
             " || '|' || source_key || '|' || points::text FROM ledger_entry"
             f" WHERE quarter_key = '{quarter}' ORDER BY id) TO STDOUT")
    started = time.perf_counter()
    out = subprocess.run(f'psql -h {url.hostname} -p {url.port or 5432} -U {url.username} {url.path[1:]} -c "{query}"'
                         " | sha256sum", shell=True, check=True, capture_output=True, text=True).stdout
    return time.perf_counter() - started, out.split()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quarter", default="2026Q1", help="closed and rolled back")
    parser.add_argument("--verify", default="2026Q2", help="a closed quarter to verify")
    args = parser.parse_args()
    from sqlalchemy import func, select

    from learning.extensions import db
    from learning.points import periods
    from learning.points.models import LedgerEntry
    from learning.points.snapshots import close_period, ledger_checksum, verify_snapshot

    app = city_app()
    with app.app_context():
        rows = db.session.scalar(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.quarter_key == args.quarter))
        bare, digest = bare_copy(args.quarter)
        started = time.perf_counter()
        checksum = ledger_checksum(periods.parse(args.quarter))
        checksum_time = time.perf_counter() - started
        assert checksum[0] == digest, "the checksum is not the digest of the rows as written"
        db.session.rollback()
        started = time.perf_counter()
        result = close_period(args.quarter)
        close_time = time.perf_counter() - started
        assert result.created and result.snapshot.entry_count == rows
        db.session.rollback()  # leave the quarter open for the next run
        verify_rows = db.session.scalar(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.quarter_key == args.verify))
        bare_verify, _ = bare_copy(args.verify)
        started = time.perf_counter()
        problems = verify_snapshot(args.verify)
        verify_time = time.perf_counter() - started
        assert problems == [], problems[:5]
    report(f"Period close and verify, {rows:,} and {verify_rows:,} ledger rows", [
        (f"checksum of {args.quarter} (equals sha256sum of the COPY)", checksum_time, "COPY | sha256sum", bare, "≤ 2×"),
        (f"close {args.quarter} (checksum, snapshot of 220,000 members, 14,000 orgs)", close_time, "COPY | sha256sum",
         bare, "≤ 2×"),
        (f"verify {args.verify}", verify_time, "COPY | sha256sum", bare_verify, "≤ 2×"),
    ])


if __name__ == "__main__":
    main()
