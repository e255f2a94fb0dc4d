"""What waits on an administrator in points: manual entries to approve, disputes to decide."""
from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from learning.extensions import db
from learning.orgs.scoping import Permission, scope_for
from learning.points import manual, queries
from learning.web.todo import Todo


def _count(query) -> int:
    return db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0


def points_todos(account) -> list[Todo]:
    scope = scope_for(account)
    if not scope.has_any(Permission.MANAGE_MEMBERS):
        return []
    clause = scope.org_clause(Permission.MANAGE_MEMBERS)
    items = []
    disputes = _count(queries.disputes_in_scope(clause))
    if disputes:
        items.append(Todo("disputes", disputes, _("Objections to points waiting for a decision"),
                          url_for("points_review.disputes")))
    approvals = _count(manual.pending_in_scope(clause))
    if approvals:
        items.append(Todo("approvals", approvals, _("Manual points waiting for a second administrator"),
                          url_for("points_review.approvals")))
    return items


def register() -> None:
    from learning.web.todo import register_todo

    register_todo(points_todos, order=10)
