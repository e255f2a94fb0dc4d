"""Display names of enum values, in the user's language.

Kept in one place so every page and export names an organisation kind, a
member status or a role the same way.
"""
from flask_babel import lazy_gettext as _l

from learning.accounts.models import Role
from learning.orgs.models import MemberStatus, OrgKind
from learning.points.appraisal import Grade

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


GRADES = {
    Grade.EXCELLENT: _l("Excellent"),
    Grade.QUALIFIED: _l("Qualified"),
    Grade.BASIC: _l("Basically qualified"),
    Grade.UNQUALIFIED: _l("Unqualified"),
}


def grade(value) -> str:
    return str(GRADES[Grade(value)]) if value else str(_l("Not graded"))


def rule_name(rule) -> str:
    """Rules are data with a Chinese and an English name; show the one of the user's language."""
    from flask_babel import get_locale

    locale = get_locale()
    return rule.name if locale is None or str(locale).startswith("zh") else rule.name_en


def org_kind(kind) -> str:
    return str(ORG_KINDS[OrgKind(kind)])


def member_status(status) -> str:
    return str(MEMBER_STATUSES[MemberStatus(status)])


def role(value) -> str:
    return str(ROLES[Role(value)])
