"""Read-side queries of the points pages and API (no state changes here)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from learning.extensions import db
from learning.orgs.models import Member
from learning.points import periods
from learning.points.models import Dispute, DisputeStatus, LedgerEntry
from learning.points.services import member_points


@dataclass
class MemberSummary:
    today: int
    period_key: str
    period: int
    year: int
    all_time: int


def member_summary(member: Member, period_key: str | None = None) -> MemberSummary:
    today = periods.local_today()
    period_key = period_key or periods.quarter_key(today)
    today_points = int(db.session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.points), 0))
        .where(LedgerEntry.member_id == member.id, LedgerEntry.counted_on == today)
    ))
    return MemberSummary(
        today=today_points,
        period_key=period_key,
        period=member_points(member.id, period_key),
        year=member_points(member.id, periods.year_key(today)),
        all_time=member_points(member.id, periods.ALL_TIME),
    )


def member_entries(member: Member):
    """The member's ledger, newest first."""
    return select(LedgerEntry).where(LedgerEntry.member_id == member.id).order_by(LedgerEntry.id.desc())


def daily_series(member: Member, days: int = 90) -> tuple[list[str], list[int]]:
    """Cumulative points of the last ``days`` local days, for the chart on "My points"."""
    today = periods.local_today()
    start = today - timedelta(days=days - 1)
    before = int(db.session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.points), 0))
        .where(LedgerEntry.member_id == member.id, LedgerEntry.counted_on < start)
    ))
    per_day = dict(db.session.execute(
        select(LedgerEntry.counted_on, func.sum(LedgerEntry.points))
        .where(LedgerEntry.member_id == member.id, LedgerEntry.counted_on >= start)
        .group_by(LedgerEntry.counted_on)
    ).all())
    labels, values, running = [], [], before
    for i in range(days):
        day = start + timedelta(days=i)
        running += int(per_day.get(day, 0))
        labels.append(day.strftime("%m-%d"))
        values.append(running)
    return labels, values


def open_dispute_entry_ids(member: Member) -> set[int]:
    return set(db.session.scalars(
        select(Dispute.entry_id).where(Dispute.member_id == member.id, Dispute.status == DisputeStatus.OPEN)
    ))


def corrected_entry_ids(entry_ids: list[int]) -> set[int]:
    if not entry_ids:
        return set()
    return set(db.session.scalars(select(LedgerEntry.corrects_id).where(LedgerEntry.corrects_id.in_(entry_ids))))


def member_disputes(member: Member) -> list[Dispute]:
    return list(db.session.scalars(
        select(Dispute).where(Dispute.member_id == member.id).options(joinedload(Dispute.entry))
        .order_by(Dispute.id.desc()).limit(20)
    ))


def disputes_in_scope(org_clause, status: DisputeStatus | None = DisputeStatus.OPEN):
    """Disputes of members whose current organisation satisfies ``org_clause`` (from scoping)."""
    from learning.orgs.models import Organisation

    query = (
        select(Dispute).join(Member, Member.id == Dispute.member_id)
        .join(Organisation, Organisation.id == Member.organisation_id).where(org_clause)
        .options(joinedload(Dispute.entry), joinedload(Dispute.member).joinedload(Member.organisation))
    )
    if status is not None:
        query = query.where(Dispute.status == status)
    return query.order_by(Dispute.id)
