"""How a period is closed at city scale: the checksum taken on a connection of its own beside the sums
(PostgreSQL, when the closing transaction has written nothing yet), in the transaction otherwise; the
quarters the period lies in locked against awards meanwhile; the frozen rows equal a plain
computation from the ledger either way."""
from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa

from learning.orgs.models import Member, Organisation
from learning.points import periods, services, snapshots
from learning.points.models import LedgerEntry, SnapshotMember, SnapshotOrg, Subject
from learning.points.snapshots import close_period, verify_snapshot
from tests.points.test_checksum import expected


def at(y, m, d):
    return datetime(y, m, d, 4, tzinfo=timezone.utc)


def earn(db, tree):
    """Q3 2026: 王党员 two meetings and dues, 李书记 one meeting, 钱二支 dues; B1 holds a meeting."""
    get = lambda key: db.session.get(Member, tree["members"][key])  # noqa: E731
    for i in range(2):
        services.award("meeting_attended", member=get("b1_member"), source_key=f"m{i}", occurred_at=at(2026, 8, 3 + i))
    services.award("dues_paid_on_time", member=get("b1_member"), source_key="d1", occurred_at=at(2026, 8, 5))
    services.award("meeting_attended", member=get("b1_secretary"), source_key="m9", occurred_at=at(2026, 9, 1))
    services.award("dues_paid_on_time", member=get("b2_member"), source_key="d2", occurred_at=at(2026, 7, 9))
    services.award("meeting_held_on_schedule", organisation=db.session.get(Organisation, tree["orgs"]["B1"]),
                   source_key="held", occurred_at=at(2026, 8, 3))


def plain(db):
    """Each member's points and the organisations' member and own points in 2026Q3, summed in Python."""
    rows = db.session.scalars(sa.select(LedgerEntry).where(LedgerEntry.quarter_key == "2026Q3")).all()
    members, member_points, own_points = {}, {}, {}
    for e in rows:
        if e.subject == Subject.MEMBER:
            members[e.member_id] = members.get(e.member_id, 0) + e.points
            member_points[e.organisation_id] = member_points.get(e.organisation_id, 0) + e.points
        else:
            own_points[e.organisation_id] = own_points.get(e.organisation_id, 0) + e.points
    return members, member_points, own_points


def frozen(db, snapshot_id):
    members = dict(db.session.execute(sa.select(SnapshotMember.member_id, SnapshotMember.points)
                                      .where(SnapshotMember.snapshot_id == snapshot_id)).all())
    orgs = {r.organisation_id: r for r in db.session.scalars(
        sa.select(SnapshotOrg).where(SnapshotOrg.snapshot_id == snapshot_id))}
    return members, orgs


def check_against_plain(db, tree, snapshot):
    members, member_points, own_points = plain(db)
    kept, orgs = frozen(db, snapshot.id)
    active = set(db.session.scalars(sa.select(Member.id).where(Member.active.is_(True))))
    assert set(kept) == active and snapshot.member_rows == len(active)
    assert {m: p for m, p in kept.items() if p} == members
    assert members[tree["members"]["b1_member"]] > 0
    b2 = tree["orgs"]["B2"]
    assert orgs[b2].member_points == member_points[b2]
    assert own_points[tree["orgs"]["B1"]] > 0
    want = expected(db, periods.parse("2026Q3"))
    assert (snapshot.checksum, snapshot.entry_count, snapshot.max_entry_id) == want and want[1] == 6


def test_a_close_after_committed_awards_takes_the_checksum_beside(db, tree, rules, monkeypatch):
    earn(db, tree)
    db.session.commit()
    connections = []
    real = snapshots._joined_checksum

    def spy(span, connection=None):
        connections.append(connection)
        return real(span, connection)

    monkeypatch.setattr(snapshots, "_joined_checksum", spy)
    result = close_period("2026Q3", today=date(2026, 10, 2))
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        assert len(connections) == 1 and connections[0] is not None  # a connection of its own
        assert connections[0] is not db.session.connection()
    else:
        assert connections == []  # SQLite reads the rows in the transaction
    check_against_plain(db, tree, result.snapshot)
    assert verify_snapshot("2026Q3") == []


def test_a_close_in_the_transaction_that_wrote_the_awards_counts_them(db, tree, rules, monkeypatch):
    earn(db, tree)  # not committed: another connection would not see these rows
    connections = []
    real = snapshots._joined_checksum
    monkeypatch.setattr(snapshots, "_joined_checksum",
                        lambda span, connection=None: connections.append(connection) or real(span, connection))
    result = close_period("2026Q3", today=date(2026, 10, 2))
    assert all(c is None for c in connections)
    check_against_plain(db, tree, result.snapshot)
    assert verify_snapshot("2026Q3") == []
    db.session.commit()
    assert verify_snapshot("2026Q3") == []


def test_verify_lists_only_the_rows_that_differ(db, tree, rules):
    earn(db, tree)
    db.session.commit()
    close_period("2026Q3", today=date(2026, 10, 2))
    db.session.commit()
    member, other = tree["members"]["b1_member"], tree["members"]["b2_member"]
    db.session.execute(sa.update(SnapshotMember).where(SnapshotMember.member_id == member).values(points=999))
    db.session.execute(sa.delete(SnapshotMember).where(SnapshotMember.member_id == other))
    db.session.commit()
    problems = verify_snapshot("2026Q3")
    members = plain(db)[0]
    assert f"member {member}: snapshot 999, ledger {members[member]}" in problems
    rows = db.session.scalar(sa.select(sa.func.count()).select_from(SnapshotMember))
    assert f"member rows: snapshot says {rows + 1}, table holds {rows}" in problems
    assert not any(p.startswith(f"member {m}:") for p in problems for m in members if m != member)


def test_a_year_close_holds_its_quarters_against_awards(db, tree, rules):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite has one writer at a time")
    earn(db, tree)
    db.session.commit()
    close_period("2026", today=date(2027, 1, 2))  # the transaction stays open
    with db.engine.connect() as other:
        # 2026Q3 had awards: an award's lock for share on it waits for the close
        with pytest.raises(sa.exc.OperationalError, match="could not obtain lock"):
            with other.begin():
                other.execute(sa.text("SELECT key FROM point_period WHERE key = '2026Q3' FOR SHARE NOWAIT"))
        # 2026Q1 is made by the close: an award's insert of the row waits for it too
        with pytest.raises(sa.exc.OperationalError, match="lock timeout"):
            with other.begin():
                other.execute(sa.text("SET LOCAL lock_timeout = '300ms'"))
                other.execute(sa.text("INSERT INTO point_period (key, kind, starts_on, ends_on) VALUES"
                                      " ('2026Q1', 'quarter', '2026-01-01', '2026-03-31') ON CONFLICT DO NOTHING"))
    db.session.rollback()
    with db.engine.connect() as other, other.begin():
        assert other.scalar(sa.text("SELECT key FROM point_period WHERE key = '2026Q3' FOR SHARE NOWAIT")) == "2026Q3"
