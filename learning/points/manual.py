"""Manual points (加分 / 扣分) under separation of duties (四眼原则).

- Nobody gives manual points to themselves, nor to the organisation they belong to or hold a role on.
- An award larger than the rule setting's ``review_above``, or one that takes the subject's manual
  points of the period past ``review_total`` (both data per subtree, see ``RuleSetting``), is
  *pending*: nothing counts until a second administrator, at or above the giver's level and not the
  subject, approves it.  Smaller awards count at once (status ``automatic``).
- The review totals are counted in a cap-counter row, locked before it is read, so two awards racing
  for the same member cannot both slip under the limit.

Every step is audited; the ledger entry names the giver, :class:`ManualAward` the approver.
"""
from __future__ import annotations

import uuid

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from learning.db import utcnow
from learning.extensions import db
from learning.orgs.models import Member, Organisation
from learning.orgs.scoping import Permission, scope_for
from learning.points import periods
from learning.points.models import LedgerEntry, ManualAward, ManualStatus
from learning.points.services import (
    PointsError,
    _add_to_counter,
    _lock_counter,
    award,
    effective_setting,
    rule_by_code,
)

MAX_POINTS = 100  # one entry, either way

STATUS_NAMES = {
    ManualStatus.AUTOMATIC: _l("counted (within the limits)"),
    ManualStatus.PENDING: _l("waiting for approval"),
    ManualStatus.APPROVED: _l("approved"),
    ManualStatus.REFUSED: _l("refused"),
}


def status_name(status) -> str:
    return str(STATUS_NAMES[ManualStatus(status)])


def credit(manual: ManualAward) -> str:
    """Who gave a manual entry and who approved it, as the member and the secretary read it."""
    if manual.reviewed_by is not None:
        return str(_l("given by %(giver)s, approved by %(reviewer)s", giver=manual.given_by.name,
                      reviewer=manual.reviewed_by.name))
    return str(_l("given by %(giver)s", giver=manual.given_by.name))


def _rule_code(points: int, member: Member | None) -> str:
    if member is not None:
        return "manual_bonus" if points > 0 else "manual_deduction"
    return "org_manual_bonus" if points > 0 else "org_manual_deduction"


def _is_own(actor, member: Member | None, organisation: Organisation | None) -> bool:
    """Whether the subject is the actor or an organisation the actor belongs to or holds a role on."""
    if member is not None:
        return actor.member_id is not None and actor.member_id == member.id
    if actor.member is not None and actor.member.organisation.path.startswith(organisation.path):
        return True
    return any(g.organisation_id == organisation.id for g in actor.grants)


def _may_manage(actor, member: Member | None, organisation: Organisation) -> bool:
    scope = scope_for(actor)
    return scope.can_member(Permission.MANAGE_MEMBERS, member) if member is not None \
        else scope.can_org(Permission.MANAGE_ORGS, organisation)


def _audit(action: str, actor, manual: ManualAward) -> None:
    from learning.audit.services import record

    target = f"member:{manual.member_id}" if manual.member_id is not None else f"organisation:{manual.organisation_id}"
    record(action, actor=actor, target=target, organisation_id=manual.organisation_id,
           detail={"points": manual.points, "reason": manual.reason[:200], "manual_id": manual.id})


def give(*, actor, member: Member | None = None, organisation: Organisation | None = None, points: int,
         reason: str, request_id: str | None = None) -> ManualAward:
    """Give a bonus (points > 0) or deduction (points < 0); counted at once or pending review."""
    if (member is None) == (organisation is None):
        raise PointsError("give manual points to a member or an organisation")
    if actor is None:
        raise PointsError(_l("Manual points need the administrator who gives them."))
    if not points:
        raise PointsError(_l("Enter a number of points other than zero."), field="points")
    if abs(points) > MAX_POINTS:
        raise PointsError(_l("One entry gives at most %(n)d points.", n=MAX_POINTS), field="points")
    reason = (reason or "").strip()
    if not reason:
        raise PointsError(_l("Give a reason."), field="reason")
    home = member.organisation if member is not None else organisation
    if not _may_manage(actor, member, home):
        raise PointsError(_l("This member is outside the organisations you manage."))
    if _is_own(actor, member, organisation):
        raise PointsError(_l("Nobody gives manual points to themselves or to their own organisation."))
    request_id = (request_id or uuid.uuid4().hex)[:64]
    existing = db.session.scalar(select(ManualAward).where(ManualAward.request_id == request_id))
    if existing is not None:
        return existing

    code = _rule_code(points, member)
    rule = rule_by_code(code)
    if rule is None:
        raise PointsError(f"unknown point rule {code!r}")
    subject_key = f"m:{member.id}" if member is not None else f"o:{organisation.id}"
    today = periods.local_today()
    setting = effective_setting(rule, home, today)
    cap_period = setting.cap_period if setting is not None else "quarter"
    window_key = f"rv:{periods.key_of_kind(today, cap_period)}"
    given_so_far = _lock_counter(rule.id, subject_key, window_key)
    above = setting.review_above if setting is not None else None
    total = setting.review_total if setting is not None else None
    pending = (above is not None and abs(points) > above) or (total is not None and given_so_far + abs(points) > total)

    manual = ManualAward(request_id=request_id, rule_id=rule.id, subject_key=subject_key,
                         member_id=member.id if member is not None else None, organisation_id=home.id, points=points,
                         reason=reason[:1000], window_key=window_key,
                         status=ManualStatus.PENDING if pending else ManualStatus.AUTOMATIC, given_by_id=actor.id)
    db.session.add(manual)
    db.session.flush()
    _add_to_counter(rule.id, subject_key, window_key, abs(points))
    if not pending:
        manual.entry_id = _count(manual, actor).id
    _audit("points.manual_requested" if pending else "points.manual_given", actor, manual)
    return manual


def _count(manual: ManualAward, giver) -> LedgerEntry:
    result = award(manual.rule.code, member=manual.member,
                   organisation=manual.organisation if manual.member_id is None else None,
                   source_key=f"manual:{manual.request_id}", points=abs(manual.points), reason=manual.reason,
                   actor=giver)
    if result.entry is None:
        raise PointsError(_l("This kind of manual points is switched off here."))
    return result.entry


def review_refusal(reviewer, manual: ManualAward):
    """Why ``reviewer`` may not decide ``manual`` (a message), or None when they may."""
    if manual.status is not ManualStatus.PENDING:
        return _l("This entry has already been decided.")
    if reviewer.id == manual.given_by_id:
        return _l("A second administrator must approve points you gave.")
    if _is_own(reviewer, manual.member, manual.organisation if manual.member_id is None else None):
        return _l("Nobody approves manual points for themselves or their own organisation.")
    if not _may_manage(reviewer, manual.member, manual.organisation):
        return _l("This member is outside the organisations you manage.")
    permission = Permission.MANAGE_MEMBERS if manual.member_id is not None else Permission.MANAGE_ORGS
    mine = scope_for(reviewer).reach_depth(permission, manual.organisation)
    theirs = scope_for(manual.given_by).reach_depth(permission, manual.organisation)
    if mine is None or (theirs is not None and mine > theirs):
        return _l("Approval needs an administrator at or above the level of the one who gave the points.")
    return None


def decide(manual: ManualAward, *, reviewer, approve: bool, note: str | None = None) -> ManualAward:
    """Approve (the points count from now) or refuse a pending award, once."""
    refusal = review_refusal(reviewer, manual)
    if refusal is not None:
        raise PointsError(refusal)
    note = (note or "").strip()
    if not approve and not note:
        raise PointsError(_l("Give a reason."), field="note")
    status = ManualStatus.APPROVED if approve else ManualStatus.REFUSED
    won = db.session.execute(
        update(ManualAward).where(ManualAward.id == manual.id, ManualAward.status == ManualStatus.PENDING)
        .values(status=status, reviewed_by_id=reviewer.id, reviewed_at=utcnow(), review_note=note[:1000] or None)
        .execution_options(synchronize_session=False)).rowcount
    if not won:
        raise PointsError(_l("This entry has already been decided."))
    db.session.refresh(manual)
    if approve:
        manual.entry_id = _count(manual, manual.given_by).id
    else:
        _add_to_counter(manual.rule_id, manual.subject_key, manual.window_key, -abs(manual.points))
    _audit("points.manual_approved" if approve else "points.manual_refused", reviewer, manual)
    from learning.points.notices import manual_decided

    manual_decided(manual)  # the giver (and the member who gets them) told, in the same transaction
    db.session.flush()
    return manual


def pending_in_scope(org_clause):
    """Pending awards whose organisation lies in ``org_clause``, oldest first."""
    return (select(ManualAward).join(Organisation, Organisation.id == ManualAward.organisation_id)
            .where(ManualAward.status == ManualStatus.PENDING, org_clause).order_by(ManualAward.id))


def awards_of(member: Member):
    """The member's manual awards, newest first (pending and refused ones too)."""
    return select(ManualAward).where(ManualAward.member_id == member.id).order_by(ManualAward.id.desc())


def by_entry(entry_ids: list[int]) -> dict[int, ManualAward]:
    """The manual award behind each of these ledger entries (who gave, who approved)."""
    if not entry_ids:
        return {}
    return {m.entry_id: m for m in db.session.scalars(select(ManualAward).where(ManualAward.entry_id.in_(entry_ids)))}


def given_in(org: Organisation, period_key: str) -> list[ManualAward]:
    """Manual awards in ``org``'s subtree given during the period (by the local day they were given)."""
    from datetime import datetime, time, timedelta

    from learning.orgs.scoping import in_subtree

    query = (select(ManualAward).join(Organisation, Organisation.id == ManualAward.organisation_id)
             .where(in_subtree(Organisation.path, org.path)).order_by(ManualAward.id))
    span = periods.parse(period_key)
    if span.kind != "all":
        start = datetime.combine(span.starts_on, time(0), periods.zone())
        end = datetime.combine(span.ends_on + timedelta(days=1), time(0), periods.zone())
        query = query.where(ManualAward.given_at >= start, ManualAward.given_at < end)
    return list(db.session.scalars(query))
