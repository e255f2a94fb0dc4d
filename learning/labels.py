"""Display names of enum values, in the user's language.

Kept in one place so every page and export names an organisation kind, a
member status or a role the same way.
"""
from flask_babel import lazy_gettext as _l

from learning.accounts.models import Role
from learning.orgs.models import MemberStatus, OrgKind

ORG_KINDS = {
    OrgKind.COMMITTEE: _l("Party committee"),
    OrgKind.GENERAL_BRANCH: _l("General branch"),
    OrgKind.BRANCH: _l("Branch"),
    OrgKind.GROUP: _l("Party group"),
}

MEMBER_STATUSES = {
    MemberStatus.FULL: _l("Full member"),
    MemberStatus.PROBATIONARY: _l("Probationary member"),
    MemberStatus.ACTIVIST: _l("Activist"),
    MemberStatus.CANDIDATE: _l("Development candidate"),
}

ROLES = {
    Role.MEMBER: _l("Member"),
    Role.BRANCH_SECRETARY: _l("Branch secretary"),
    Role.REVIEWER: _l("Appraisal reviewer"),
    Role.ORG_ADMIN: _l("Organisation administrator"),
    Role.SUPERADMIN: _l("Superadmin"),
}


def org_kind(kind) -> str:
    return str(ORG_KINDS[OrgKind(kind)])


def member_status(status) -> str:
    return str(MEMBER_STATUSES[MemberStatus(status)])


def role(value) -> str:
    return str(ROLES[Role(value)])
