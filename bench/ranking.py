"""Rank a period at city scale on PostgreSQL, next to the bare SQL aggregate over the same rows
(in-process; bench/rankings_pages.py times the same through HTTP, where users wait).

Prerequisite: bench/generate_city.py has filled the database.  This script adds N ledger rows
(default 10,000,000) spread over 2026 with SQL (generate_series), rebuilds the cached totals
from them the way `learning points verify-totals` checks them, then times:

- bare: SELECT member_id, sum(points) FROM ledger_entry WHERE quarter_key = … GROUP BY member_id
  (the lower bound: the least work any ranking must do over the raw ledger);
- the city's first page as the rankings page and API read it (ranking_pages), and the whole list
  (window functions, as the exports read it);
- the city's organisations ranked (figures for 14,000 organisations rolled up the tree);
- one district's member ranking, first page.
"""
from __future__ import annotations

import argparse
import statistics
import time

from sqlalchemy import func, select, text

from learning import create_app
from learning.config import PACKAGE_DIR
from learning.extensions import db
from learning.orgs.models import Organisation
from learning.points import ranking_pages, rankings
from learning.points.models import LedgerEntry
from learning.points.scoring import policy
from learning.points.services import load_rules, rule_by_code

QUARTER = "2026Q3"


def timed(fn, runs=3):
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return min(times), statistics.median(times), result


def fill_ledger(rows: int) -> None:
    load_rules(PACKAGE_DIR / "content" / "points" / "rules.yaml")
    db.session.commit()
    rule_id = rule_by_code("meeting_attended").id
    members = db.session.scalar(select(func.max(text("id"))).select_from(text("member")))
    started = time.perf_counter()
    with db.engine.begin() as conn:
        conn.execute(text("""
            INSERT INTO ledger_entry (rule_id, subject, subject_key, member_id, organisation_id, source_key, points,
                requested_points, capped, occurred_on, counted_on, month_key, quarter_key, year_key, actor_kind, created_at)
            SELECT :rule, 'member', 'm:' || m.id, m.id, m.organisation_id, 'bench:' || g, 1 + (g % 5), 1 + (g % 5), false,
                   d, d, to_char(d, 'YYYY-MM'), to_char(d, 'YYYY') || 'Q' || to_char(d, 'Q'), to_char(d, 'YYYY'), 'system', now()
            FROM generate_series(1::bigint, :rows) AS g
            JOIN member m ON m.id = 1 + (g * 7919) % :members
            CROSS JOIN LATERAL (SELECT DATE '2026-01-01' + ((g * 31) % 365)::int AS d) AS day
        """), {"rule": rule_id, "rows": rows, "members": members})
    print(f"inserted {rows:,} ledger rows in {time.perf_counter() - started:.0f} s")


def rebuild_totals() -> None:
    """The cached totals, rebuilt from the ledger with the same grouping award() maintains."""
    started = time.perf_counter()
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM point_member_total"))
        for column in ("month_key", "quarter_key", "year_key", None):
            key = column or "'all'"
            group = "member_id, organisation_id" + (f", {column}" if column else "")
            conn.execute(text(f"""
                INSERT INTO point_member_total (member_id, organisation_id, period_key, points, last_entry_id)
                SELECT member_id, organisation_id, {key}, sum(points), max(id) FROM ledger_entry
                WHERE subject = 'member' GROUP BY {group}
            """))
        conn.execute(text("DELETE FROM point_member_score"))
        took_part = "CASE WHEN rule_id IN (SELECT id FROM point_rule WHERE code = ANY(:codes)) THEN points ELSE 0 END"
        for column in ("month_key", "quarter_key", "year_key", None):
            key = column or "'all'"
            conn.execute(text(f"""
                INSERT INTO point_member_score (member_id, period_key, points, last_entry_id, took_part)
                SELECT member_id, {key}, sum(points), max(id), sum({took_part}) FROM ledger_entry
                WHERE subject = 'member' GROUP BY member_id{f", {column}" if column else ""}
            """), {"codes": list(policy().participation_rules)})
    # VACUUM as well as ANALYZE: index-only scans of the scores need the pages marked all-visible
    # (a fresh city's first live ranking page was 0.27 of the bare aggregate before, 0.21 after)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in ("ledger_entry", "point_member_total", "point_member_score"):
            conn.execute(text(f"VACUUM ANALYZE {table}"))
    print(f"rebuilt cached totals in {time.perf_counter() - started:.0f} s")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ledger", type=int, default=10_000_000, help="ledger rows to add first (0: use what is there)")
    args = parser.parse_args()
    app = create_app()
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            raise SystemExit("this benchmark is for PostgreSQL")
        if args.ledger:
            fill_ledger(args.ledger)
        if args.ledger or not db.session.scalar(text("SELECT count(*) FROM point_member_total")):
            rebuild_totals()
        total_rows = db.session.scalar(select(func.count()).select_from(LedgerEntry))
        quarter_rows = db.session.scalar(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.quarter_key == QUARTER))
        city = db.session.scalar(select(Organisation).where(Organisation.parent_id.is_(None)))
        district = db.session.scalar(select(Organisation).where(Organisation.parent_id == city.id).limit(1))
        print(f"{total_rows:,} ledger rows, {quarter_rows:,} in {QUARTER}")

        bare_sql = text("SELECT member_id, sum(points) FROM ledger_entry WHERE quarter_key = :q GROUP BY member_id")
        bare = timed(lambda: db.session.execute(bare_sql, {"q": QUARTER}).all())
        page = timed(lambda: ranking_pages.member_ranking_page(city, QUARTER, page=1, per_page=20).rows)
        whole = timed(lambda: rankings.member_ranking(city, QUARTER))
        orgs = timed(lambda: rankings.org_ranking(city, QUARTER))
        district_page = timed(lambda: ranking_pages.member_ranking_page(district, QUARTER, page=1, per_page=20).rows)
        print(f"\n{'what':52} {'best':>9} {'median':>9}  ratio to bare")
        for label, (best, median, result) in (
            ("bare SQL aggregate over the quarter's ledger rows", bare),
            (f"city member ranking, first page ({len(page[2])} rows)", page),
            (f"city member ranking, whole list ({len(whole[2]):,} rows)", whole),
            (f"city's organisations ranked ({len(orgs[2])} rows)", orgs),
            ("one district's member ranking, first page", district_page),
        ):
            print(f"{label:52} {best * 1000:8.0f}ms {median * 1000:8.0f}ms  {best / bare[0]:6.2f}")
        top = whole[2][:3]
        check = {m: s for m, s in bare[2]}
        assert all(check.get(r.member_id, 0) == r.points for r in whole[2][:1000]), "ranking differs from the ledger"
        print("\ntop three:", [(r.rank, r.name, r.points) for r in top], "(the first 1,000 equal the bare aggregate)")


if __name__ == "__main__":
    main()
