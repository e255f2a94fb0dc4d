"""One action on many members' accounts at once, where a secretary would otherwise click thirty times:
open accounts, reset passwords, lock, unlock, sign out everywhere.

Each member goes through the same checks as the single action (``administration`` and
``services.create_account``: the scope, never one's own account, roles no stronger than the actor's);
a member the action does not apply to is listed with the reason and nothing is done to them.  The
whole batch is one transaction the view commits; every change is audited as the single action is.
New temporary passwords are returned once, for a printed sheet, and never stored in clear.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from learning.accounts import administration, services
from learning.accounts.models import Account
from learning.extensions import db
from learning.orgs.models import Member
from learning.orgs.scoping import Permission, scope_for

MAX_MEMBERS = 200

ACTIONS = {
    "open": _l("Open accounts (username: the registry id)"),
    "reset": _l("Reset passwords"),
    "lock": _l("Lock accounts"),
    "unlock": _l("Unlock accounts"),
    "sign_out": _l("Sign out on every device"),
}
NOT_YOURS = _l("Some of the selected members are not yours to manage; nothing was done.")


class BulkError(ValueError):
    pass


@dataclass
class Outcome:
    action: str
    done: list[dict] = field(default_factory=list)  # {"member", "account", "password"?}
    skipped: list[dict] = field(default_factory=list)  # {"member", "reason"}

    @property
    def credentials(self) -> list[dict]:
        return [row for row in self.done if row.get("password")]


def run(actor: Account, action: str, member_ids: list[int | None]) -> Outcome:
    if action not in ACTIONS:
        raise BulkError(_l("Choose what to do with the selected members."))
    ids = list(dict.fromkeys(member_ids))
    if not ids:
        raise BulkError(_l("Select at least one member."))
    if len(ids) > MAX_MEMBERS:
        raise BulkError(_l("Select at most %(n)d members at a time.", n=MAX_MEMBERS))
    if None in ids:  # not an id at all (the form sends ours): nobody of theirs
        raise BulkError(NOT_YOURS)
    scope = scope_for(actor)
    members = db.session.scalars(select(Member).options(joinedload(Member.organisation)).where(Member.id.in_(ids))).all()
    members = sorted((m for m in members if scope.can_member(Permission.MANAGE_MEMBERS, m)),
                     key=lambda m: (m.organisation.path, m.name, m.id))
    if len(members) != len(ids):
        raise BulkError(NOT_YOURS)
    accounts = {a.member_id: a for a in db.session.scalars(select(Account).where(Account.member_id.in_(ids)))}
    outcome = Outcome(action)
    for member in members:
        account = accounts.get(member.id)
        try:
            row = _one(actor, action, member, account)
        except (administration.AdministrationError, services.AccountError) as exc:
            outcome.skipped.append({"member": member, "reason": str(exc.message)})
        else:
            if row is None:
                continue
            if "reason" in row:
                outcome.skipped.append({"member": member, "reason": str(row["reason"])})
            else:
                outcome.done.append({"member": member, **row})
    return outcome


def _one(actor: Account, action: str, member: Member, account: Account | None) -> dict:
    if action == "open":
        if account is not None:
            return {"reason": _l("already has an account (%(u)s)", u=account.username)}
        if not member.external_id:
            return {"reason": _l("has no registry id to log in with: open this account on the member's page")}
        if not member.active:
            return {"reason": _l("is no longer an active member")}
        password = services.generate_temporary_password()
        created = services.create_account(member.external_id, password, member=member, created_by=actor,
                                          must_change_password=True)
        return {"account": created, "password": password}
    if account is None:
        return {"reason": _l("has no account")}
    if action == "reset":
        return {"account": account, "password": administration.reset_password(actor, account)}
    if action in ("lock", "unlock"):
        if account.active == (action == "unlock"):
            return {"reason": _l("is already locked") if action == "lock" else _l("is not locked")}
        administration.set_locked(actor, account, action == "lock")
        return {"account": account}
    administration.sign_out(actor, account)
    return {"account": account}
