"""Accounts that sign in, the roles granted to them, and API tokens.

An account is usually linked to one member; administrators who are not members
(for example an IT operator with the superadmin role) have none.  A role is
granted on an organisation and reaches its whole subtree; what each role may do
is decided in :mod:`learning.orgs.scoping`, nowhere else.
"""
from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from learning.db import UTCDateTime, str_enum, utcnow
from learning.extensions import db
from learning.orgs.models import Member, Organisation


class Role(str, enum.Enum):
    MEMBER = "member"
    BRANCH_SECRETARY = "branch_secretary"
    REVIEWER = "reviewer"
    ORG_ADMIN = "org_admin"
    SUPERADMIN = "superadmin"


# Roles that are granted on an organisation (and so need one).
ORG_ROLES = {Role.BRANCH_SECRETARY, Role.REVIEWER, Role.ORG_ADMIN}


class Account(UserMixin, db.Model):
    __tablename__ = "account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(100))
    locale: Mapped[str | None] = mapped_column(String(16))
    # Where reminders are emailed when the site has an SMTP server (set by the member).
    email: Mapped[str | None] = mapped_column(String(254))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    must_change_password: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    member: Mapped[Member | None] = relationship()
    grants: Mapped[list["RoleGrant"]] = relationship(
        back_populates="account", cascade="all, delete-orphan", lazy="selectin", foreign_keys="RoleGrant.account_id"
    )

    def get_id(self) -> str:
        """The session id: the account id plus a fragment of the password hash, so that
        changing or resetting the password ends every other session of the account (each web
        session is also a :class:`WebSession` row, ended on the server at logout)."""
        return f"{self.id}.{self.password_hash[-10:]}"

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.active and (self.member is None or self.member.active)

    @property
    def name(self) -> str:
        if self.member is not None:
            return self.member.name
        return self.display_name or self.username

    def has_role(self, role: Role) -> bool:
        return any(g.role == role for g in self.grants)

    @property
    def is_superadmin(self) -> bool:
        return self.has_role(Role.SUPERADMIN)

    @property
    def is_administrator(self) -> bool:
        """True for anyone who may open the admin area."""
        return any(g.role != Role.MEMBER for g in self.grants)

    def __repr__(self) -> str:
        return f"<Account {self.username}>"


class RoleGrant(db.Model):
    __tablename__ = "role_grant"
    __table_args__ = (UniqueConstraint("account_id", "role", "organisation_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(str_enum(Role))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))

    account: Mapped[Account] = relationship(back_populates="grants", foreign_keys=[account_id])
    organisation: Mapped[Organisation | None] = relationship(lazy="joined")


class WebSession(db.Model):
    """One signed-in browser.  The cookie carries a random key whose SHA-256 is stored here, so that
    logging out, a password change or an administrator's sign-out ends the session on the server:
    a cookie copied before then is refused afterwards."""

    __tablename__ = "web_session"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    address: Mapped[str | None] = mapped_column(String(45))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TokenScope(str, enum.Enum):
    FULL = "full"
    # Issued while a temporary password is in force: good only for setting a new password.
    PASSWORD_CHANGE = "password_change"


class ApiToken(db.Model):
    """A bearer token for the mobile client.  Only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    scope: Mapped[TokenScope] = mapped_column(str_enum(TokenScope), default=TokenScope.FULL,
                                              server_default=TokenScope.FULL.value)

    account: Mapped[Account] = relationship()

    def is_valid(self, now: datetime) -> bool:
        return self.revoked_at is None and self.expires_at > now
