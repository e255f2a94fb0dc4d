"""The city's 学时 page and its Excel file through gunicorn, against the bare aggregate of the same
credit hours measured in the same run.

Fills (once) about 440,000 course completions over the city's 220,000 members in 2026Q3, then times
the city's page (first page, a deep page, the members behind) and the Excel file of every member,
made in the background by the scheduler process (asked for, watched and downloaded as the browser
does), and reads the peak memory (VmHWM) of each web worker and of the scheduler.

    .venv/bin/python bench/study_hours.py
"""
from __future__ import annotations

import io
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Browser, Scheduler, Server, city_app, ensure_account, report, sql_timer, timed  # noqa: E402

QUARTER = "2026Q3"
BARE = ("SELECT member_id, credit_kind, sum(credit_hours) FROM course_completion WHERE quarter_key = :q "
        "GROUP BY member_id, credit_kind")


def fill(app) -> int:
    from sqlalchemy import text

    from learning.config import PACKAGE_DIR
    from learning.courses.content import import_courses
    from learning.extensions import db

    with app.app_context():
        done = db.session.scalar(text("SELECT count(*) FROM course_completion WHERE quarter_key = :q"), {"q": QUARTER})
        if done:
            return done
        if not db.session.scalar(text("SELECT count(*) FROM course")):
            assert not import_courses(PACKAGE_DIR / "content" / "courses").errors
            db.session.commit()
        db.session.execute(text("""
            INSERT INTO course_completion (member_id, course_id, organisation_id, completed_at, credit_hours, credit_kind,
                                           quarter_key, year_key, certificate_no)
            SELECT m.id, c.id, m.organisation_id, TIMESTAMP '2026-08-15 02:00:00', c.credit_hours, c.credit_kind,
                   :q, '2026', 'B-' || m.id || '-' || c.id
            FROM member m JOIN course c ON (m.id + c.id * 7) % 5 < 2
        """), {"q": QUARTER})
        db.session.commit()
        db.session.execute(text("ANALYZE course_completion"))
        db.session.commit()
        return db.session.scalar(text("SELECT count(*) FROM course_completion WHERE quarter_key = :q"), {"q": QUARTER})


def main() -> None:
    from openpyxl import load_workbook
    from sqlalchemy import select

    from learning.accounts.models import Role
    from learning.extensions import db
    from learning.orgs.models import Organisation

    app = city_app()
    completions = fill(app)
    with app.app_context():
        city_id = db.session.scalar(select(Organisation.id).where(Organisation.parent_id.is_(None)))
    ensure_account(app, "bench-committee", role=Role.ORG_ADMIN, organisation_id=city_id)
    bare = timed(sql_timer(app, BARE, {"q": QUARTER}), runs=3)[0]
    server, scheduler = Server(workers=2, threads=4), Scheduler()
    try:
        fresh = max(server.peak_mb().values())
        admin = Browser(server.base, "bench-committee")
        page = f"/admin/study?org={city_id}&period={QUARTER}"

        first, body = timed(lambda: admin.ok(page), runs=3)
        assert "220000" in body.decode().replace(",", "") or "220,000" in body.decode()
        deep, _ = timed(lambda: admin.ok(page + "&page=5000"), runs=3)
        behind, _ = timed(lambda: admin.ok(page + "&show=behind"), runs=3)
        xlsx, data, seen = admin.background_export(f"/admin/study.xlsx?org={city_id}&period={QUARTER}")
        peak, made = server.peak_mb(), scheduler.peak_mb()
        rss = server.rss_mb()
    finally:
        server.stop()
        scheduler.stop()
    rows = load_workbook(io.BytesIO(data), read_only=True).active.max_row
    report(f"城市学时, {completions:,} completions over 220,000 members, {QUARTER}", [
        ("city 学时 page, first page", first, "bare aggregate of the credit hours", bare, "≤ 2 s"),
        ("city 学时 page, page 5,000", deep, "bare aggregate of the credit hours", bare, "≤ 2 s"),
        ("city 学时 page, members behind", behind, "bare aggregate of the credit hours", bare, "≤ 2 s"),
        (f"city 学时 Excel in the background ({rows:,} rows, {len(data) / 1e6:.1f} MB)", xlsx,
         "bare aggregate of the credit hours", bare, "progress shown"),
    ])
    print(f"progress the page showed: {', '.join(f'{p}%' for p in seen)}")
    print(f"workers' peak memory: {', '.join(f'{v:.0f} MB' for v in peak.values())} (a fresh worker: {fresh:.0f} MB; "
          f"goal ≤ 250 MB); now {', '.join(f'{v:.0f} MB' for v in rss.values())}; the scheduler making the file: "
          f"{', '.join(f'{v:.0f} MB' for v in made.values())}")


if __name__ == "__main__":
    main()
