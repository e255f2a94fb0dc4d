"""How the monthly report's reminders read (this feature owns its words)."""
from __future__ import annotations

from flask_babel import gettext as _

from learning.evaluation.ballots import BALLOT_OPENED
from learning.evaluation.inspections import INSPECTION_PUBLISHED
from learning.evaluation.reports import REPORT_REMINDER
from learning.notifications.services import Message, wording
from learning.points import periods


@wording(REPORT_REMINDER)
def _report_words(p: dict) -> Message:
    month = periods.label(p["month"])
    if p["stage"] == "due_soon":
        title = _("The monthly report of %(month)s is due by %(due)s", month=month, due=p["due"])
    else:
        title = _("The monthly report of %(month)s is late", month=month)
    return Message(title, _("%(branch)s has not submitted its report of %(month)s yet.", branch=p["branch"], month=month),
                   "evaluation.edit_report", {"branch_id": p["branch_id"], "month": p["month"]}, _("Write the report"))


@wording(BALLOT_OPENED)
def _ballot_words(p: dict) -> Message:
    return Message(_("The member appraisal of %(year)d is open", year=p["year"]),
                   _("%(org)s asks every member to fill in the ballot (民主评议) before it closes.", org=p["org"]),
                   "ballot.my_ballot", None, _("Fill in my ballot"))


@wording(INSPECTION_PUBLISHED)
def _inspection_words(p: dict) -> Message:
    return Message(_("The inspection of %(quarter)s is published", quarter=periods.label(p["quarter"])),
                   _("Your branch scored %(total)s. You may object to each item once.", total=p["total"]),
                   "inspection.inspection_page", {"branch_id": p["branch_id"], "quarter": p["quarter"]},
                   _("Read the inspection"))
