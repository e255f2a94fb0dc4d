"""Credit hours for the points feature's appraisal gate (评先评优).

``points`` imports no feature, so this module registers the courses feature's hours with
:func:`learning.points.appraisal.register_hours_provider` when the app is created.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from learning.courses.services import compliance
from learning.extensions import db
from learning.orgs.models import Member
from learning.points import appraisal

CHUNK = 5000  # ids per IN list, far below PostgreSQL's 65,535 parameters


def hours_for_appraisal(member_ids: list[int], period_key: str) -> dict[int, appraisal.StudyHours]:
    """Each member's credit hours in ``period_key`` against their quota for it."""
    members: list[Member] = []
    for start in range(0, len(member_ids), CHUNK):
        members += db.session.scalars(select(Member).options(joinedload(Member.organisation))
                                      .where(Member.id.in_(member_ids[start:start + CHUNK]))).all()
    report = compliance(members, period_key)
    return {line.member.id: appraisal.StudyHours(period_key, line.hours.required, line.hours.elective,
                                                 line.need_required, line.need_elective)
            for line in report.lines}


def register() -> None:
    appraisal.register_hours_provider(hours_for_appraisal)
