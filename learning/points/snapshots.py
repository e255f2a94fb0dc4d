"""Closing a period: its scores frozen into a snapshot with a checksum of the ledger rows.

A close runs in one transaction and holds the period's row lock, so a crash halfway
leaves nothing behind and the next run builds the whole snapshot; closing a closed
period returns the snapshot it already has.
"""
from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, Column, Integer, MetaData, Table, case, func, insert, literal, or_, select, text
from sqlalchemy.dialects.postgresql import aggregate_order_by

from learning.db import utcnow
from learning.extensions import db
from learning.orgs.models import Member, Organisation, OrgKind
from learning.points import periods
from learning.points.models import LedgerEntry, Period, Snapshot, SnapshotMember, SnapshotOrg, Subject
from learning.points.scoring import OrgFigures, org_score, participation_rule_ids, policy, stars_for
from learning.points.services import PointsError, ensure_period
from learning.points.rankings import roll_up


@dataclass
class CloseResult:
    snapshot: Snapshot
    created: bool


def _period_column(span: periods.PeriodSpan):
    return {"month": LedgerEntry.month_key, "quarter": LedgerEntry.quarter_key, "year": LedgerEntry.year_key}[span.kind]


def ledger_checksum(span: periods.PeriodSpan) -> tuple[str, int, int]:
    """SHA-256 over the period's ledger rows in id order: (checksum, row count, max id).

    Each row is hashed as ``id|subject_key|organisation_id|rule_id|source_key|points`` and a
    newline.  On PostgreSQL the database writes those lines and joins them into pieces of
    ``CHUNK`` rows (string_agg in id order); only the digest is computed here, over the pieces in
    order, which is the digest of the whole text.  Elsewhere the rows are read one by one."""
    if db.engine.dialect.name == "postgresql":
        return _joined_checksum(span)
    return _read_checksum(span)


CHUNK = 20_000


def _joined_checksum(span: periods.PeriodSpan, connection=None) -> tuple[str, int, int]:
    column = _period_column(span)
    line = func.concat_ws("|", LedgerEntry.id, LedgerEntry.subject_key, LedgerEntry.organisation_id, LedgerEntry.rule_id,
                          LedgerEntry.source_key, LedgerEntry.points).op("||")(literal("\n"))
    rows = select(LedgerEntry.id.label("id"), line.label("line")).where(column == span.key).subquery()
    piece = (rows.c.id // CHUNK).label("piece")
    query = (select(piece, func.string_agg(rows.c.line, aggregate_order_by(literal(""), rows.c.id)),
                    func.count(), func.max(rows.c.id))
             .group_by(piece).order_by(piece).execution_options(yield_per=20))
    digest = hashlib.sha256()
    count = max_id = 0
    for _piece, lines, n, top in (connection or db.session).execute(query):
        digest.update(lines.encode())
        count += n
        max_id = top
    return digest.hexdigest(), count, max_id


def _read_checksum(span: periods.PeriodSpan) -> tuple[str, int, int]:
    """:func:`ledger_checksum` over rows read into Python (SQLite)."""
    digest = hashlib.sha256()
    count = max_id = 0
    rows = db.session.execute(
        select(LedgerEntry.id, LedgerEntry.subject_key, LedgerEntry.organisation_id, LedgerEntry.rule_id,
               LedgerEntry.source_key, LedgerEntry.points)
        .where(_period_column(span) == span.key).order_by(LedgerEntry.id)
        .execution_options(yield_per=20_000)
    )
    for row in rows:
        digest.update(f"{row.id}|{row.subject_key}|{row.organisation_id}|{row.rule_id}|{row.source_key}|{row.points}\n".encode())
        count += 1
        max_id = row.id
    return digest.hexdigest(), count, max_id


def _nothing_written() -> bool:
    """Whether this transaction has written nothing yet (PostgreSQL: no transaction id assigned), so
    that another connection sees the same ledger it does."""
    return db.engine.dialect.name == "postgresql" and \
        db.session.scalar(text("SELECT txid_current_if_assigned()")) is None


def _checksum_beside(span: periods.PeriodSpan, beside: bool):
    """The checksum, started now: when ``beside`` (PostgreSQL, and this transaction wrote nothing
    before it took its locks) on a connection of its own in a thread, so that the database joins the
    lines on one core while this transaction sums the period on the other; otherwise here.  Returns
    a function that waits for it.  The caller holds the period's quarter rows locked, so that no row
    of the period is written until both have read it."""
    if not beside:
        result = ledger_checksum(span)
        return lambda: result
    engine = db.session.get_bind()

    def run():
        with engine.connect() as connection:
            return _joined_checksum(span, connection)

    pool = ThreadPoolExecutor(1, thread_name_prefix="checksum")
    future = pool.submit(run)
    pool.shutdown(wait=False)
    return future.result


_SUMS = Table(
    "period_sums", MetaData(),
    Column("member_id", Integer), Column("organisation_id", Integer),
    Column("subject", LedgerEntry.__table__.c.subject.type), Column("points", BigInteger),
    Column("last_id", Integer), Column("took", BigInteger),
    prefixes=["TEMPORARY"], postgresql_on_commit="DROP",
)


@contextmanager
def _period_sums(span: periods.PeriodSpan, taking_part: list[int]):
    """The period's ledger summed by member, organisation and subject: points, the last entry and the
    points of the participation rules.  On PostgreSQL in one pass, kept for this transaction in a
    temporary table that the member rows and the organisation figures are both read from (a quarter
    is 2.5 million rows of a city's ledger; this is the only pass over them besides the checksum).
    On SQLite a subquery, read twice: a temporary table there would open a write transaction whose
    snapshot later writes of the session could no longer upgrade."""
    column = _period_column(span)
    sums = (select(LedgerEntry.member_id.label("member_id"), LedgerEntry.organisation_id.label("organisation_id"),
                   LedgerEntry.subject.label("subject"), func.sum(LedgerEntry.points).label("points"),
                   func.max(LedgerEntry.id).label("last_id"),
                   func.sum(case((LedgerEntry.rule_id.in_(taking_part or [-1]), LedgerEntry.points), else_=0))
                   .label("took"))
            .where(column == span.key)
            .group_by(LedgerEntry.member_id, LedgerEntry.organisation_id, LedgerEntry.subject))
    if db.engine.dialect.name != "postgresql":
        yield sums.subquery("period_sums")
        return
    connection = db.session.connection()
    _SUMS.drop(connection, checkfirst=True)
    _SUMS.create(connection)
    connection.execute(insert(_SUMS).from_select(["member_id", "organisation_id", "subject", "points", "last_id", "took"],
                                                 sums))
    yield _SUMS
    _SUMS.drop(connection)  # not after a failure: the rollback takes it with the rest


def _member_sums(sums):
    """Each member's points, last entry and participation points in the period (a subquery of the sums)."""
    return (select(sums.c.member_id, func.sum(sums.c.points).label("points"), func.max(sums.c.last_id).label("last"),
                   func.sum(sums.c.took).label("took"))
            .where(sums.c.subject == Subject.MEMBER).group_by(sums.c.member_id).subquery())


def _lock_period(span: periods.PeriodSpan) -> Period:
    """The period's row (made if missing), locked; on PostgreSQL together with the rows of the
    quarters it lies in, which awards lock for share while they write into a quarter, so nothing is
    added to the period while it is summed and its checksum taken on another connection."""
    if db.engine.dialect.name != "postgresql":
        ensure_period(span)
        return db.session.scalar(select(Period).where(Period.key == span.key))
    keys = sorted({span.key, periods.quarter_key(span.starts_on), periods.quarter_key(span.ends_on)}
                  | ({f"{span.key}Q{n}" for n in range(1, 5)} if span.kind == "year" else set()))
    for key in keys:
        ensure_period(periods.parse(key))
    locked = db.session.scalars(select(Period).where(Period.key.in_(keys)).order_by(Period.key).with_for_update())
    return next(row for row in locked if row.key == span.key)


def close_period(period_key: str, *, actor=None, today=None, _after_members=None) -> CloseResult:
    """Freeze ``period_key`` (a month, quarter or year that has ended)."""
    span = periods.parse(period_key)
    if span.kind == "all":
        raise PointsError(_l("“All time” is not a period that can be closed."))
    today = today or periods.local_today()
    if span.ends_on >= today:
        raise PointsError(_l("%(period)s ends on %(ends_on)s; it can be closed from the day after.",
                             period=span.key, ends_on=span.ends_on.isoformat()))
    beside = _nothing_written()
    period = _lock_period(span)
    existing = db.session.scalar(select(Snapshot).where(Snapshot.period_key == span.key))
    if existing is not None:
        return CloseResult(existing, False)

    checksum_result = _checksum_beside(span, beside)
    snapshot = Snapshot(period_key=span.key, entry_count=0, max_entry_id=0, checksum="",
                        member_rows=0, org_rows=0, participation_rules=list(policy().participation_rules))
    db.session.add(snapshot)
    db.session.flush()
    with _period_sums(span, participation_rule_ids(snapshot.participation_rules)) as sums:
        # took part: more than 0 points by the participation rules, as participants() says
        per_member = _member_sums(sums)
        db.session.execute(
            insert(SnapshotMember).from_select(
                ["snapshot_id", "member_id", "organisation_id", "name", "status", "points", "last_entry_id",
                 "participated"],
                select(
                    literal(snapshot.id), Member.id, Member.organisation_id, Member.name, Member.status,
                    func.coalesce(per_member.c.points, 0), func.coalesce(per_member.c.last, 0),
                    func.coalesce(per_member.c.took, 0) > 0,
                )
                .outerjoin(per_member, per_member.c.member_id == Member.id)
                .where(Member.active.is_(True)),
            )
        )
        snapshot.member_rows = db.session.scalar(
            select(func.count()).select_from(SnapshotMember).where(SnapshotMember.snapshot_id == snapshot.id))
        if _after_members is not None:
            _after_members()  # lets a test interrupt the close halfway
        rows = _org_rows(snapshot.id, sums)
    db.session.execute(insert(SnapshotOrg), rows)
    snapshot.org_rows = len(rows)
    checksum, count, max_id = checksum_result()
    snapshot.checksum, snapshot.entry_count, snapshot.max_entry_id = checksum, count, max_id
    period.closed_at = utcnow()
    period.closed_by_id = actor.id if actor is not None else None
    db.session.flush()
    from learning.audit.services import record

    record("points.period_closed", actor=actor, target=f"period:{span.key}",
           detail={"entries": count, "members": snapshot.member_rows, "checksum": checksum})
    return CloseResult(snapshot, True)


def _org_rows(snapshot_id: int, sums) -> list[dict]:
    """Every organisation's figures, from the frozen member rows and the period's sums."""
    p = policy()
    appraised = [s for s in p.appraised_statuses]
    orgs = db.session.execute(
        select(Organisation.id, Organisation.parent_id, Organisation.depth, Organisation.kind, Organisation.name)
        .where(Organisation.active.is_(True))
    ).all()
    figures = {o.id: OrgFigures(branch_count=1 if o.kind == OrgKind.BRANCH else 0) for o in orgs}
    for org_id, count, active in db.session.execute(
        select(SnapshotMember.organisation_id, func.count(), func.sum(case((SnapshotMember.participated, 1), else_=0)))
        .where(SnapshotMember.snapshot_id == snapshot_id, SnapshotMember.status.in_(appraised))
        .group_by(SnapshotMember.organisation_id)
    ):
        if org_id in figures:
            figures[org_id].member_count = count
            figures[org_id].active_members = int(active or 0)
    for org_id, subject, total in db.session.execute(
        select(sums.c.organisation_id, sums.c.subject, func.sum(sums.c.points))
        .group_by(sums.c.organisation_id, sums.c.subject)
    ):
        if org_id in figures:
            if subject == Subject.MEMBER:
                figures[org_id].member_points = int(total)
            else:
                figures[org_id].own_points = int(total)
    roll_up(figures, {o.id: (o.parent_id, o.depth) for o in orgs})
    rows = []
    for o in orgs:
        f = figures[o.id]
        score = org_score(f, p)
        rows.append(dict(
            snapshot_id=snapshot_id, organisation_id=o.id, parent_id=o.parent_id, name=o.name,
            member_count=f.member_count, active_members=f.active_members, member_points=f.member_points,
            own_points=f.own_points, score=score, stars=stars_for(score, p),
        ))
    return rows


def verify_snapshot(period_key: str) -> list[str]:
    """Rebuild the snapshot's figures from the ledger and list every difference."""
    span = periods.parse(period_key)
    snapshot = db.session.scalar(select(Snapshot).where(Snapshot.period_key == span.key))
    if snapshot is None:
        return [f"{span.key} has no snapshot"]
    problems = []
    checksum_result = _checksum_beside(span, _nothing_written())
    rules = snapshot.participation_rules
    with _period_sums(span, participation_rule_ids(rules) if rules is not None else []) as sums:
        per_member = _member_sums(sums)
        points = func.coalesce(per_member.c.points, 0)
        # closed before participation rules existed: any points counted as taking part
        took_part = func.coalesce(per_member.c.took if rules is not None else per_member.c.points, 0) > 0
        frozen = db.session.scalar(select(func.count()).select_from(SnapshotMember)
                                   .where(SnapshotMember.snapshot_id == snapshot.id))
        if frozen != snapshot.member_rows:
            problems.append(f"member rows: snapshot says {snapshot.member_rows}, table holds {frozen}")
        for member_id, was, had_part, now, has_part in db.session.execute(  # only the rows that differ
            select(SnapshotMember.member_id, SnapshotMember.points, SnapshotMember.participated, points, took_part)
            .outerjoin(per_member, per_member.c.member_id == SnapshotMember.member_id)
            .where(SnapshotMember.snapshot_id == snapshot.id,
                   or_(points != SnapshotMember.points, took_part != SnapshotMember.participated))
            .order_by(SnapshotMember.member_id)
        ):
            if int(now) != was:
                problems.append(f"member {member_id}: snapshot {was}, ledger {int(now)}")
            if bool(had_part) != bool(has_part):
                problems.append(f"member {member_id}: took part {bool(had_part)} in the snapshot, "
                                f"{bool(has_part)} in the ledger")
        expected = {r["organisation_id"]: r for r in _org_rows(snapshot.id, sums)}
    checksum, count, max_id = checksum_result()
    if (checksum, count, max_id) != (snapshot.checksum, snapshot.entry_count, snapshot.max_entry_id):
        problems.insert(0,
            f"ledger checksum differs: snapshot {snapshot.checksum[:12]}… over {snapshot.entry_count} rows, "
            f"ledger now {checksum[:12]}… over {count} rows"
        )
    stored = db.session.scalars(select(SnapshotOrg).where(SnapshotOrg.snapshot_id == snapshot.id)).all()
    if len(stored) != snapshot.org_rows:
        problems.append(f"organisation rows: snapshot says {snapshot.org_rows}, table holds {len(stored)}")
    for row in stored:
        want = expected.get(row.organisation_id)
        if want is None:
            continue
        for field in ("member_count", "active_members", "member_points", "own_points", "score", "stars"):
            if getattr(row, field) != want[field]:
                problems.append(f"organisation {row.organisation_id} {field}: snapshot {getattr(row, field)}, rebuilt {want[field]}")
    return problems


__all__ = ["close_period", "verify_snapshot", "ledger_checksum"]
