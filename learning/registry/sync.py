"""Pull sync: read the whole roster from a registry's own SCIM server and reconcile it.

The registry serves Users and Groups with the schemas we publish ourselves (docs/REGISTRY.md):
a remote resource's ``id`` is the registry's identifier, the same one its events carry, and
becomes our ``external_id``.  Reconciling is the roster import's job (one diff, bulk writes, row
problems), fed with the pulled resources instead of a file, so a pull and an upload can never
disagree about what "the same roster" means.

A run is a dry run unless asked to apply; either way it is recorded with its diff.  A pull that
would deactivate more than a tenth of the active members (and more than five) is refused unless forced: an empty or
truncated answer from a misconfigured registry must not end everyone's membership.
"""
from __future__ import annotations

from dataclasses import asdict
from typing import Callable

from flask import current_app
from scim2_models import SearchRequest
from sqlalchemy import func, select

from learning.db import utcnow
from learning.extensions import db
from learning.registry import roster
from learning.registry import scim
from learning.registry.models import RegistryConnection, SyncRun, SyncStatus

PAGE_SIZE = 200
DETAIL_LIMIT = 100
# The roster import's Chinese words, by the SCIM value.
KIND_LABELS = {kind.value: label for label, kind in roster.ORG_KINDS.items()}
STATUS_LABELS = {status.value: label for label, status in roster.STATUSES.items()}


class SyncError(RuntimeError):
    pass


def http_client(connection: RegistryConnection):
    """A scim2-client over HTTP to the registry's SCIM server."""
    from httpx2 import Client
    from scim2_client.engines.httpx2 import SyncSCIMClient

    timeout = current_app.config.get("REGISTRY_PULL_TIMEOUT", 30)
    http = Client(base_url=connection.pull_url, headers={"Authorization": f"Bearer {connection.pull_token}"},
                  timeout=timeout)
    return SyncSCIMClient(http, provider=scim.build_provider())


def _remote_id(reference) -> str:
    return str(reference or "").rstrip("/").rpartition("/")[2]


def fetch_all(client, resource_type: str) -> list:
    """Every resource of a type, page by page (startIndex), until totalResults are read."""
    found, start = [], 1
    while True:
        page = client.query(resource_type, query_parameters=SearchRequest(start_index=start, count=PAGE_SIZE))
        resources = page.resources or []
        found.extend(resources)
        start += len(resources)
        if not resources or len(found) >= (page.total_results or 0):
            return found


def roster_rows(groups: list, users: list) -> tuple[list[dict], list[dict]]:
    """Pulled resources as the roster import's rows (its Chinese headers)."""
    org_rows = []
    for group in groups:
        extension = group[scim.OrganisationExtension]
        kind = extension.kind if extension else None
        org_rows.append({
            "组织编号": str(group.id), "组织名称": group.display_name or "",
            "组织类别": KIND_LABELS.get(kind, str(kind or "")),
            "上级组织编号": _remote_id(extension.parent) if extension and extension.parent else "",
        })
    member_rows = []
    for user in users:
        if user.active is False:
            continue  # a member who left: absent from the roster, so deactivated here
        extension = user[scim.MemberExtension]
        status = extension.status if extension else None
        member_rows.append({
            "党员编号": str(user.id), "姓名": user.display_name or user.user_name or "",
            "所在党组织编号": _remote_id(extension.organization) if extension else "",
            "人员类别": STATUS_LABELS.get(status, str(status or "")),
            "入党日期": scim.join_day(extension.join_date).isoformat() if extension and extension.join_date else "",
        })
    return org_rows, member_rows


def _summary(org_report: roster.Report, member_report: roster.Report | None) -> dict:
    def part(report: roster.Report | None) -> dict:
        if report is None:
            return {}
        return {
            "rows": report.rows, "unchanged": report.unchanged,
            "created": len(report.created), "updated": len(report.updated), "deactivated": len(report.deactivated),
            "created_ids": report.created[:DETAIL_LIMIT], "updated_ids": report.updated[:DETAIL_LIMIT],
            "deactivated_ids": report.deactivated[:DETAIL_LIMIT],
            "problems": [asdict(p) for p in report.problems[:DETAIL_LIMIT]], "problem_count": len(report.problems),
        }

    return {"organisations": part(org_report), "members": part(member_report)}


def pull(connection: RegistryConnection, *, apply: bool = False, force: bool = False,
         client_factory: Callable[[RegistryConnection], object] | None = None) -> SyncRun:
    """Pull, diff and (if ``apply``) write in one transaction; the run is recorded either way."""
    if not connection.pull_url:
        raise SyncError(f"{connection.name} has no SCIM address to pull from")
    run = SyncRun(connection_id=connection.id, dry_run=not apply, status=SyncStatus.RUNNING)
    db.session.add(run)
    db.session.commit()
    run_id = run.id
    status, error, summary = SyncStatus.SUCCEEDED, None, None
    try:
        client = (client_factory or http_client)(connection)
        groups, users = fetch_all(client, "Group"), fetch_all(client, "User")
        org_rows, member_rows = roster_rows(groups, users)
        active = roster.active_members()
        # Organisations first (flushed, so members can name new ones), then members, then one
        # commit or one rollback for both.
        org_report = roster.reconcile_organisations(org_rows, apply)
        member_report = roster.reconcile_members(member_rows, apply, deactivate_missing=True) if not org_report.problems else None
        summary = _summary(org_report, member_report)
        problems = len(org_report.problems) + (len(member_report.problems) if member_report else 0)
        deactivating = len(member_report.deactivated) if member_report else 0
        if problems:
            status, error = SyncStatus.FAILED, f"{problems} problems in the registry's data; nothing was applied"
        elif deactivating and not force and (refusal := roster.deactivation_refusal(deactivating, active)):
            status, error = SyncStatus.FAILED, f"the pull: {refusal}; check the registry, then run it with force"
        if apply and status == SyncStatus.SUCCEEDED:
            db.session.commit()
        else:
            db.session.rollback()
    except Exception as exc:  # the network, the registry's answers, our writes: all recorded
        db.session.rollback()
        current_app.logger.exception("pull sync from %s failed", connection.name)
        status, error = SyncStatus.FAILED, f"{type(exc).__name__}: {exc}"
    run = db.session.get(SyncRun, run_id)
    run.status, run.error, run.summary, run.finished_at = status, error, summary, utcnow()
    db.session.commit()
    return run


def last_runs(connection_ids: list[int]) -> dict[int, SyncRun]:
    """The newest run of each connection, for the connections page."""
    if not connection_ids:
        return {}
    newest = (select(func.max(SyncRun.id)).where(SyncRun.connection_id.in_(connection_ids))
              .group_by(SyncRun.connection_id))
    return {run.connection_id: run for run in db.session.scalars(select(SyncRun).where(SyncRun.id.in_(newest)))}
