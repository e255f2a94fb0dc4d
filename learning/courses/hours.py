"""Credit hours for the points feature's appraisal gate (评先评优).

``points`` imports no feature, so this module registers the courses feature's hours with
:func:`learning.points.appraisal.register_hours_provider` when the app is created.
"""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select, union_all

from learning.courses.compliance import lines_query
from learning.extensions import db
from learning.orgs.models import Organisation
from learning.points import appraisal

CHUNK = 5000  # ids per IN list, far below PostgreSQL's 65,535 parameters


def hours_for_appraisal(member_ids: list[int], period_key: str) -> dict[int, appraisal.StudyHours]:
    """Each member's credit hours in ``period_key`` against their quota for it, from the 学时 report
    in SQL (courses.compliance): for many members the whole report of each top organisation is read
    once, for a few only theirs."""
    wanted = set(member_ids)
    found: dict[int, appraisal.StudyHours] = {}
    if not wanted:
        return found
    ids = sorted(wanted)
    for root in db.session.scalars(select(Organisation).where(Organisation.parent_id.is_(None))):
        queries = [lines_query(root, period_key)] if len(ids) > CHUNK else \
            [lines_query(root, period_key, member_ids=ids[i:i + CHUNK]) for i in range(0, len(ids), CHUNK)]
        for query in queries:
            for row in db.session.execute(query.execution_options(yield_per=CHUNK)):
                if row.member_id in wanted:
                    found[row.member_id] = appraisal.StudyHours(
                        period_key, Decimal(row.got_required), Decimal(row.got_elective),
                        Decimal(row.need_required), Decimal(row.need_elective))
    return found


def hours_query(org: Organisation, period_key: str, member_ids=None):
    """The same hours as a SELECT of (member_id, got_required, got_elective, need_required,
    need_elective): of the active members below ``org`` — a SELECT over ``Member``, one row a
    member, which the caller may join further — or of ``member_ids`` (a SELECT of ids) wherever
    they are now."""
    columns = ("member_id", "got_required", "got_elective", "need_required", "need_elective")
    if member_ids is None:
        lines = lines_query(org, period_key)
        return lines.with_only_columns(*(lines.selected_columns[c] for c in columns))
    parts = []
    for root in db.session.scalars(select(Organisation).where(Organisation.parent_id.is_(None))):
        lines = lines_query(root, period_key, member_ids=member_ids).subquery()
        parts.append(select(*(lines.c[c] for c in columns)))
    return parts[0] if len(parts) == 1 else union_all(*parts)


def register() -> None:
    appraisal.register_hours_provider(hours_for_appraisal, hours_query)
