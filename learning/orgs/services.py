"""Operations on the organisation tree and members: the only code that changes them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import String, case, func, literal, or_, select, update

from learning.extensions import db
from learning.orgs.models import ALLOWED_CHILDREN, Member, MemberStatus, Organisation, OrgKind
from learning.orgs.scoping import in_subtree


class OrgError(ValueError):
    """A change to the tree that would break it; the message is for the user."""


# ``check_rules=False``: the registry is the system of record, and when it provisions a tree
# our kind rules would refuse (a member held directly by a committee, a group under a general
# branch), we mirror it rather than drop it.  Cycles and dissolved targets are refused always.


def _check_kind(kind: OrgKind, parent: Organisation | None) -> None:
    parent_kind = parent.kind if parent is not None else None
    if kind not in ALLOWED_CHILDREN[parent_kind]:
        raise OrgError(f"a {kind.value} cannot sit under {parent_kind.value if parent_kind else 'the top level'}")


def create_organisation(
    name: str,
    kind: OrgKind,
    parent: Organisation | None = None,
    *,
    external_id: str | None = None,
    joint: bool = False,
    check_rules: bool = True,
) -> Organisation:
    """Add an organisation; its path needs its id, so it is flushed first."""
    kind = OrgKind(kind)
    if parent is not None and not parent.active:
        raise OrgError(f"{parent.name} is dissolved")
    if check_rules:
        _check_kind(kind, parent)
    if joint and kind != OrgKind.BRANCH:
        raise OrgError("only a branch can be a joint branch")
    org = Organisation(name=name, kind=kind, parent=parent, external_id=external_id, joint=joint, path="")
    db.session.add(org)
    db.session.flush()
    org.path = f"{parent.path if parent else '/'}{org.id}/"
    org.depth = (parent.depth + 1) if parent else 0
    db.session.flush()
    return org


def move_organisation(org: Organisation, new_parent: Organisation | None, *, check_rules: bool = True) -> None:
    """Re-hang ``org`` and its whole subtree under ``new_parent`` in one UPDATE."""
    if new_parent is not None and new_parent.path.startswith(org.path):
        raise OrgError("an organisation cannot move under itself")
    if new_parent is not None and not new_parent.active:
        raise OrgError(f"{new_parent.name} is dissolved")
    if check_rules:
        _check_kind(org.kind, new_parent)
    old_path = org.path
    new_path = f"{new_parent.path if new_parent else '/'}{org.id}/"
    depth_change = ((new_parent.depth + 1) if new_parent else 0) - org.depth
    db.session.flush()
    db.session.execute(
        update(Organisation)
        .where(in_subtree(Organisation.path, old_path))
        .values(
            path=literal(new_path, String) + func.substr(Organisation.path, len(old_path) + 1, type_=String),
            depth=Organisation.depth + depth_change,
        )
        .execution_options(synchronize_session=False)
    )
    org.parent = new_parent
    db.session.flush()
    db.session.expire_all()


def create_member(
    name: str,
    organisation: Organisation,
    status: MemberStatus = MemberStatus.FULL,
    *,
    external_id: str | None = None,
    joined_on: date | None = None,
) -> Member:
    member = Member(
        name=name,
        organisation=organisation,
        status=MemberStatus(status),
        external_id=external_id,
        joined_on=joined_on,
        active=True,
    )
    db.session.add(member)
    db.session.flush()
    return member


def org_by_external_id(external_id: str) -> Organisation | None:
    return db.session.scalar(select(Organisation).where(Organisation.external_id == external_id))


def member_by_external_id(external_id: str) -> Member | None:
    return db.session.scalar(select(Member).where(Member.external_id == external_id))


@dataclass
class OrgSummary:
    organisation: Organisation
    member_count: int
    child_count: int


def summarise_siblings(orgs: list[Organisation]) -> list[OrgSummary]:
    """Child counts and active-member counts of whole subtrees for a page of siblings.

    Siblings' subtrees are disjoint, so one CASE over the path ranges assigns
    each member to exactly one listed organisation: two queries for the page,
    not two per organisation.
    """
    if not orgs:
        return []
    ids = [o.id for o in orgs]
    child_counts = dict(
        db.session.execute(
            select(Organisation.parent_id, func.count())
            .where(Organisation.parent_id.in_(ids))
            .group_by(Organisation.parent_id)
        ).all()
    )
    bucket = case(*((in_subtree(Organisation.path, o.path), o.id) for o in orgs), else_=None)
    member_counts = dict(
        db.session.execute(
            select(bucket.label("bucket"), func.count(Member.id))
            .join(Member, Member.organisation_id == Organisation.id)
            .where(Member.active.is_(True), or_(*(in_subtree(Organisation.path, o.path) for o in orgs)))
            .group_by("bucket")
        ).all()
    )
    return [OrgSummary(o, member_counts.get(o.id, 0), child_counts.get(o.id, 0)) for o in orgs]


def update_member(member: Member, *, name: str | None = None, status: MemberStatus | str | None = None,
                  joined_on: date | None = None) -> Member:
    if name is not None:
        member.name = name
    if status is not None:
        member.status = MemberStatus(status)
    if joined_on is not None:
        member.joined_on = joined_on
    db.session.flush()
    return member


def transfer_member(member: Member, organisation: Organisation, *, check_rules: bool = True) -> Member:
    """组织关系转接: later points go to the new organisation; earned ones stay where they were earned."""
    if not organisation.active:
        raise OrgError(f"{organisation.name} is dissolved")
    if check_rules and organisation.kind not in (OrgKind.BRANCH, OrgKind.GROUP):
        raise OrgError("members belong to a branch or a group")
    member.organisation = organisation
    member.active = True
    db.session.flush()
    return member


def deactivate_member(member: Member) -> Member:
    """A member who left: kept with history and points, no longer listed or ranked."""
    member.active = False
    db.session.flush()
    return member


def update_organisation(org: Organisation, *, name: str | None = None, parent: Organisation | None = None,
                        move: bool = False, kind: OrgKind | None = None, check_rules: bool = True) -> Organisation:
    if name is not None:
        org.name = name
    if kind is not None and OrgKind(kind) != org.kind:
        if check_rules:
            raise OrgError("the kind of an organisation is not changed here; dissolve it and create another")
        org.kind = OrgKind(kind)
    if move and parent is not org.parent:
        move_organisation(org, parent, check_rules=check_rules)
    db.session.flush()
    return org


def dissolve_organisation(org: Organisation) -> Organisation:
    """Deactivate an organisation once its members and sub-organisations have moved on."""
    from learning.orgs.scoping import in_subtree

    remaining = db.session.scalar(
        select(func.count(Member.id)).join(Member.organisation)
        .where(in_subtree(Organisation.path, org.path), Member.active.is_(True))
    )
    if remaining:
        raise OrgError(f"{org.name} still has {remaining} active members; transfer them first")
    db.session.execute(
        update(Organisation).where(in_subtree(Organisation.path, org.path)).values(active=False)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(org)
    return org
