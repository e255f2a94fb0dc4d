"""Time "all members under this organisation" at city scale, through the scoping module.

For the city committee, a district committee and a branch it runs the same query the admin
area and the API run (count, and the first page of 20), best of 5, and prints PostgreSQL's plan
for the district count so the index use can be seen.
"""
from __future__ import annotations

import statistics
import time

from sqlalchemy import func, select

from learning import create_app
from learning.extensions import db
from learning.orgs import queries
from learning.orgs.models import Member, Organisation
from learning.orgs.scoping import in_subtree


def best_of(fn, runs=5):
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return min(times) * 1000, statistics.median(times) * 1000, result


def main():
    app = create_app()
    with app.app_context():
        city = db.session.scalar(select(Organisation).where(Organisation.parent_id.is_(None)))
        district = db.session.scalar(select(Organisation).where(Organisation.parent_id == city.id).limit(1))
        branch = db.session.scalar(
            select(Organisation).where(Organisation.kind == "branch", in_subtree(Organisation.path, district.path)).limit(1)
        )
        print(f"{db.session.scalar(select(func.count()).select_from(Organisation))} organisations, "
              f"{db.session.scalar(select(func.count()).select_from(Member))} members on {db.engine.dialect.name}")
        for label, org in (("city", city), ("district", district), ("branch", branch)):
            count_query = (
                select(func.count(Member.id)).join(Member.organisation).where(in_subtree(Organisation.path, org.path))
            )
            best, median, count = best_of(lambda: db.session.scalar(count_query))
            page_query = queries.member_search(_Everyone(), org=org).limit(20)
            pbest, pmedian, _rows = best_of(lambda: db.session.scalars(page_query).all())
            print(f"{label:9} {count:7d} members   count {best:7.1f} ms (median {median:7.1f})   "
                  f"first page {pbest:6.1f} ms (median {pmedian:6.1f})")
        if db.engine.dialect.name == "postgresql":
            count_query = (
                select(func.count(Member.id)).join(Member.organisation).where(in_subtree(Organisation.path, district.path))
            )
            compiled = count_query.compile(db.engine, compile_kwargs={"literal_binds": True})
            plan = db.session.execute(db.text(f"EXPLAIN ANALYZE {compiled}")).scalars().all()
            print("\nplan of the district count:\n  " + "\n  ".join(plan))


class _Everyone:
    """A scope that sees everything, so the benchmark measures the subtree filter alone."""

    def members(self, permission):
        from sqlalchemy.orm import joinedload

        return select(Member).join(Member.organisation).options(joinedload(Member.organisation))


if __name__ == "__main__":
    main()
