"""Disputes (异议): a member questions an entry of their own; an administrator decides.

Separation of duties: nobody decides a dispute on their own entry, on an entry they gave or
approved, or on an entry of their own organisation's points.  A decision is taken once (a
compare-and-set on the dispute's status), audited, and an accepted dispute cancels the entry with a
compensating entry.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from learning.db import utcnow
from learning.extensions import db
from learning.orgs.models import Member
from learning.orgs.scoping import Permission, scope_for
from learning.points.models import Dispute, DisputeStatus, LedgerEntry, ManualAward
from learning.points.services import PointsError, correct


def open_dispute(entry: LedgerEntry, member: Member, reason: str) -> Dispute:
    if entry.member_id != member.id:
        raise PointsError(_l("You can only dispute your own entries."))
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise PointsError(_l("Explain in a few words what is wrong."), field="reason")
    if entry.corrects_id is not None or entry.points == 0:
        raise PointsError(_l("This entry cannot be disputed."))
    if db.session.scalar(
        select(Dispute.id).where(Dispute.entry_id == entry.id, Dispute.status == DisputeStatus.OPEN)
    ):
        raise PointsError(_l("This entry already has an open dispute."))
    dispute = Dispute(entry_id=entry.id, member_id=member.id, reason=reason[:2000])
    db.session.add(dispute)
    db.session.flush()
    return dispute


def decision_refusal(actor, dispute: Dispute):
    """Why ``actor`` may not decide ``dispute`` (a message), or None when they may."""
    if dispute.status != DisputeStatus.OPEN:
        return _l("This dispute has already been resolved.")
    if not scope_for(actor).can_member(Permission.MANAGE_MEMBERS, dispute.member):
        return _l("This member is outside the organisations you manage.")
    entry = dispute.entry
    if actor.member_id is not None and actor.member_id == dispute.member_id:
        return _l("Nobody decides a dispute about their own points.")
    if entry.actor_account_id == actor.id:
        return _l("Nobody decides a dispute about an entry they gave.")
    approved_by = db.session.scalar(select(ManualAward.reviewed_by_id).where(ManualAward.entry_id == entry.id))
    if approved_by == actor.id:
        return _l("Nobody decides a dispute about an entry they approved.")
    return None


def resolve_dispute(dispute: Dispute, *, actor, accept: bool, resolution: str) -> Dispute:
    refusal = decision_refusal(actor, dispute)
    if refusal is not None:
        raise PointsError(refusal)
    resolution = (resolution or "").strip()
    if not resolution:
        raise PointsError(_l("Give a reason."), field="resolution")
    status = DisputeStatus.ACCEPTED if accept else DisputeStatus.REJECTED
    won = db.session.execute(
        update(Dispute).where(Dispute.id == dispute.id, Dispute.status == DisputeStatus.OPEN)
        .values(status=status, resolution=resolution[:2000], resolved_by_id=actor.id, resolved_at=utcnow())
        .execution_options(synchronize_session=False)).rowcount
    if not won:
        raise PointsError(_l("This dispute has already been resolved."))
    db.session.refresh(dispute)
    if accept:
        dispute.correction_id = correct(dispute.entry, actor=actor, reason=resolution).id
    from learning.audit.services import record

    record("points.dispute_accepted" if accept else "points.dispute_rejected", actor=actor,
           target=f"member:{dispute.member_id}", organisation_id=dispute.entry.organisation_id,
           detail={"entry_id": dispute.entry_id, "points": dispute.entry.points, "resolution": resolution[:200]})
    from learning.points.notices import dispute_decided

    dispute_decided(dispute)  # the member is told, in the same transaction
    db.session.flush()
    return dispute
