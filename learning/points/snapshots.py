"""Closing a period: its scores frozen into a snapshot with a checksum of the ledger rows.

A close runs in one transaction and holds the period's row lock, so a crash halfway
leaves nothing behind and the next run builds the whole snapshot; closing a closed
period returns the snapshot it already has.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, insert, literal, select
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


def _joined_checksum(span: periods.PeriodSpan) -> tuple[str, int, int]:
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
    for _piece, text, n, top in db.session.execute(query):
        digest.update(text.encode())
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


def close_period(period_key: str, *, actor=None, today=None, _after_members=None) -> CloseResult:
    """Freeze ``period_key`` (a month, quarter or year that has ended)."""
    span = periods.parse(period_key)
    if span.kind == "all":
        raise PointsError(_l("“All time” is not a period that can be closed."))
    today = today or periods.local_today()
    if span.ends_on >= today:
        raise PointsError(_l("%(period)s ends on %(ends_on)s; it can be closed from the day after.",
                             period=span.key, ends_on=span.ends_on.isoformat()))
    ensure_period(span)
    lock = select(Period).where(Period.key == span.key)
    if db.engine.dialect.name == "postgresql":
        lock = lock.with_for_update()
    period = db.session.scalar(lock)
    existing = db.session.scalar(select(Snapshot).where(Snapshot.period_key == span.key))
    if existing is not None:
        return CloseResult(existing, False)

    checksum, count, max_id = ledger_checksum(span)
    snapshot = Snapshot(period_key=span.key, entry_count=count, max_entry_id=max_id, checksum=checksum,
                        member_rows=0, org_rows=0, participation_rules=list(policy().participation_rules))
    db.session.add(snapshot)
    db.session.flush()

    column = _period_column(span)
    # one pass over the period's rows: each member's points, last entry, and points by the
    # participation rules (took part: more than 0 of those, as participants() says)
    taking_part = participation_rule_ids(snapshot.participation_rules) or [-1]
    per_member = (
        select(LedgerEntry.member_id, func.sum(LedgerEntry.points).label("points"), func.max(LedgerEntry.id).label("last"),
               func.sum(case((LedgerEntry.rule_id.in_(taking_part), LedgerEntry.points), else_=0)).label("took"))
        .where(column == span.key, LedgerEntry.subject == Subject.MEMBER)
        .group_by(LedgerEntry.member_id)
        .subquery()
    )
    db.session.execute(
        insert(SnapshotMember).from_select(
            ["snapshot_id", "member_id", "organisation_id", "name", "status", "points", "last_entry_id", "participated"],
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
        select(func.count()).select_from(SnapshotMember).where(SnapshotMember.snapshot_id == snapshot.id)
    )
    if _after_members is not None:
        _after_members()  # lets a test interrupt the close halfway

    rows = _org_rows(snapshot.id, span)
    db.session.execute(insert(SnapshotOrg), rows)
    snapshot.org_rows = len(rows)
    period.closed_at = utcnow()
    period.closed_by_id = actor.id if actor is not None else None
    db.session.flush()
    from learning.audit.services import record

    record("points.period_closed", actor=actor, target=f"period:{span.key}",
           detail={"entries": count, "members": snapshot.member_rows, "checksum": checksum})
    return CloseResult(snapshot, True)


def _org_rows(snapshot_id: int, span: periods.PeriodSpan) -> list[dict]:
    """Every organisation's figures, from the frozen member rows and the ledger."""
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
    column = _period_column(span)
    for org_id, subject, total in db.session.execute(
        select(LedgerEntry.organisation_id, LedgerEntry.subject, func.sum(LedgerEntry.points))
        .where(column == span.key).group_by(LedgerEntry.organisation_id, LedgerEntry.subject)
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
    checksum, count, max_id = ledger_checksum(span)
    if (checksum, count, max_id) != (snapshot.checksum, snapshot.entry_count, snapshot.max_entry_id):
        problems.append(
            f"ledger checksum differs: snapshot {snapshot.checksum[:12]}… over {snapshot.entry_count} rows, "
            f"ledger now {checksum[:12]}… over {count} rows"
        )
    column = _period_column(span)
    rules = snapshot.participation_rules
    taking_part = participation_rule_ids(rules) or [-1] if rules is not None else [-1]
    ledger_points, took_points = {}, {}
    for member_id, points, took in db.session.execute(  # one pass: points and points by participation rules
        select(LedgerEntry.member_id, func.sum(LedgerEntry.points),
               func.sum(case((LedgerEntry.rule_id.in_(taking_part), LedgerEntry.points), else_=0)))
        .where(column == span.key, LedgerEntry.subject == Subject.MEMBER).group_by(LedgerEntry.member_id)
    ):
        ledger_points[member_id], took_points[member_id] = points, took
    frozen = db.session.execute(
        select(SnapshotMember.member_id, SnapshotMember.points, SnapshotMember.participated)
        .where(SnapshotMember.snapshot_id == snapshot.id)
    ).all()
    if len(frozen) != snapshot.member_rows:
        problems.append(f"member rows: snapshot says {snapshot.member_rows}, table holds {len(frozen)}")
    took_part = {m for m, p in took_points.items() if p > 0} if rules is not None else \
        {m for m, p in ledger_points.items() if p > 0}  # closed before participation rules: any points
    for member_id, points, participated in frozen:
        if int(ledger_points.get(member_id, 0)) != points:
            problems.append(f"member {member_id}: snapshot {points}, ledger {int(ledger_points.get(member_id, 0))}")
        if bool(participated) != (member_id in took_part):
            problems.append(f"member {member_id}: took part {bool(participated)} in the snapshot, "
                            f"{member_id in took_part} in the ledger")
    expected = {r["organisation_id"]: r for r in _org_rows(snapshot.id, span)}
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
