"""Volunteer service as hours (志愿服务时长): recorded once per attendance or registry event, with their
source, and totalled per member and per branch for a year.  Points are made of the same hours by the
``volunteer_service`` rule within its cap; the hours themselves are never capped."""
from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from learning.extensions import db
from learning.orglife.models import VolunteerService, VolunteerSource
from learning.orgs.models import Member, Organisation, OrgKind
from learning.orgs.scoping import in_subtree
from learning.points import periods

CHUNK = 5000  # ids per IN list, far below PostgreSQL's 65,535 parameters


def record(member: Member, hours: Decimal, served_on: date, source: VolunteerSource, source_key: str, *,
           title: str | None = None, activity_id: int | None = None) -> VolunteerService:
    """The hours of one service, once per ``source_key`` (a repeated delivery changes nothing)."""
    found = db.session.scalar(select(VolunteerService).where(VolunteerService.source_key == source_key))
    if found is not None:
        return found
    row = VolunteerService(member_id=member.id, organisation_id=member.organisation_id, served_on=served_on,
                           hours=Decimal(hours), source=source, source_key=source_key,
                           title=(title or None) and title[:200], activity_id=activity_id)
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except IntegrityError:  # the same delivery, at the same moment, elsewhere: theirs counts
        return db.session.scalar(select(VolunteerService).where(VolunteerService.source_key == source_key))
    return row


def _year_span(year: int) -> tuple[date, date]:
    span = periods.parse(str(year))
    return span.starts_on, span.ends_on


def member_totals(member_ids: list[int], year: int) -> dict[int, Decimal]:
    """Each member's hours of service in ``year`` (members without any are left out)."""
    first, last = _year_span(year)
    totals: dict[int, Decimal] = {}
    in_year = (select(VolunteerService.member_id, func.sum(VolunteerService.hours))
               .where(VolunteerService.served_on.between(first, last)).group_by(VolunteerService.member_id))
    if len(member_ids) > CHUNK:  # a city's members: the year's totals once, kept for those asked
        wanted = set(member_ids)
        totals = {m: hours for m, hours in db.session.execute(in_year) if m in wanted}
    for start in range(0, len(member_ids) if len(member_ids) <= CHUNK else 0, CHUNK):
        totals.update(db.session.execute(
            in_year.where(VolunteerService.member_id.in_(member_ids[start:start + CHUNK]))).all())
    return {k: Decimal(v) for k, v in totals.items()}


def member_year(member: Member, year: int) -> list[VolunteerService]:
    first, last = _year_span(year)
    return list(db.session.scalars(select(VolunteerService).where(
        VolunteerService.member_id == member.id, VolunteerService.served_on.between(first, last))
        .order_by(VolunteerService.served_on.desc(), VolunteerService.id.desc())))


def branch_totals(root: Organisation, year: int) -> dict[int, Decimal]:
    """Hours of service in ``year`` per branch under ``root`` (a group's count with its branch), by where
    the members were when they served."""
    first, last = _year_span(year)
    rows = db.session.execute(
        select(Organisation.id, Organisation.kind, Organisation.parent_id, func.sum(VolunteerService.hours))
        .join(VolunteerService, VolunteerService.organisation_id == Organisation.id)
        .where(in_subtree(Organisation.path, root.path), VolunteerService.served_on.between(first, last))
        .group_by(Organisation.id, Organisation.kind, Organisation.parent_id)).all()
    totals: dict[int, Decimal] = defaultdict(Decimal)
    for org_id, kind, parent_id, hours in rows:
        totals[parent_id if kind == OrgKind.GROUP and parent_id is not None else org_id] += Decimal(hours)
    return dict(totals)


def register() -> None:
    from learning.points import appraisal

    appraisal.register_volunteer_provider(member_totals, branch_totals)
