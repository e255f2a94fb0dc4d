from datetime import datetime, timedelta, timezone

import pytest

from learning.accounts.models import Account
from learning.orglife import activities
from learning.orgs.models import Member, Organisation


# Every test here runs on this clock, standing still: a Wednesday in the middle of a quarter, 10:00 in Shanghai.
NOW = datetime(2026, 11, 18, 2, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def _clock():
    import time_machine

    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def now(_clock):
    return NOW


@pytest.fixture
def meeting(db, tree, rules, now):
    """A 支部党员大会 of B1 (一支部) under way: it started 10 minutes ago, expects B1's members (G1's too)."""
    b1 = db.session.get(Organisation, tree["orgs"]["B1"])
    secretary = db.session.get(Account, tree["accounts"]["secretary"])
    item = activities.create_activity(b1, actor=secretary, kind="branch_assembly", title="十一月支部党员大会",
                                      starts_at=now - timedelta(minutes=10), ends_at=now + timedelta(hours=1),
                                      place="党员活动室")
    db.session.commit()
    return item.id


def get(db, model, key):
    return db.session.get(model, key)


def member(db, tree, key) -> Member:
    return db.session.get(Member, tree["members"][key])
