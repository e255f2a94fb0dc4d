"""Signed-in browsers and API tokens, and ending them.

A web session is a :class:`WebSession` row: the cookie carries a random key, the row its SHA-256.
Logging out ends the row, so a cookie copied before is refused afterwards.  A password change, a
reset and an administrator's sign-out end every session and revoke every API token of the account
(the change keeps the session it was made in).
"""
from __future__ import annotations

import secrets

from flask import session
from sqlalchemy import select, update

from learning.accounts.models import Account, ApiToken, WebSession
from learning.db import utcnow
from learning.extensions import db

SESSION_KEY = "sid"


def _digest(key: str) -> str:
    from learning.accounts.services import token_digest

    return token_digest(key)


def begin(account: Account, address: str | None) -> None:
    """Record a new web session for ``account`` and put its key in the (fresh) cookie session."""
    key = secrets.token_urlsafe(32)
    db.session.add(WebSession(account_id=account.id, key_hash=_digest(key), address=(address or "")[:45] or None))
    session[SESSION_KEY] = key


def live_account(account_id: int) -> Account | None:
    """The account, if the cookie's session key names a session of it that has not ended (one query,
    on every page)."""
    key = session.get(SESSION_KEY)
    if not isinstance(key, str) or not key:
        return None
    return db.session.scalar(select(Account).join(WebSession, WebSession.account_id == Account.id).where(
        Account.id == account_id, WebSession.key_hash == _digest(key), WebSession.ended_at.is_(None)))


def end_current() -> None:
    """End the session of this cookie (logout)."""
    key = session.get(SESSION_KEY)
    if isinstance(key, str) and key:
        db.session.execute(update(WebSession).where(WebSession.key_hash == _digest(key), WebSession.ended_at.is_(None))
                           .values(ended_at=utcnow()))


def end_all(account: Account, *, keep_current: bool = False) -> int:
    """End every web session of ``account`` (but this cookie's, with ``keep_current``) and revoke
    every API token; returns how many sessions and tokens were ended."""
    moment = utcnow()
    sessions = update(WebSession).where(WebSession.account_id == account.id, WebSession.ended_at.is_(None))
    key = session.get(SESSION_KEY) if keep_current else None
    if isinstance(key, str) and key:
        sessions = sessions.where(WebSession.key_hash != _digest(key))
    ended = db.session.execute(sessions.values(ended_at=moment)).rowcount
    revoked = db.session.execute(update(ApiToken).where(ApiToken.account_id == account.id,
                                                        ApiToken.revoked_at.is_(None))
                                 .values(revoked_at=moment)).rowcount
    return ended + revoked
