"""Check-in: the rotating code, hand marking, and the one function every path ends in.

A check-in counts once per member and activity whatever the path (code, card, hand, registry): the
attendance row's primary key decides, and the attendance points go through ``points.services.award``
with the activity's award key as the source, so a retry or a race pays once.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from datetime import datetime, time as clock, timedelta, timezone
from decimal import Decimal

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from learning.audit import services as audit
from learning.db import utcnow
from learning.extensions import db
from learning.orglife import setup, volunteer
from learning.orglife.activities import (
    EARLY_CHECK_IN,
    OrgLifeError,
    for_member,
    may_attend,
    may_manage,
    open_for_check_in,
)
from learning.orglife.models import (
    Activity, ActivityKind, Attendance, CheckInMethod, LeaveRequest, LeaveStatus, VolunteerSource,
)
from learning.orgs.models import Member, OrgKind
from learning.points import periods
from learning.points.models import ActorKind, LedgerEntry
from learning.points.services import award, rule_by_code

STEP = 30  # seconds a code is shown
DIGITS = 6
# Typed codes per account and minute: a member mistyping has room; guessing one of the two valid codes in
# a million stays hopeless.  Per account, not per address: a meeting room's phones share one Wi-Fi address.
ATTEMPTS = "10 per minute"


def attempt_key() -> str:
    """The rate-limit key of a check-in attempt: the calling account (web session or API token)."""
    from flask import g
    from flask_login import current_user

    account = g.get("api_account") or (current_user if current_user.is_authenticated else None)
    return f"check-in:{account.id}" if account is not None else "check-in:anonymous"


# -- the rotating code -------------------------------------------------------------------------
def _code_at(activity: Activity, counter: int) -> str:
    key = (current_app.config["SECRET_KEY"] + ":" + activity.code_secret).encode()
    mac = hmac.new(key, f"check-in:{activity.id}:{counter}".encode(), hashlib.sha256).digest()
    return f"{int.from_bytes(mac[:4], 'big') % 10 ** DIGITS:0{DIGITS}d}"


def current_code(activity: Activity, now: float | None = None) -> tuple[str, datetime]:
    """The code on the organiser's screen now and when it changes."""
    counter = int((now if now is not None else time.time()) // STEP)
    return _code_at(activity, counter), datetime.fromtimestamp((counter + 1) * STEP, timezone.utc)


def code_matches(activity: Activity, code: str, now: float | None = None) -> bool:
    """The code shown now, or the one just before (a member may take some seconds to type or scan)."""
    code = (code or "").strip()
    if len(code) != DIGITS or not code.isascii() or not code.isdigit():
        return False
    counter = int((now if now is not None else time.time()) // STEP)
    return any(hmac.compare_digest(_code_at(activity, c), code) for c in (counter, counter - 1))


def check_in_with_code(activity: Activity, member: Member, code: str) -> tuple[Attendance, bool]:
    if not may_attend(activity, member):
        raise OrgLifeError(_l("No such activity."), status=404)
    if not open_for_check_in(activity):
        raise OrgLifeError(_l("Check-in is open from 30 minutes before the start to the end."), field="code")
    if not code_matches(activity, code):
        raise OrgLifeError(_l("This code is wrong or has expired: type the code on the screen now."), field="code")
    return record(activity, member, CheckInMethod.CODE)


def find_by_code(member: Member, code: str) -> Activity | None:
    """The member's open activity whose code on screen is ``code`` (a member who types the digits
    does not need to say which activity)."""
    now = utcnow()
    candidates = db.session.scalars(for_member(member, now=now).where(Activity.starts_at <= now + EARLY_CHECK_IN)).all()
    return next((a for a in candidates if open_for_check_in(a, now) and code_matches(a, code)), None)


# -- by hand -------------------------------------------------------------------------------------
def mark_by_hand(activity: Activity, member: Member, *, actor, reason: str,
                 hours: Decimal | None = None) -> tuple[Attendance, bool]:
    """The secretary marks a member present (a member without a phone, a reader that failed); audited."""
    if not may_manage(actor, activity) or not may_attend(activity, member):
        raise OrgLifeError(_l("No such member or activity."), status=404)
    if member.id == actor.member_id:
        raise OrgLifeError(_l("Nobody marks their own attendance: ask another administrator."))
    if activity.starts_at > utcnow():
        raise OrgLifeError(_l("The activity has not started yet."))
    reason = (reason or "").strip()
    if not reason:
        raise OrgLifeError(_l("Give a reason."), field="reason")
    if len(reason) > 200:
        raise OrgLifeError(_l("At most %(n)d characters.", n=200), field="reason")
    attendance, created = record(activity, member, CheckInMethod.HAND, actor=actor, reason=reason, hours=hours)
    if created:
        audit.record("orglife.attendance_marked", actor=actor, target=f"member:{member.id}",
                     organisation_id=activity.organisation_id,
                     detail={"activity": activity.id, "title": activity.title, "reason": reason})
    return attendance, created


# -- every path ends here ----------------------------------------------------------------------
def volunteer_hours(activity: Activity) -> Decimal:
    """Hours of service recorded by default: the activity's length, in quarter hours."""
    seconds = (activity.ends_at - activity.starts_at).total_seconds()
    return (Decimal(seconds) / Decimal(3600) * 4).to_integral_value() / 4


def record(activity: Activity, member: Member, method: CheckInMethod, *, at: datetime | None = None,
           actor=None, reason: str | None = None, hours: Decimal | None = None) -> tuple[Attendance, bool]:
    """Record ``member`` present at ``activity`` once and award the attendance points once;
    (the attendance, whether it is new)."""
    existing = db.session.get(Attendance, (activity.id, member.id))
    if existing is not None:
        return existing, False
    if activity.kind == ActivityKind.VOLUNTEER_SERVICE:
        hours = volunteer_hours(activity) if hours is None else Decimal(hours)
        if not Decimal(0) <= hours <= Decimal(24):
            raise OrgLifeError(_l("Hours of service are between 0 and 24."), field="hours")
    else:
        hours = None
    attendance = Attendance(activity_id=activity.id, member_id=member.id, method=method, at=at or utcnow(),
                            marked_by_account_id=getattr(actor, "id", None), reason=reason, hours=hours)
    try:
        with db.session.begin_nested():
            db.session.add(attendance)
            db.session.flush()
    except IntegrityError:
        # Another request checked the same member in first: theirs counts.
        found = db.session.scalar(select(Attendance).where(Attendance.activity_id == activity.id,
                                                           Attendance.member_id == member.id)
                                  .execution_options(populate_existing=True))
        if found is None:
            raise
        return found, False
    leave = db.session.get(LeaveRequest, (activity.id, member.id))
    if leave is not None and leave.status is LeaveStatus.PENDING:
        db.session.delete(leave)  # they came after all
    if hours is not None:  # volunteer service: the hours themselves, beside the points made of them
        volunteer.record(member, hours, periods.local_date(activity.starts_at), VolunteerSource.ACTIVITY,
                         f"activity:{activity.id}:{member.id}", title=activity.title, activity_id=activity.id)
    by = ActorKind.REGISTRY if method == CheckInMethod.REGISTRY else ActorKind.SYSTEM
    _award_attendance(activity, member, hours, actor, by)
    _award_schedule(activity, by)
    return attendance, True


def _award_attendance(activity: Activity, member: Member, hours: Decimal | None, actor, by: ActorKind) -> None:
    rule = rule_by_code(activity.points_rule)
    if rule is None:
        return  # the rules are not loaded (an empty installation): attendance is still recorded
    award(activity.points_rule, member=member, source_key=activity.award_key, occurred_at=activity.starts_at,
          quantity=hours if rule.unit else None, title=activity.title, actor=actor, actor_kind=by)


def schedule_organisation(activity: Activity):
    """Who holds a kind on schedule: the activity's organisation, or the branch of a group."""
    org = activity.organisation
    return org.parent if org.kind == OrgKind.GROUP and org.parent is not None else org


def schedule_window(activity: Activity) -> str | None:
    spec = setup.load().kinds[activity.kind]
    if not spec.required:
        return None
    return periods.key_of_kind(periods.local_date(activity.starts_at), spec.required)


def _award_schedule(activity: Activity, by: ActorKind) -> None:
    """Once a kind is held (someone attended) in its required period, the branch gets its points once."""
    window = schedule_window(activity)
    rule = setup.load().schedule_rule
    if window is None or rule_by_code(rule) is None:
        return
    award(rule, organisation=schedule_organisation(activity), source_key=f"schedule:{activity.kind.value}:{window}",
          occurred_at=activity.starts_at, title=activity.title, actor_kind=by)


def from_registry(organisation, kind: ActivityKind, day, title: str | None, members: list[Member], key: str,
                  when: datetime) -> tuple[int, int]:
    """A registry ``meeting.held``: the meeting lands in an activity record (the one with this registry
    key; else the organisation's activity of that kind on that day; else a new one) and each attendee
    is checked in through :func:`record`, so a meeting checked in here and reported by the registry
    pays once.  Returns (new attendances, points awarded)."""
    activity = db.session.scalar(select(Activity).where(Activity.award_key == key))
    if activity is None:
        zone = periods.zone()
        start = datetime.combine(day, clock(0), tzinfo=zone).astimezone(timezone.utc)
        activity = db.session.scalar(select(Activity).where(
            Activity.organisation_id == organisation.id, Activity.kind == kind, Activity.cancelled_at.is_(None),
            Activity.starts_at >= start, Activity.starts_at < start + timedelta(days=1)).order_by(Activity.id))
    if activity is None:
        activity = Activity(organisation_id=organisation.id, kind=kind, title=(title or "")[:200] or organisation.name,
                            starts_at=when, ends_at=when + timedelta(hours=1), organiser_name=organisation.name[:100],
                            points_rule=setup.load().kinds[kind].attendance_rule, award_key=key,
                            code_secret=secrets.token_hex(16))
        try:
            with db.session.begin_nested():
                db.session.add(activity)
                db.session.flush()
        except IntegrityError:  # another delivery of this meeting created it first
            activity = db.session.scalar(select(Activity).where(Activity.award_key == key))
    new = [m.id for m in members if record(activity, m, CheckInMethod.REGISTRY)[1]]
    awarded = db.session.scalar(select(func.coalesce(func.sum(LedgerEntry.points), 0)).where(
        LedgerEntry.source_key == activity.award_key, LedgerEntry.member_id.in_(new or [-1]))) or 0
    return len(new), int(awarded)
