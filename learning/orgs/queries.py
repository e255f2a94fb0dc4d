"""Read-side queries over the tree shared by the HTML admin area and the JSON API."""
from __future__ import annotations

from sqlalchemy import func, or_, select

from learning.extensions import db
from learning.orgs.models import Member, MemberStatus, Organisation
from learning.orgs.scoping import Permission, Scope, in_subtree


def member_search(scope: Scope, *, org: Organisation | None = None, q: str | None = None,
                  status: str | None = None, include_inactive: bool = False):
    """Members the scope may view, narrowed by organisation subtree, text and status."""
    query = scope.members(Permission.VIEW_MEMBERS)
    if org is not None:
        query = query.where(in_subtree(Organisation.path, org.path))
    if q:
        q = q.strip()
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(Member.name.like(pattern, escape="\\"), Member.external_id == q))
    if status:
        query = query.where(Member.status == MemberStatus(status))
    if not include_inactive:
        query = query.where(Member.active.is_(True))
    return query.order_by(Organisation.path, Member.name, Member.id)


def active_member_count(org: Organisation) -> int:
    """How many active members ``org``'s subtree holds."""
    return db.session.scalar(select(func.count(Member.id)).join(Organisation, Organisation.id == Member.organisation_id)
                             .where(Member.active.is_(True), in_subtree(Organisation.path, org.path))) or 0


def child_organisations(scope: Scope, parent: Organisation | None):
    """Children of ``parent`` in scope, or the roots of the scope when no parent is given."""
    if parent is None:
        query = scope.roots(Permission.VIEW_MEMBERS)
    else:
        query = select(Organisation).where(Organisation.parent_id == parent.id)
    return query.where(Organisation.active.is_(True)).order_by(Organisation.name, Organisation.id)


def paginate(query, page: int, per_page: int):
    return db.paginate(query, page=page, per_page=per_page, error_out=False, max_per_page=100)


def page_dict(pagination) -> dict:
    return {
        "items": list(pagination.items),
        "page": pagination.page,
        "per_page": pagination.per_page,
        "total": pagination.total,
        "pages": pagination.pages,
    }
