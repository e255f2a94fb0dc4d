"""The demo park's organisational life: this quarter's meetings and theme days held (or, in some branches,
not), members checked in by card or code, an upcoming theme day with its notice, a card reader.

Seeded, and only on an empty activity table, so a second run adds nothing.
"""
from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import func, select

from learning.extensions import db
from learning.orglife import activities, checkin, devices, notices
from learning.orglife.models import Activity, CheckInMethod, MemberCard
from learning.orgs.models import Member, OrgKind, Organisation
from learning.orgs.scoping import in_subtree
from learning.points import periods


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=periods.zone()).astimezone(timezone.utc)


def load(seed: int = 2026, today: date | None = None) -> int:
    """Create the demo activities; returns how many."""
    if db.session.scalar(select(func.count()).select_from(Activity)):
        return 0
    rng = random.Random(seed)
    today = today or periods.local_today()
    quarter = periods.parse(periods.quarter_key(today))
    months = [date(quarter.starts_on.year, quarter.starts_on.month + i, 1) for i in range(3)
              if date(quarter.starts_on.year, quarter.starts_on.month + i, 1) <= today]
    branches = db.session.scalars(select(Organisation).where(
        Organisation.kind == OrgKind.BRANCH, Organisation.active.is_(True)).order_by(Organisation.path)).all()
    created = 0
    for branch in branches:
        members = db.session.scalars(select(Member).join(Member.organisation).where(
            Member.active.is_(True), in_subtree(Organisation.path, branch.path)).order_by(Member.id)).all()
        if not members:
            continue
        for member in members:
            db.session.merge(MemberCard(card_number=f"E{member.id:08d}", member_id=member.id))
        diligence = 0.6 + 0.4 * rng.random()  # how reliably this branch holds its meetings
        plan = [("branch_assembly", months[0].replace(day=20), "支部党员大会：学习贯彻全会精神", None),
                ("party_lecture", months[-1].replace(day=12), "书记讲党课：发挥党员先锋模范作用", None)]
        for month in months:
            plan.append(("committee_meeting", month.replace(day=5), f"{month.month}月支委会", members[:3]))
            plan.append(("theme_day", month.replace(day=25), f"{month.month}月主题党日：重温入党誓词", None))
        for kind, day, title, expected in plan:
            if day >= today or rng.random() > diligence:
                continue  # not yet, or this branch let it slip
            item = activities.create_activity(
                branch, actor=None, kind=kind, title=title, starts_at=_at(day, 14, 30), ends_at=_at(day, 16, 30),
                place="党员活动室", audience=activities.Audience(member_ids=[m.id for m in expected] if expected else None))
            for member in expected or members:
                if rng.random() < 0.75 + 0.2 * diligence:
                    method = CheckInMethod.CARD if rng.random() < 0.6 else CheckInMethod.CODE
                    checkin.record(item, member, method, at=_at(day, 14, rng.randint(0, 40)))
            created += 1
        upcoming = activities.create_activity(
            branch, actor=None, kind="theme_day", title="主题党日：参观党史教育基地",
            starts_at=_at(today + timedelta(days=3), 14, 30), ends_at=_at(today + timedelta(days=3), 17),
            place="园区党群服务中心")
        notice = notices.publish(branch, actor=None, kind="meeting", title=upcoming.title, activity=upcoming,
                                 body="请全体党员按时参加，不能参加的请在活动页面请假。")
        for member in members:
            if rng.random() < 0.5:
                notices.mark_read(notice, member)
        created += 1
    committee = db.session.scalar(select(Organisation).where(Organisation.parent_id.is_(None)).order_by(Organisation.id))
    if committee is not None:
        devices.register_device(committee, "党群服务中心一楼刷卡机", actor=None)
    db.session.flush()
    return created
