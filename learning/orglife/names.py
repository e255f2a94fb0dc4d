"""How organisational life's values read, in the user's language (this feature owns its words)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l, pgettext

from learning.orglife.models import ActivityKind, CheckInMethod, LeaveStatus, NoticeKind, SwipeStatus, VolunteerSource

KINDS = {
    ActivityKind.BRANCH_ASSEMBLY: _l("Branch general meeting"),
    ActivityKind.COMMITTEE_MEETING: _l("Branch committee meeting"),
    ActivityKind.GROUP_MEETING: _l("Party group meeting"),
    ActivityKind.PARTY_LECTURE: _l("Party lecture"),
    ActivityKind.THEME_DAY: _l("Theme party day"),
    ActivityKind.VOLUNTEER_SERVICE: _l("Volunteer service"),
    ActivityKind.OTHER: _l("Other activity"),
}
METHODS = {
    CheckInMethod.CODE: _l("Check-in code"),
    CheckInMethod.CARD: _l("Card swipe"),
    CheckInMethod.HAND: _l("Marked by hand"),
    CheckInMethod.REGISTRY: _l("From the registry"),
}
LEAVE = {
    LeaveStatus.PENDING: _l("Leave asked"),
    LeaveStatus.APPROVED: _l("On leave"),
    LeaveStatus.REFUSED: _l("Leave refused"),
}
NOTICE_KINDS = {
    NoticeKind.MEETING: _l("Meeting notice"),
    NoticeKind.STUDY: _l("Special study"),
    NoticeKind.DOCUMENT: _l("Document"),
    NoticeKind.OTHER: _l("Notice"),
}
SWIPES = {
    SwipeStatus.CHECKED_IN: _l("Checked in"),
    SwipeStatus.ALREADY: _l("Already checked in"),
    SwipeStatus.UNKNOWN_CARD: _l("Unknown card"),
    SwipeStatus.NO_ACTIVITY: _l("No activity open"),
}
VOLUNTEER_SOURCES = {VolunteerSource.ACTIVITY: _l("Checked in at the activity"),
                     VolunteerSource.REGISTRY: _l("From the registry")}
FREQUENCIES = {"month": _l("monthly"), "quarter": _l("quarterly"), "year": _l("yearly")}


def kind(value) -> str:
    return str(KINDS[ActivityKind(value)])


def method(value) -> str:
    return str(METHODS[CheckInMethod(value)])


def leave(value) -> str:
    return str(LEAVE[LeaveStatus(value)])


def notice_kind(value) -> str:
    return str(NOTICE_KINDS[NoticeKind(value)])


def swipe(value) -> str:
    return str(SWIPES[SwipeStatus(value)])


def volunteer_source(value) -> str:
    return str(VOLUNTEER_SOURCES[VolunteerSource(value)])


def frequency(value) -> str:
    return str(FREQUENCIES[value]) if value else pgettext("frequency", "none")
