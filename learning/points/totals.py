"""The cached totals kept beside the ledger: per member and organisation earned in
(``MemberTotal``), per member (``MemberScore``, what rankings read) and per organisation's own
entries (``OrgTotal``), for the month, quarter, year and all time of every entry.

They are written in the transaction of the ledger insert and never on their own;
:func:`verify_totals` proves, in the database, that they equal a rebuild from the ledger.
"""
from __future__ import annotations

from functools import lru_cache

from sqlalchemy import bindparam, case, func, literal, or_, select, union_all

from learning.db import insert_for
from learning.extensions import db
from learning.points import periods
from learning.points.models import LedgerEntry, MemberScore, MemberTotal, OrgTotal, Subject
from learning.points.scoring import participation_rule_ids, policy


def add_to_totals(entry: LedgerEntry, rule_code: str) -> None:
    """Add the entry to its cached totals (month, quarter, year, all time), one statement a table."""
    keys = (entry.month_key, entry.quarter_key, entry.year_key, periods.ALL_TIME)
    dialect = db.engine.dialect.name
    connection = db.session.connection()
    if entry.subject == Subject.MEMBER:
        took_part = entry.points if rule_code in policy().participation_rules else 0
        params = [dict(member_id=entry.member_id, organisation_id=entry.organisation_id, period_key=key,
                       points=entry.points, last_entry_id=entry.id, took_part=took_part) for key in keys]
        connection.execute(_member_total_upsert(dialect), params)
        connection.execute(_member_score_upsert(dialect), params)
    else:
        params = [dict(organisation_id=entry.organisation_id, period_key=key, points=entry.points) for key in keys]
        connection.execute(_org_total_upsert(dialect), params)


def _later(stmt):
    return case((stmt.excluded.last_entry_id > stmt.table.c.last_entry_id, stmt.excluded.last_entry_id),
                else_=stmt.table.c.last_entry_id)


@lru_cache(maxsize=4)
def _member_total_upsert(dialect: str):
    """Built once per dialect: building an upsert is a large share of an award's cost."""
    stmt = insert_for(MemberTotal, dialect).values(
        member_id=bindparam("member_id"), organisation_id=bindparam("organisation_id"),
        period_key=bindparam("period_key"), points=bindparam("points"), last_entry_id=bindparam("last_entry_id"),
    )
    return stmt.on_conflict_do_update(
        index_elements=["member_id", "organisation_id", "period_key"],
        set_={"points": stmt.table.c.points + stmt.excluded.points, "last_entry_id": _later(stmt)},
    )


@lru_cache(maxsize=4)
def _member_score_upsert(dialect: str):
    stmt = insert_for(MemberScore, dialect).values(
        member_id=bindparam("member_id"), period_key=bindparam("period_key"), points=bindparam("points"),
        last_entry_id=bindparam("last_entry_id"), took_part=bindparam("took_part"),
    )
    table = stmt.table
    return stmt.on_conflict_do_update(
        index_elements=["member_id", "period_key"],
        set_={"points": table.c.points + stmt.excluded.points, "last_entry_id": _later(stmt),
              "took_part": table.c.took_part + stmt.excluded.took_part},
    )


@lru_cache(maxsize=4)
def _org_total_upsert(dialect: str):
    stmt = insert_for(OrgTotal, dialect).values(
        organisation_id=bindparam("organisation_id"), period_key=bindparam("period_key"), points=bindparam("points"),
    )
    return stmt.on_conflict_do_update(
        index_elements=["organisation_id", "period_key"],
        set_={"points": stmt.table.c.points + stmt.excluded.points},
    )


# -- reading ------------------------------------------------------------------------------
def member_points(member_id: int, period_key: str) -> int:
    """A member's total for a period, from the cached totals (``verify_totals`` proves them)."""
    periods.parse(period_key)
    return int(db.session.scalar(
        select(func.coalesce(func.sum(MemberScore.points), 0))
        .where(MemberScore.member_id == member_id, MemberScore.period_key == period_key)
    ))


def ledger_sum(member_id: int, period_key: str) -> int:
    """The same figure summed straight from the ledger."""
    span = periods.parse(period_key)
    query = select(func.coalesce(func.sum(LedgerEntry.points), 0)).where(LedgerEntry.member_id == member_id)
    column = {"month": LedgerEntry.month_key, "quarter": LedgerEntry.quarter_key, "year": LedgerEntry.year_key}.get(span.kind)
    if column is not None:
        query = query.where(column == span.key)
    return int(db.session.scalar(query))


# -- proving them --------------------------------------------------------------------------
_PERIOD_COLUMNS = (LedgerEntry.month_key, LedgerEntry.quarter_key, LedgerEntry.year_key, None)


def _rebuilt(subject: Subject, keys, values):
    """The ledger grouped by ``keys`` and each period column: one UNION ALL of four GROUP BYs."""
    parts = []
    for column in _PERIOD_COLUMNS:
        key = (column if column is not None else literal(periods.ALL_TIME)).label("period_key")
        parts.append(select(*keys, key, *values).where(LedgerEntry.subject == subject)
                     .group_by(*keys, column if column is not None else literal(periods.ALL_TIME)))
    return union_all(*parts).subquery()


def _differences(rebuilt, cached, keys: list[str], values: list[str], label: str) -> list[str]:
    """Rows where the rebuild and the cache disagree, found by a FULL OUTER JOIN in the database."""
    on = [rebuilt.c[k] == cached.c[k] for k in keys]
    differ = or_(*(func.coalesce(rebuilt.c[v], 0) != func.coalesce(cached.c[v], 0) for v in values))
    rows = db.session.execute(
        select(*(func.coalesce(rebuilt.c[k], cached.c[k]) for k in keys),
               *(cached.c[v] for v in values), *(rebuilt.c[v] for v in values))
        .select_from(rebuilt.join(cached, db.and_(*on), full=True)).where(differ).limit(1000)
    ).all()
    n = len(values)
    return [f"{label} {tuple(r[:len(keys)])}: cached {tuple(x or 0 for x in r[len(keys):len(keys) + n])}, "
            f"ledger {tuple(x or 0 for x in r[len(keys) + n:])}" for r in rows]


def verify_totals() -> list[str]:
    """Compare every cached total with a rebuild from the ledger; returns the differences (at most
    1,000 of each kind)."""
    member_keys = [LedgerEntry.member_id, LedgerEntry.organisation_id]
    problems = _differences(
        _rebuilt(Subject.MEMBER, member_keys, [func.sum(LedgerEntry.points).label("points")]),
        select(MemberTotal).subquery(), ["member_id", "organisation_id", "period_key"], ["points"], "member total")
    taking_part = participation_rule_ids() or [-1]
    problems += _differences(
        _rebuilt(Subject.MEMBER, [LedgerEntry.member_id], [
            func.sum(LedgerEntry.points).label("points"), func.max(LedgerEntry.id).label("last_entry_id"),
            func.sum(case((LedgerEntry.rule_id.in_(taking_part), LedgerEntry.points), else_=0)).label("took_part")]),
        select(MemberScore).subquery(), ["member_id", "period_key"], ["points", "last_entry_id", "took_part"],
        "member score")
    problems += _differences(
        _rebuilt(Subject.ORGANISATION, [LedgerEntry.organisation_id], [func.sum(LedgerEntry.points).label("points")]),
        select(OrgTotal).subquery(), ["organisation_id", "period_key"], ["points"], "organisation total")
    return problems
