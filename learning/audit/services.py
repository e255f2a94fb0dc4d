"""Recording and reading the audit log.

:func:`record` is called by the services that perform an audited action, in the same transaction:
if the action is rolled back, so is its line.  Every audited action is named in :data:`ACTIONS`.
"""
from __future__ import annotations

from datetime import datetime

from flask import has_request_context, request
from sqlalchemy import Select, select

from learning.audit.models import AuditEntry
from learning.extensions import db
from learning.orgs.models import Organisation

ACTIONS = (
    "role.granted", "role.revoked",
    "account.created", "account.password_reset", "account.signed_out", "account.locked", "account.unlocked",
    "points.manual_given", "points.manual_requested", "points.manual_approved", "points.manual_refused",
    "points.dispute_accepted", "points.dispute_rejected",
    "points.rule_changed", "points.period_closed",
    "data.exported", "evaluation.year_confirmed",
    "orglife.attendance_marked", "orglife.device_registered", "orglife.device_revoked", "orglife.cards_imported",
)


def record(action: str, *, actor=None, target: str, organisation_id: int | None = None,
           detail: dict | None = None) -> AuditEntry:
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    entry = AuditEntry(
        action=action, actor_account_id=getattr(actor, "id", None),
        actor_name=(actor.name if actor is not None else "system")[:100], target=target[:64],
        organisation_id=organisation_id, detail=detail or None,
        address=(request.remote_addr or "")[:45] or None if has_request_context() else None)
    db.session.add(entry)
    db.session.flush()
    return entry


def entries(org_clause, *, action: str | None = None, actor: str | None = None,
            since: datetime | None = None, until: datetime | None = None, site_wide: bool = False) -> Select:
    """The log within an organisation clause (see ``Scope.org_clause``), newest first; site-wide
    lines (no organisation) only with ``site_wide`` (superadmins)."""
    query = select(AuditEntry).outerjoin(Organisation, Organisation.id == AuditEntry.organisation_id)
    visible = org_clause
    if site_wide:
        visible = visible | AuditEntry.organisation_id.is_(None)
    query = query.where(visible)
    if action:
        query = query.where(AuditEntry.action == action)
    if actor:
        query = query.where(AuditEntry.actor_name.contains(actor, autoescape=True))
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if until is not None:
        query = query.where(AuditEntry.at < until)
    return query.order_by(AuditEntry.id.desc())
