"""What organisational life asks of an administrator: leave to decide, notices not read, this week's activities."""
from __future__ import annotations

from datetime import timedelta

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from learning.db import utcnow
from learning.extensions import db
from learning.orglife.models import Activity, LeaveRequest, LeaveStatus, Notice, NoticeReceipt
from learning.orgs.models import Organisation
from learning.orgs.scoping import Permission, scope_for
from learning.web.todo import Todo


def orglife_todos(account) -> list[Todo]:
    scope = scope_for(account)
    if not scope.has_any(Permission.MANAGE_MEMBERS):
        return []
    clause = scope.org_clause(Permission.MANAGE_MEMBERS)
    now = utcnow()
    items = []
    leave = db.session.execute(
        select(func.count(), func.min(Activity.id)).select_from(LeaveRequest)
        .join(Activity, Activity.id == LeaveRequest.activity_id).join(Organisation, Organisation.id == Activity.organisation_id)
        .where(LeaveRequest.status == LeaveStatus.PENDING, Activity.ends_at >= now, clause)).one()
    if leave[0]:
        items.append(Todo("leave", leave[0], _("Requests for leave to decide"),
                          url_for("orglife_admin.activity_detail", activity_id=leave[1])))
    unread = db.session.scalar(
        select(func.count()).select_from(NoticeReceipt).join(Notice, Notice.id == NoticeReceipt.notice_id)
        .join(Organisation, Organisation.id == Notice.organisation_id)
        .where(NoticeReceipt.read_at.is_(None), Notice.published_at >= now - timedelta(days=30), clause)) or 0
    if unread:
        items.append(Todo("unread_notices", unread, _("Notices of the last 30 days not read by their members"),
                          url_for("orglife_records.notice_list"), urgent=False))
    week = db.session.scalar(
        select(func.count()).select_from(Activity).join(Organisation, Organisation.id == Activity.organisation_id)
        .where(Activity.cancelled_at.is_(None), Activity.ends_at >= now, Activity.starts_at < now + timedelta(days=7),
               clause)) or 0
    items.append(Todo("this_week", week, _("Activities in the next seven days"),
                      url_for("orglife_admin.activity_list"), urgent=False))
    return items


def register() -> None:
    from learning.web.todo import register_todo

    register_todo(orglife_todos, order=30)
