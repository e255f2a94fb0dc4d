"""The audit log page: an organisation's administrators read their subtree's log, with filters."""
from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import Blueprint, current_app, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from learning.audit.services import ACTIONS, entries
from learning.orgs import queries as org_queries
from learning.orgs.scoping import Permission, scope_for
from learning.web import admin_required, page_arg
from learning.points import periods

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")

ACTION_NAMES = {
    "role.granted": _l("Role granted"),
    "role.revoked": _l("Role taken away"),
    "account.created": _l("Account created"),
    "evaluation.year_confirmed": _l("Yearly evaluation confirmed"),
    "account.password_reset": _l("Password reset"),
    "account.signed_out": _l("Signed out everywhere"),
    "account.locked": _l("Account locked"),
    "account.unlocked": _l("Account unlocked"),
    "points.manual_given": _l("Manual points given"),
    "points.manual_requested": _l("Manual points awaiting approval"),
    "points.manual_approved": _l("Manual points approved"),
    "points.manual_refused": _l("Manual points refused"),
    "points.dispute_accepted": _l("Dispute accepted"),
    "points.dispute_rejected": _l("Dispute rejected"),
    "points.rule_changed": _l("Point rule changed"),
    "points.period_closed": _l("Period closed"),
    "data.exported": _l("Personal data exported"),
    "orglife.attendance_marked": _l("Attendance marked by hand"),
    "orglife.device_registered": _l("Card reader registered"),
    "orglife.device_revoked": _l("Card reader revoked"),
    "orglife.cards_imported": _l("Cards imported"),
}
assert set(ACTION_NAMES) == set(ACTIONS)


def _day(name: str):
    value = request.args.get(name, "").strip()
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        return None, ""
    return datetime.combine(day, time(0), periods.zone()), value


@bp.route("/")
@admin_required(Permission.MANAGE_ORGS)
def log():
    scope = scope_for(current_user)
    action = request.args.get("action", "")
    action = action if action in ACTIONS else ""
    actor = request.args.get("actor", "").strip()[:100]
    since, since_text = _day("since")
    until, until_text = _day("until")
    query = entries(scope.org_clause(Permission.MANAGE_ORGS), action=action or None, actor=actor or None,
                    since=since, until=until + timedelta(days=1) if until else None,
                    site_wide=scope.is_global(Permission.MANAGE_SYSTEM))
    pagination = org_queries.paginate(query, page_arg(), current_app.config["PAGE_SIZE"])
    return render_template("admin/audit.html", pagination=pagination, rows=list(pagination.items),
                           action=action, actor=actor, since=since_text, until=until_text, names=ACTION_NAMES)
