"""Display names of enum values, in the user's language.

Kept in one place so every page and export names an organisation kind, a
member status or a role the same way.
"""
from flask_babel import lazy_gettext as _l

from learning.accounts.models import Role
from learning.courses.models import CreditKind, LessonKind
from learning.orgs.models import MemberStatus, OrgKind
from learning.points.appraisal import Grade
from learning.points.models import DisputeStatus
from learning.quizzes.models import ChallengeStatus, QuestionKind
from learning.registry.models import EventStatus, SyncStatus
from learning.scheduler.models import RunStatus


def _namer(names: dict):
    """The display function for one enum's names: takes a member or its stored value."""
    enum_cls = type(next(iter(names)))

    def name(value) -> str:
        return str(names[enum_cls(value)])

    return name

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


org_kind = _namer(ORG_KINDS)
member_status = _namer(MEMBER_STATUSES)
role = _namer(ROLES)


def entry_text(entry) -> str:
    """How a ledger entry reads to a member: the rule, and what it was for."""
    name = rule_name(entry.rule)
    if entry.corrects_id is not None:
        name = str(_l("Correction: %(name)s", name=name))
    return f"{name}《{entry.title}》" if entry.title else name


DISPUTE_STATUSES = {
    DisputeStatus.OPEN: _l("waiting for review"),
    DisputeStatus.ACCEPTED: _l("accepted"),
    DisputeStatus.REJECTED: _l("rejected"),
}


dispute_status = _namer(DISPUTE_STATUSES)


def period(key: str) -> str:
    """The period's display name (owned by points.periods, where the keys are)."""
    from learning.points.periods import label

    return label(key)


EVENT_STATUSES = {
    EventStatus.PENDING: _l("waiting"),
    EventStatus.APPLIED: _l("applied"),
    EventStatus.FAILED: _l("failed"),
    EventStatus.DUPLICATE: _l("duplicate"),
}


event_status = _namer(EVENT_STATUSES)


SYNC_STATUSES = {
    SyncStatus.RUNNING: _l("running"),
    SyncStatus.SUCCEEDED: _l("succeeded"),
    SyncStatus.FAILED: _l("failed"),
}


sync_status = _namer(SYNC_STATUSES)


RUN_STATUSES = {
    RunStatus.REQUESTED: _l("Waiting"),
    RunStatus.RUNNING: _l("Running"),
    RunStatus.SUCCEEDED: _l("Succeeded"),
    RunStatus.FAILED: _l("Failed"),
    RunStatus.INTERRUPTED: _l("Interrupted"),
}


run_status = _namer(RUN_STATUSES)


CREDIT_KINDS = {CreditKind.REQUIRED: _l("Required"), CreditKind.ELECTIVE: _l("Elective")}
LESSON_KINDS = {LessonKind.TEXT: _l("Text"), LessonKind.VIDEO: _l("Video"), LessonKind.AUDIO: _l("Audio")}
credit_kind = _namer(CREDIT_KINDS)
lesson_kind = _namer(LESSON_KINDS)


QUESTION_KINDS = {QuestionKind.SINGLE: _l("Single choice"), QuestionKind.MULTIPLE: _l("Multiple choice"),
                  QuestionKind.TRUE_FALSE: _l("True or false"), QuestionKind.FILL_BLANK: _l("Fill in the blank")}
CHALLENGE_STATUSES = {ChallengeStatus.DRAFT: _l("Draft"), ChallengeStatus.SCHEDULED: _l("Scheduled"),
                      ChallengeStatus.OPEN: _l("Open"), ChallengeStatus.CLOSED: _l("Closed")}


question_kind = _namer(QUESTION_KINDS)
challenge_status = _namer(CHALLENGE_STATUSES)


def hours(value) -> str:
    """Credit hours as people write them: 2, 0.5, 1.25 (no trailing zeros)."""
    from decimal import Decimal

    number = Decimal(str(value or 0)).quantize(Decimal("0.01"))
    text = format(number.normalize(), "f")
    return text
