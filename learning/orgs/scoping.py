"""Who may see and change which organisations and members.

This is the one place that answers that question.  Every list, detail page,
export and API call asks it, either for a SQL clause to filter a query
(:meth:`Scope.org_clause`, :meth:`Scope.members`) or for a yes/no on one row
(:meth:`Scope.can_org`, :meth:`Scope.can_member`).  Rows outside a user's
scope are answered with 404, never 403, so that guessing ids reveals nothing.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

from flask import abort, g, has_request_context
from sqlalchemy import Select, and_, false, or_, select, true
from sqlalchemy.orm import joinedload

from learning.extensions import db
from learning.orgs.models import Member, Organisation


class Permission(str, enum.Enum):
    VIEW_MEMBERS = "view_members"  # read members and their records
    MANAGE_MEMBERS = "manage_members"  # accounts, password resets, member data
    VIEW_SCORES = "view_scores"  # scores, rankings, appraisal
    RUN_CAMPAIGNS = "run_campaigns"  # challenge campaigns, course assignments
    MANAGE_ORGS = "manage_orgs"  # the tree below one's root, point rules
    MANAGE_SYSTEM = "manage_system"  # registry connections, jobs: superadmin only


def _role_permissions():
    from learning.accounts.models import Role

    return {
        Role.MEMBER: set(),
        Role.BRANCH_SECRETARY: {
            Permission.VIEW_MEMBERS,
            Permission.MANAGE_MEMBERS,
            Permission.VIEW_SCORES,
            Permission.RUN_CAMPAIGNS,
        },
        Role.REVIEWER: {Permission.VIEW_MEMBERS, Permission.VIEW_SCORES},
        Role.ORG_ADMIN: {
            Permission.VIEW_MEMBERS,
            Permission.MANAGE_MEMBERS,
            Permission.VIEW_SCORES,
            Permission.RUN_CAMPAIGNS,
            Permission.MANAGE_ORGS,
        },
        Role.SUPERADMIN: set(Permission),
    }


def subtree_range(path: str) -> tuple[str, str]:
    """The half-open string range holding ``path`` and every path below it.

    ``'/1/5/'`` → ``('/1/5/', '/1/50')``: '0' follows '/' in ASCII, so the
    range is exactly the strings that start with the path.
    """
    return path, path[:-1] + "0"


def in_subtree(path_column, path: str):
    low, high = subtree_range(path)
    return and_(path_column >= low, path_column < high)


@dataclass(frozen=True)
class _Root:
    organisation_id: int
    path: str


class Scope:
    """What one account may reach, per permission, as a set of subtree roots."""

    def __init__(self, account):
        from learning.accounts.models import Role

        self.account = account
        self.own_member_id = account.member_id if account is not None else None
        self._global: set[Permission] = set()
        self._roots: dict[Permission, list[_Root]] = {p: [] for p in Permission}
        if account is None or not getattr(account, "is_active", False):
            return
        perms = _role_permissions()
        for grant in account.grants:
            granted = perms[grant.role]
            if grant.role == Role.SUPERADMIN:
                self._global |= granted
                continue
            if grant.organisation is None or not granted:
                continue
            root = _Root(grant.organisation_id, grant.organisation.path)
            for permission in granted:
                self._roots[permission].append(root)
        for permission, roots in self._roots.items():
            self._roots[permission] = _outermost(roots)

    # -- questions about the whole scope -------------------------------------------------
    def is_global(self, permission: Permission) -> bool:
        return permission in self._global

    def has_any(self, permission: Permission) -> bool:
        return self.is_global(permission) or bool(self._roots[permission])

    def root_ids(self, permission: Permission) -> list[int]:
        return [r.organisation_id for r in self._roots[permission]]

    def roots(self, permission: Permission) -> Select:
        """The organisations at the top of this account's scope (all roots for superadmins)."""
        if self.is_global(permission):
            return select(Organisation).where(Organisation.parent_id.is_(None))
        ids = self.root_ids(permission)
        return select(Organisation).where(Organisation.id.in_(ids) if ids else false())

    def first_root(self, permission: Permission) -> Organisation | None:
        """The organisation a page opens on when none is named: the first top of the scope."""
        return db.session.scalar(self.roots(permission).order_by(Organisation.path).limit(1))

    def org_or_first_root(self, permission: Permission, org_id: int | None) -> Organisation | None:
        """The organisation ``org_id`` if it is in the scope, the first top of the scope when none is
        named, None otherwise (what an API answers 404 to)."""
        if org_id is None:
            return self.first_root(permission)
        org = db.session.get(Organisation, org_id)
        return org if self.can_org(permission, org) else None

    # -- SQL clauses -------------------------------------------------------------------------
    def org_clause(self, permission: Permission):
        """A WHERE clause on ``Organisation`` limiting rows to the scope."""
        if self.is_global(permission):
            return true()
        roots = self._roots[permission]
        if not roots:
            return false()
        return or_(*(in_subtree(Organisation.path, r.path) for r in roots))

    def orgs(self, permission: Permission) -> Select:
        return select(Organisation).where(self.org_clause(permission))

    def members(self, permission: Permission, *, include_self: bool = False) -> Select:
        """Members in scope, as one query joined to their organisation's path index."""
        clause = self.org_clause(permission)
        if include_self and self.own_member_id is not None:
            clause = or_(clause, Member.id == self.own_member_id)
        return (
            select(Member)
            .join(Member.organisation)
            .options(joinedload(Member.organisation))
            .where(clause)
        )

    # -- questions about one row ---------------------------------------------------------
    def can_org(self, permission: Permission, org: Organisation | None) -> bool:
        if org is None:
            return False
        if self.is_global(permission):
            return True
        return any(org.path.startswith(r.path) for r in self._roots[permission])

    def reach_depth(self, permission: Permission, org: Organisation) -> int | None:
        """How high above ``org`` this scope's reach starts: the depth of the outermost root that holds
        it (-1 for a global permission), or None when out of scope.  Smaller is higher."""
        if self.is_global(permission):
            return -1
        depths = [r.path.count("/") - 2 for r in self._roots[permission] if org.path.startswith(r.path)]
        return min(depths) if depths else None

    def can_member(self, permission: Permission, member: Member | None) -> bool:
        if member is None:
            return False
        if permission == Permission.VIEW_MEMBERS and member.id == self.own_member_id:
            return True
        return self.can_org(permission, member.organisation)


def _outermost(roots: list[_Root]) -> list[_Root]:
    """Drop roots that lie inside another root, so clauses stay short."""
    unique = sorted({r.path: r for r in roots}.values(), key=lambda r: r.path)
    kept: list[_Root] = []
    for root in unique:
        if not any(root.path.startswith(k.path) for k in kept):
            kept.append(root)
    return kept


def scope_for(account) -> Scope:
    """The scope of ``account``, computed once per request."""
    if not has_request_context():
        return Scope(account)
    cache = g.setdefault("_scopes", {})
    key = getattr(account, "id", None)
    if key not in cache:
        cache[key] = Scope(account)
    return cache[key]


def member_or_404(account, member_id: int, permission: Permission = Permission.VIEW_MEMBERS) -> Member:
    member = db.session.get(Member, member_id)
    if not scope_for(account).can_member(permission, member):
        abort(404)
    return member


def org_or_404(account, org_id: int, permission: Permission = Permission.VIEW_MEMBERS) -> Organisation:
    org = db.session.get(Organisation, org_id)
    if not scope_for(account).can_org(permission, org):
        abort(404)
    return org
