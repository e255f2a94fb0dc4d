"""Who may administer which account, and what administering means.

One rule (:func:`may_administer`) guards every administrator's action on another account — a
password reset, signing it out everywhere, locking it, granting or revoking a role — on every page,
API and CLI path: an actor may act on an account only if every role that account holds is one the
actor could grant itself (the same role or a narrower one, inside the actor's subtree) and its member
record, if any, is one the actor manages.  Only superadmins act on superadmins.  Nobody administers
their own account here (that is the account page).
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from learning.accounts import sessions
from learning.accounts.models import Account, Role, RoleGrant
from learning.db import utcnow
from learning.extensions import db
from learning.orgs.models import Member, Organisation
from learning.orgs.scoping import Permission, Scope, scope_for


class AdministrationError(ValueError):
    def __init__(self, message, field: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field


def grant_refusal(scope: Scope, role: Role, organisation: Organisation | None,
                  member: Member | None) -> AdministrationError | None:
    """Why an actor with ``scope`` may not grant ``role`` on ``organisation`` to ``member``'s account,
    or None when it may."""
    if member is not None and not scope.can_member(Permission.MANAGE_MEMBERS, member):
        return AdministrationError(_l("This member is outside the organisations you manage."), "member")
    if role == Role.SUPERADMIN:
        if not scope.is_global(Permission.MANAGE_SYSTEM):
            return AdministrationError(_l("Only a superadmin can grant the superadmin role."), "role")
        return None
    if role == Role.MEMBER:
        return None if member is not None else AdministrationError(_l("A member account must be linked to a member."), "member")
    if organisation is None or not scope.can_org(Permission.MANAGE_ORGS, organisation):
        return AdministrationError(_l("You may not grant this role in that organisation."), "organisation")
    return None


def grantable_roles(actor: Account) -> list[Role]:
    """The roles ``actor`` may grant somewhere (what an account form offers)."""
    scope = scope_for(actor)
    roles = [Role.MEMBER]
    if scope.has_any(Permission.MANAGE_ORGS):
        roles += [Role.BRANCH_SECRETARY, Role.REVIEWER, Role.ORG_ADMIN]
    if scope.is_global(Permission.MANAGE_SYSTEM):
        roles.append(Role.SUPERADMIN)
    return roles


def grantable_orgs(actor: Account, member: Member) -> list[Organisation]:
    """The member's organisation and its ancestors that ``actor`` may grant roles on, nearest first."""
    scope = scope_for(actor)
    ids = member.organisation.ancestor_ids()
    orgs = db.session.scalars(select(Organisation).where(Organisation.id.in_(ids))).all()
    return sorted((o for o in orgs if scope.can_org(Permission.MANAGE_ORGS, o)), key=lambda o: o.depth, reverse=True)


def may_administer(actor: Account | None, account: Account | None) -> bool:
    """Whether ``actor`` may reset the password of, sign out, lock or change the grants of ``account``."""
    if actor is None or account is None or actor.id == account.id or not actor.is_active:
        return False
    scope = scope_for(actor)
    if account.member is not None and not scope.can_member(Permission.MANAGE_MEMBERS, account.member):
        return False
    if account.member is None and not scope.is_global(Permission.MANAGE_SYSTEM):
        return False  # an operator's account without a member: superadmins only
    return all(grant_refusal(scope, g.role, g.organisation, account.member) is None for g in account.grants)


def _require(actor: Account, account: Account) -> None:
    if not may_administer(actor, account):
        raise AdministrationError(_l("You may not administer this account."))


def reset_password(actor: Account, account: Account) -> str:
    """Give ``account`` a random temporary password, returned once; it must be changed at the next
    login.  Every session and API token of the account ends."""
    from learning.accounts.services import _generate_hash, generate_temporary_password

    _require(actor, account)
    temporary = generate_temporary_password()
    account.password_hash = _generate_hash(temporary)
    account.password_changed_at = utcnow()
    account.must_change_password = True
    sessions.end_all(account)
    _audit(actor, "account.password_reset", account)
    return temporary


def sign_out(actor: Account, account: Account) -> int:
    """End every web session and API token of ``account`` (a lost phone, a shared computer)."""
    _require(actor, account)
    ended = sessions.end_all(account)
    _audit(actor, "account.signed_out", account, {"ended": ended})
    return ended


def set_locked(actor: Account, account: Account, locked: bool) -> None:
    """Lock (nobody can sign in; sessions and tokens end) or unlock an account."""
    _require(actor, account)
    if account.active == (not locked):
        return
    account.active = not locked
    if locked:
        sessions.end_all(account)
    _audit(actor, "account.locked" if locked else "account.unlocked", account)


def add_role(actor: Account, account: Account, role: Role, organisation: Organisation | None) -> RoleGrant:
    from learning.accounts.services import grant_role

    _require(actor, account)
    refusal = grant_refusal(scope_for(actor), role, organisation, account.member)
    if refusal is not None:
        raise refusal
    before = len(account.grants)
    grant = grant_role(account, role, organisation, granted_by=actor)
    if len(account.grants) != before:
        _audit(actor, "role.granted", account, _grant_detail(grant))
    return grant


def revoke_role(actor: Account, account: Account, grant_id: int) -> None:
    """Take one role away (the member role of a member stays: it is what the account is for)."""
    _require(actor, account)
    grant = next((g for g in account.grants if g.id == grant_id), None)
    if grant is None:
        raise AdministrationError(_l("This account has no such role."))
    if grant.role == Role.MEMBER and account.member is not None:
        raise AdministrationError(_l("The member role of a member's account cannot be taken away; lock the account instead."))
    detail = _grant_detail(grant)
    account.grants.remove(grant)
    db.session.flush()
    sessions.end_all(account)  # what the account could reach has changed: sign in again
    _audit(actor, "role.revoked", account, detail)


def _grant_detail(grant: RoleGrant) -> dict:
    return {"role": grant.role.value, "organisation_id": grant.organisation_id}


def _audit(actor: Account, action: str, account: Account, detail: dict | None = None) -> None:
    from learning.audit.services import record

    record(action, actor=actor, target=f"account:{account.id}",
           organisation_id=account.member.organisation_id if account.member else None, detail=detail)
