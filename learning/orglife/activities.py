"""Creating activities, who is expected at them, who may see them, and leave (请假).

Every function leaves its changes in the caller's transaction; the caller commits once.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, insert, literal, or_, select

from learning.db import utcnow
from learning.extensions import db
from learning.orglife import setup
from learning.orglife.models import Activity, ActivityKind, Attendance, Invitee, LeaveRequest, LeaveStatus
from learning.orgs.models import Member, OrgKind, Organisation
from learning.orgs.scoping import Permission, in_subtree, scope_for

EARLY_CHECK_IN = timedelta(minutes=30)  # the code works from 30 minutes before the start
LONGEST = timedelta(days=3)


class OrgLifeError(ValueError):
    """A refused operation; ``message`` is for the user, ``field`` names the input to blame."""

    def __init__(self, message, field: str | None = None, status: int = 422):
        super().__init__(str(message))
        self.message = message
        self.field = field
        self.status = status


@dataclass
class Audience:
    """Who is expected: the organisation's members, some of its groups, or a list of its members."""

    group_ids: list[int] | None = None
    member_ids: list[int] | None = None


def _clean(text: str | None, field: str, *, required: bool, longest: int = 200) -> str | None:
    text = (text or "").strip()
    if not text:
        if required:
            raise OrgLifeError(_l("This field is required."), field=field)
        return None
    if len(text) > longest:
        raise OrgLifeError(_l("At most %(n)d characters.", n=longest), field=field)
    return text


def create_activity(organisation: Organisation, *, actor, kind: ActivityKind | str, title: str,
                    starts_at: datetime, ends_at: datetime, place: str | None = None,
                    description: str | None = None, points_rule: str | None = None,
                    audience: Audience | None = None) -> Activity:
    """A new activity of ``organisation`` with its expected members; ``actor`` must manage it."""
    if actor is not None and not scope_for(actor).can_org(Permission.MANAGE_MEMBERS, organisation):
        raise OrgLifeError(_l("No such organisation."), field="organisation_id", status=404)
    try:
        kind = ActivityKind(kind)
    except ValueError:
        raise OrgLifeError(_l("Choose one of the kinds of activity."), field="kind") from None
    title = _clean(title, "title", required=True)
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise OrgLifeError(_l("Give the time with its time zone."), field="starts_at")
    if ends_at <= starts_at:
        raise OrgLifeError(_l("The end must be after the start."), field="ends_at")
    if ends_at - starts_at > LONGEST:
        raise OrgLifeError(_l("An activity lasts at most three days."), field="ends_at")
    config = setup.load()
    rule = points_rule or config.kinds[kind].attendance_rule
    if rule not in config.choosable_rules:
        raise OrgLifeError(_l("Choose one of the attendance rules: %(rules)s.", rules=", ".join(config.choosable_rules)),
                           field="points_rule")
    activity = Activity(organisation_id=organisation.id, kind=kind, title=title,
                        place=_clean(place, "place", required=False),
                        description=_clean(description, "description", required=False, longest=5000),
                        starts_at=starts_at, ends_at=ends_at, points_rule=rule,
                        organiser_account_id=getattr(actor, "id", None),
                        organiser_name=(actor.name if actor is not None else organisation.name)[:100],
                        code_secret=secrets.token_hex(16))
    db.session.add(activity)
    db.session.flush()
    activity.award_key = f"activity:{activity.id}"
    invite(activity, audience or Audience())
    return activity


def audience_members(org: Organisation, group_ids: list[int] | None, first_column):
    """SELECT (first_column, member id) of the active members under ``org``, or under some of its groups
    (refused when one is not a group of ``org``): what INSERT … SELECT of invitees and receipts reads."""
    members = select(first_column, Member.id).join(Member.organisation).where(
        Member.active.is_(True), in_subtree(Organisation.path, org.path))
    if not group_ids:
        return members
    groups = db.session.scalars(select(Organisation).where(Organisation.id.in_(group_ids))).all()
    if len(groups) != len(set(group_ids)) or any(g.kind != OrgKind.GROUP or not g.path.startswith(org.path)
                                                 for g in groups):
        raise OrgLifeError(_l("Choose groups of this organisation."), field="groups")
    return members.where(or_(*(in_subtree(Organisation.path, g.path) for g in groups)))


def invite(activity: Activity, audience: Audience) -> int:
    """Record who is expected, in one INSERT … SELECT (a committee's activity may expect thousands)."""
    members = audience_members(activity.organisation, audience.group_ids, literal(activity.id))
    if not audience.group_ids and audience.member_ids:
        wanted = set(audience.member_ids)
        found = set(db.session.scalars(members.with_only_columns(Member.id).where(Member.id.in_(wanted))).all())
        if found != wanted:
            raise OrgLifeError(_l("Choose active members of this organisation."), field="members")
        members = members.where(Member.id.in_(wanted))
    return db.session.execute(insert(Invitee).from_select(["activity_id", "member_id"], members)).rowcount


def cancel(activity: Activity) -> None:
    if db.session.scalar(select(exists().where(Attendance.activity_id == activity.id))):
        raise OrgLifeError(_l("Members have checked in: the activity cannot be cancelled."))
    activity.cancelled_at = utcnow()


# -- who sees what ---------------------------------------------------------------------------
def may_attend(activity: Activity, member: Member) -> bool:
    """Expected, or a member of the organisation holding it (someone who came without an invitation)."""
    if activity.cancelled_at is not None or not member.active:
        return False
    if member.organisation.path.startswith(activity.organisation.path):
        return True
    return db.session.get(Invitee, (activity.id, member.id)) is not None


def may_manage(account, activity: Activity) -> bool:
    return scope_for(account).can_org(Permission.MANAGE_MEMBERS, activity.organisation)


def may_see(account, activity: Activity) -> bool:
    if scope_for(account).can_org(Permission.VIEW_MEMBERS, activity.organisation):
        return True
    member = account.member
    return member is not None and (member.organisation.path.startswith(activity.organisation.path)
                                   or db.session.get(Invitee, (activity.id, member.id)) is not None)


def for_member(member: Member, *, upcoming: bool = True, now: datetime | None = None):
    """The member's activities: expected at, or held by an organisation above them; upcoming (not yet
    ended, soonest first) or past (newest first)."""
    now = now or utcnow()
    ancestors = member.organisation.ancestor_ids()
    query = select(Activity).where(
        Activity.cancelled_at.is_(None),
        or_(Activity.organisation_id.in_(ancestors),
            exists().where(Invitee.activity_id == Activity.id, Invitee.member_id == member.id)))
    if upcoming:
        return query.where(Activity.ends_at >= now).order_by(Activity.starts_at, Activity.id)
    return query.where(Activity.ends_at < now).order_by(Activity.starts_at.desc(), Activity.id.desc())


def member_states(member: Member, activity_ids: list[int]) -> tuple[dict, dict]:
    """(activity id → the member's attendance, activity id → their leave request) for these activities."""
    ids = activity_ids or [-1]
    present = {a.activity_id: a for a in db.session.scalars(
        select(Attendance).where(Attendance.member_id == member.id, Attendance.activity_id.in_(ids)))}
    leave = {lv.activity_id: lv for lv in db.session.scalars(
        select(LeaveRequest).where(LeaveRequest.member_id == member.id, LeaveRequest.activity_id.in_(ids)))}
    return present, leave


def managed_orgs(account, limit: int = 500) -> list[Organisation]:
    """The organisations ``account`` manages, in tree order (the choices of the activity and notice forms)."""
    return list(db.session.scalars(select(Organisation).where(
        scope_for(account).org_clause(Permission.MANAGE_MEMBERS), Organisation.active.is_(True))
        .order_by(Organisation.path).limit(limit)))


def for_admin(account, *, organisation: Organisation | None = None, kind: ActivityKind | None = None):
    scope = scope_for(account)
    query = select(Activity).join(Activity.organisation).where(scope.org_clause(Permission.VIEW_MEMBERS))
    if organisation is not None:
        query = query.where(in_subtree(Organisation.path, organisation.path))
    if kind is not None:
        query = query.where(Activity.kind == kind)
    return query.order_by(Activity.starts_at.desc(), Activity.id.desc())


def open_for_check_in(activity: Activity, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return activity.cancelled_at is None and activity.starts_at - EARLY_CHECK_IN <= now <= activity.ends_at


# -- leave (请假) -------------------------------------------------------------------------------
def ask_leave(activity: Activity, member: Member, reason: str) -> LeaveRequest:
    if not may_attend(activity, member):
        raise OrgLifeError(_l("No such activity."), status=404)
    if activity.ends_at <= utcnow():
        raise OrgLifeError(_l("The activity is over: leave can no longer be asked for."))
    reason = _clean(reason, "reason", required=True)
    if db.session.get(Attendance, (activity.id, member.id)) is not None:
        raise OrgLifeError(_l("You have checked in already."))
    leave = db.session.get(LeaveRequest, (activity.id, member.id))
    if leave is None:
        leave = LeaveRequest(activity_id=activity.id, member_id=member.id, reason=reason)
        db.session.add(leave)
    elif leave.status is not LeaveStatus.PENDING:
        raise OrgLifeError(_l("Your request was decided already."))
    else:
        leave.reason = reason
    db.session.flush()
    return leave


def decide_leave(leave: LeaveRequest, *, actor, approve: bool) -> LeaveRequest:
    from learning.orglife import notices

    if leave.member_id == actor.member_id:
        raise OrgLifeError(_l("Nobody decides their own leave."))
    if leave.status is not LeaveStatus.PENDING:
        raise OrgLifeError(_l("This request was decided already."))
    leave.status = LeaveStatus.APPROVED if approve else LeaveStatus.REFUSED
    leave.decided_by_account_id, leave.decided_at = actor.id, utcnow()
    notices.leave_decided(leave)
    return leave


def leaves(activity: Activity) -> list[LeaveRequest]:
    return db.session.scalars(select(LeaveRequest).where(LeaveRequest.activity_id == activity.id)
                              .order_by(LeaveRequest.asked_at)).all()


def roll(activity: Activity) -> list[dict]:
    """Everyone expected or present, each with their state: present (and how), on leave, asked, absent."""
    present = {a.member_id: a for a in db.session.scalars(
        select(Attendance).where(Attendance.activity_id == activity.id))}
    asked = {lv.member_id: lv for lv in leaves(activity)}
    expected = set(db.session.scalars(select(Invitee.member_id).where(Invitee.activity_id == activity.id)))
    ids = expected | set(present) | set(asked)
    members = {m.id: m for m in db.session.scalars(select(Member).where(Member.id.in_(ids)))} if ids else {}
    rows = [{"member": members[i], "expected": i in expected, "attendance": present.get(i), "leave": asked.get(i)}
            for i in ids]
    return sorted(rows, key=lambda r: (r["attendance"] is None, r["member"].name, r["member"].id))


def counts(activity_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Activity id → (expected, present)."""
    from sqlalchemy import func

    if not activity_ids:
        return {}
    expected = dict(db.session.execute(select(Invitee.activity_id, func.count()).where(
        Invitee.activity_id.in_(activity_ids)).group_by(Invitee.activity_id)).all())
    present = dict(db.session.execute(select(Attendance.activity_id, func.count()).where(
        Attendance.activity_id.in_(activity_ids)).group_by(Attendance.activity_id)).all())
    return {i: (expected.get(i, 0), present.get(i, 0)) for i in activity_ids}

