"""Organisations (committee → general branch → branch → group) and members.

The tree is a materialised path: ``path`` is ``/1/5/23/`` for organisation 23
under 5 under 1.  "Everything under X" is then a range scan on one index
(``path >= '/1/5/' AND path < '/1/50'``), one query at any depth, instead of
recursion in Python.  The path is compared byte-wise ("C" collation on
PostgreSQL) because locale collations ignore the slashes.
"""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from learning.db import UTCDateTime, str_enum, utcnow
from learning.extensions import db


class OrgKind(str, enum.Enum):
    COMMITTEE = "committee"
    GENERAL_BRANCH = "general_branch"
    BRANCH = "branch"
    GROUP = "group"


# Which kinds may sit under which: a group only inside a branch, and so on.
ALLOWED_CHILDREN: dict[OrgKind | None, set[OrgKind]] = {
    None: {OrgKind.COMMITTEE, OrgKind.GENERAL_BRANCH, OrgKind.BRANCH},
    OrgKind.COMMITTEE: {OrgKind.COMMITTEE, OrgKind.GENERAL_BRANCH, OrgKind.BRANCH},
    OrgKind.GENERAL_BRANCH: {OrgKind.BRANCH},
    OrgKind.BRANCH: {OrgKind.GROUP},
    OrgKind.GROUP: set(),
}


class MemberStatus(str, enum.Enum):
    FULL = "full"
    PROBATIONARY = "probationary"
    ACTIVIST = "activist"
    CANDIDATE = "candidate"


PathString = String(255).with_variant(String(255, collation="C"), "postgresql")


class Organisation(db.Model):
    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[OrgKind] = mapped_column(str_enum(OrgKind))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    path: Mapped[str] = mapped_column(PathString, index=True, default="")
    depth: Mapped[int] = mapped_column(Integer, default=0)
    external_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    joint: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    parent: Mapped["Organisation | None"] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list["Organisation"]] = relationship(back_populates="parent", order_by="Organisation.name")

    def ancestor_ids(self) -> list[int]:
        """Ids from the root down to and including this organisation, read off the path."""
        return [int(p) for p in self.path.strip("/").split("/") if p]

    def __repr__(self) -> str:
        return f"<Organisation {self.id} {self.kind.value} {self.name!r}>"


class Member(db.Model):
    __tablename__ = "member"
    __table_args__ = (Index("ix_member_org_active", "organisation_id", "active"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    external_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    # SCIM userName, when a registry provisions the member over SCIM (often the member number).
    user_name: Mapped[str | None] = mapped_column(String(100), unique=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    status: Mapped[MemberStatus] = mapped_column(str_enum(MemberStatus))
    joined_on: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    # Set by a SCIM DELETE: the member stays (history, points) but is no longer a SCIM resource.
    # Distinct from ``active``, which a registry may switch off and on again (SCIM ``active``).
    deprovisioned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    # No reverse collection on Organisation: a committee's members are a scoped query
    # (orgs.scoping), never a list loaded into memory.
    organisation: Mapped[Organisation] = relationship()

    def __repr__(self) -> str:
        return f"<Member {self.id} {self.name!r}>"
