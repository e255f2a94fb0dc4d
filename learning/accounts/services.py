"""Account operations: creating accounts, roles, passwords and API tokens."""
from __future__ import annotations

import hashlib
import math
import time
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import joinedload
from werkzeug.exceptions import TooManyRequests
from werkzeug.security import check_password_hash, generate_password_hash

from learning.accounts import sessions
from learning.accounts.models import ORG_ROLES, Account, ApiToken, Role, RoleGrant, TokenScope
from learning.db import utcnow
from learning.extensions import db, limiter
from learning.orgs.models import Member, Organisation
from learning.orgs.scoping import scope_for

MIN_PASSWORD_LENGTH = 8
TOKEN_PREFIX = "lrn_"

# Checked when the username is unknown so that a failed login takes as long
# either way and does not reveal which usernames exist.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


class AccountError(ValueError):
    """A refused account operation.  ``field`` names the form field to blame."""

    def __init__(self, message, field: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field


def login_rate_limit() -> str:
    """The failed-login limit per address and username, of the web form and the token endpoint."""
    return current_app.config["LOGIN_RATE_LIMIT"]


def _limit_keys(address: str | None, username: str | None):
    """The counters a failed login uses: (address, username), so that a correct password from a
    shared (NAT) address is not paused by other people's failures; and the username alone, so that
    guessing one account's password from many addresses is stopped too."""
    from limits import parse_many

    name = (username or "").strip().lower()[:64]
    return [(f"{address or '-'}|{name}", parse_many(login_rate_limit())),
            (f"account|{name}", parse_many(current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"]))]


def _paused(keys) -> None:
    """429 with the real wait: until the first exhausted limit lets a new attempt through."""
    now, waits = time.time(), []
    for key, limits in keys:
        for limit in limits:
            stats = limiter.limiter.get_window_stats(limit, "failed-login", key)
            if stats.remaining <= 0:
                waits.append(stats.reset_time - now)
    raise TooManyRequests(retry_after=max(1, math.ceil(max(waits))) if waits else 1)


def check_login_not_paused(address: str | None, username: str | None) -> None:
    """Refuse (429) a login for ``username`` from ``address`` while either counter is used up."""
    if not current_app.config["RATELIMIT_ENABLED"]:
        return
    keys = _limit_keys(address, username)
    if not all(limiter.limiter.test(limit, "failed-login", key) for key, limits in keys for limit in limits):
        _paused(keys)


def count_failed_login(address: str | None, username: str | None) -> None:
    """Count one failed login; 429 when it is over a limit.

    Checked and counted in one atomic step of the limiter's storage (Redis when several workers
    share it): a check before and a count after would let a burst of parallel attempts through
    before the first of them is counted.
    """
    if not current_app.config["RATELIMIT_ENABLED"]:
        return
    keys = _limit_keys(address, username)
    counted = [limiter.limiter.hit(limit, "failed-login", key) for key, limits in keys for limit in limits]
    if not all(counted):
        _paused(keys)


def password_problem(password: str) -> str | None:
    if len(password) < MIN_PASSWORD_LENGTH:
        return _l("The password needs at least %(n)d characters.", n=MIN_PASSWORD_LENGTH)
    if password.isdigit() or password.isalpha():
        return _l("The password needs both letters and digits.")
    return None


def _hash(password: str) -> str:
    problem = password_problem(password)
    if problem:
        raise AccountError(problem, field="password")
    return _generate_hash(password)


def _generate_hash(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def account_by_username(username: str) -> Account | None:
    return db.session.scalar(select(Account).where(Account.username == username.strip()))


def create_account(
    username: str,
    password: str,
    *,
    member: Member | None = None,
    role: Role = Role.MEMBER,
    organisation: Organisation | None = None,
    display_name: str | None = None,
    created_by: Account | None = None,
    must_change_password: bool = False,
) -> Account:
    """Create an account holding ``role``; an account linked to a member is also a member.

    When ``created_by`` is given, the grant is checked against that administrator's scope.
    """
    username = username.strip()
    if not username or len(username) > 64:
        raise AccountError(_l("A username has 1 to 64 characters."), field="username")
    if account_by_username(username) is not None:
        raise AccountError(_l("The username %(u)s is taken.", u=username), field="username")
    if member is not None and db.session.scalar(select(Account).where(Account.member_id == member.id)):
        raise AccountError(_l("This member already has an account."), field="member")
    account = Account(
        username=username,
        password_hash=_hash(password),
        member=member,
        display_name=display_name,
        password_changed_at=utcnow(),
        must_change_password=must_change_password,
    )
    if created_by is not None:
        check_may_grant(created_by, role, organisation, member)
    db.session.add(account)
    if member is not None:
        grant_role(account, Role.MEMBER, granted_by=created_by)
    if role != Role.MEMBER or member is None:
        grant_role(account, role, organisation, granted_by=created_by)
    db.session.flush()
    if created_by is not None:  # an administrator opened it (the registry's accounts are its own record)
        from learning.audit.services import record

        record("account.created", actor=created_by, target=f"account:{account.id}",
               organisation_id=member.organisation_id if member else None, detail={"role": Role(role).value})
    return account


def check_may_grant(actor: Account, role: Role, organisation: Organisation | None, member: Member | None) -> None:
    """An administrator may only create accounts for members of their subtree, and only
    with roles no stronger than their own there (a secretary makes member accounts)."""
    from learning.accounts.administration import grant_refusal

    refusal = grant_refusal(scope_for(actor), role, organisation, member)
    if refusal is not None:
        raise AccountError(refusal.message, field=refusal.field)


def grant_role(account: Account, role: Role, organisation: Organisation | None = None, *, granted_by=None) -> RoleGrant:
    role = Role(role)
    if role in ORG_ROLES and organisation is None:
        raise AccountError(_l("This role needs an organisation."), field="organisation")
    if role not in ORG_ROLES:
        organisation = None
    if role == Role.MEMBER and account.member is None:
        raise AccountError(_l("A member account must be linked to a member."), field="member")
    for existing in account.grants:
        if existing.role == role and existing.organisation_id == (organisation.id if organisation else None):
            return existing
    grant = RoleGrant(role=role, organisation=organisation, granted_by_id=granted_by.id if granted_by else None)
    account.grants.append(grant)
    db.session.flush()
    return grant


def authenticate(username: str, password: str) -> Account | None:
    """The account for these credentials, or None; inactive accounts never authenticate."""
    account = account_by_username(username or "")
    if account is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(account.password_hash, password or ""):
        return None
    if not account.is_active:
        return None
    return account


def record_login(account: Account) -> None:
    """Note the login and award the daily login point (once a local day, by the rule's source key)."""
    account.last_login_at = utcnow()
    if account.member is not None:
        from learning.points import periods
        from learning.points.services import PointsError, award

        try:
            award("daily_login", member=account.member, source_key=f"login:{periods.local_today().isoformat()}")
        except PointsError as exc:  # rules not loaded yet: logging in must still work
            current_app.logger.warning("daily login point not awarded: %s", exc)


def change_password(account: Account, current: str, new: str, *, keep_current_session: bool = False) -> None:
    if not check_password_hash(account.password_hash, current or ""):
        raise AccountError(_l("The current password is wrong."), field="current_password")
    if current == new:
        raise AccountError(_l("The new password must differ from the current one."), field="new_password")
    try:
        account.password_hash = _hash(new)
    except AccountError as exc:
        raise AccountError(exc.message, field="new_password") from None
    account.password_changed_at = utcnow()
    account.must_change_password = False
    # Every other browser and every API token ends: whoever knew the old password is out.
    sessions.end_all(account, keep_current=keep_current_session)


def generate_temporary_password() -> str:
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(10))
        if password_problem(candidate) is None:
            return candidate


# -- API tokens ----------------------------------------------------------------------------
@dataclass
class IssuedToken:
    token: str  # shown once, never stored
    record: ApiToken


def token_digest(token: str) -> str:
    """How bearer tokens (API and registry) are stored: their SHA-256, never the token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(account: Account, name: str = "mobile", days: int | None = None) -> IssuedToken:
    """A new bearer token.  While a temporary password is in force it is good only for setting a
    new password (``POST /api/v1/me/password``), and for an hour."""
    days = days if days is not None else current_app.config["API_TOKEN_DAYS"]
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    restricted = account.must_change_password
    record = ApiToken(
        account=account,
        name=name[:100] or "mobile",
        token_hash=token_digest(token),
        prefix=token[: len(TOKEN_PREFIX) + 4],
        expires_at=utcnow() + (timedelta(hours=1) if restricted else timedelta(days=days)),
        scope=TokenScope.PASSWORD_CHANGE if restricted else TokenScope.FULL,
    )
    db.session.add(record)
    db.session.flush()
    return IssuedToken(token, record)


def _stale(last_used_at: datetime | None, now: datetime) -> bool:
    """Whether a token's last use is worth writing: once a minute, so API traffic does not
    serialise on its row."""
    return last_used_at is None or now - last_used_at > timedelta(minutes=1)


def account_for_token(token: str, now: datetime | None = None) -> tuple[Account, ApiToken] | None:
    if not token or not token.startswith(TOKEN_PREFIX):
        return None
    # The account comes in the same query: this runs on every API call, including each quiz answer.
    record = db.session.scalar(select(ApiToken).options(joinedload(ApiToken.account))
                               .where(ApiToken.token_hash == token_digest(token)))
    now = now or utcnow()
    if record is None or not record.is_valid(now) or not record.account.is_active:
        return None
    if _stale(record.last_used_at, now):
        record.last_used_at = now
    return record.account, record


def member_id_for_token(token: str, now: datetime | None = None, *, joined=None,
                        params: dict | None = None) -> tuple[int | None, bool, object] | None:
    """The same check as :func:`account_for_token` in one Core query, for the hottest API calls
    (a quiz answer, a heartbeat): (member id, whether the token is good for everything — False while
    a temporary password is in force, the row read) without loading account or member objects.

    ``joined`` is a statement made by :func:`token_check_joined`: the call's own read rides on the
    token's (one round trip for both), with ``params`` for its own parameters; its columns come back in
    the row, NULL where the call's joins found nothing."""
    if not token or not token.startswith(TOKEN_PREFIX):
        return None
    now = now or utcnow()
    row = db.session.connection().execute(_TOKEN_CHECK if joined is None else joined,
                                          {"digest": token_digest(token), **(params or {})}).first()
    if row is None or row.revoked_at is not None or row.expires_at <= now or not row.active \
            or row.member_active is False:
        return None
    if _stale(row.last_used_at, now):
        db.session.connection().execute(_TOKEN_USED, {"token_id": row.token_id, "now": now})
    return row.member_id, row.scope is TokenScope.FULL and not row.must_change_password, row


def token_check_joined(extend):
    """The token check with a call's own columns and joins: ``extend(query)`` adds them (outer joins
    from ``Account.member_id``, so that a good token with nothing found still comes back).  Built once,
    where the call's module is loaded."""
    return extend(_TOKEN_CHECK)


# Built once: a statement object reused is neither built nor keyed again on every request; run on the
# session's connection (no ORM execution around a Core statement).
_TOKEN_CHECK = (
    select(ApiToken.id.label("token_id"), ApiToken.expires_at, ApiToken.revoked_at, ApiToken.last_used_at,
           ApiToken.scope, Account.active, Account.must_change_password, Account.member_id,
           Member.active.label("member_active"))
    .join(Account, Account.id == ApiToken.account_id).outerjoin(Member, Member.id == Account.member_id)
    .where(ApiToken.token_hash == bindparam("digest"))
)
_TOKEN_USED = (update(ApiToken).where(ApiToken.id == bindparam("token_id")).values(last_used_at=bindparam("now"))
               .execution_options(synchronize_session=False))


def revoke_token(account: Account, token_id: int) -> bool:
    record = db.session.get(ApiToken, token_id)
    if record is None or record.account_id != account.id:
        return False
    if record.revoked_at is None:
        record.revoked_at = utcnow()
    return True


def active_tokens(account: Account) -> list[ApiToken]:
    return list(
        db.session.scalars(
            select(ApiToken)
            .where(ApiToken.account_id == account.id, ApiToken.revoked_at.is_(None), ApiToken.expires_at > utcnow())
            .order_by(ApiToken.created_at.desc())
        )
    )


def set_email(account: Account, email: str | None) -> None:
    account.email = (email or "").strip() or None


def set_locale(account: Account, locale: str) -> None:
    account.locale = locale
