"""Racing awards: 20 threads at once, each with its own connection and transaction.

Run on both databases; the acceptance test names PostgreSQL, where the races are real
(row locks and the unique index), while SQLite serialises writers with its database lock.
"""
import threading
from functools import partial

from sqlalchemy import func, select

from learning.extensions import db as _db
from learning.orgs.models import Member
from learning.points import services
from learning.points.models import LedgerEntry
from tests.conftest import at_once

THREADS = 20


def race(app, member_id, make_call):
    barrier = threading.Barrier(THREADS)
    errors, results = [], []

    def worker(i):
        try:
            with app.app_context():
                member = _db.session.get(Member, member_id)
                barrier.wait(timeout=30)
                result = make_call(member, i)
                _db.session.commit()
                results.append(result.points)
                _db.session.remove()
        except Exception as exc:  # reported below, with the thread's number
            errors.append(f"thread {i}: {exc!r}")

    at_once([partial(worker, i) for i in range(THREADS)])
    assert errors == []
    return results


def test_twenty_threads_awarding_the_same_source_make_one_row(app, db, tree, rules):
    member_id = tree["members"]["b1_member"]
    results = race(app, member_id, lambda m, i: services.award("meeting_attended", member=m, source_key="meeting:42"))
    assert sorted(results) == [5] * THREADS  # every caller is told the same award
    rows = db.session.scalar(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.member_id == member_id))
    assert rows == 1
    assert services.member_points(member_id, "all") == 5
    assert services.verify_totals() == []


def test_twenty_threads_racing_for_a_daily_cap_get_exactly_the_cap(app, db, tree, rules):
    member_id = tree["members"]["b1_member"]
    results = race(app, member_id, lambda m, i: services.award("lesson_completed", member=m, source_key=f"lesson:{i}"))
    assert sorted(results) == [0] * (THREADS - 6) + [1] * 6
    assert services.ledger_sum(member_id, "all") == 6
    capped = db.session.scalar(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.capped.is_(True)))
    assert capped == THREADS - 6
    assert services.member_points(member_id, "all") == 6
    assert services.verify_totals() == []


def test_the_last_unit_of_a_daily_cap_goes_to_one_thread(app, db, tree, rules):
    member_id = tree["members"]["b1_member"]
    results = race(app, member_id, lambda m, i: services.award("daily_login", member=m, source_key=f"login:{i}"))
    assert sorted(results) == [0] * (THREADS - 1) + [1]
    assert services.ledger_sum(member_id, "all") == 1
