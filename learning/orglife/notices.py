"""通知公告: an organisation's notices to its members, with read receipts and one reminder; and the
messages organisational life sends (a notice, its reminder, a leave decision)."""
from __future__ import annotations

from flask_babel import gettext as _, lazy_gettext as _l
from sqlalchemy import func, insert, literal, select, update

from learning.db import utcnow
from learning.extensions import db
from learning.notifications.models import Notification
from learning.notifications.services import Message, notify, wording
from learning.orglife.activities import OrgLifeError, audience_members
from learning.orglife.models import Notice, NoticeKind, NoticeReceipt
from learning.orgs.models import Member, Organisation
from learning.orgs.scoping import Permission, in_subtree, scope_for

NOTICE = "notice"
NOTICE_REMINDER = "notice_reminder"
LEAVE_DECIDED = "leave_decided"


def publish(organisation: Organisation, *, actor, kind: NoticeKind | str, title: str, body: str,
            group_ids: list[int] | None = None, activity=None) -> Notice:
    """Publish to every active member under ``organisation`` (or under some of its groups)."""
    if actor is not None and not scope_for(actor).can_org(Permission.MANAGE_MEMBERS, organisation):
        raise OrgLifeError(_l("No such organisation."), field="organisation_id", status=404)
    try:
        kind = NoticeKind(kind)
    except ValueError:
        raise OrgLifeError(_l("Choose one of the kinds of notice."), field="kind") from None
    title, body = (title or "").strip(), (body or "").strip()
    if not title or len(title) > 200:
        raise OrgLifeError(_l("Give a title of 1 to 200 characters."), field="title")
    if not body or len(body) > 20000:
        raise OrgLifeError(_l("Write the notice (at most 20,000 characters)."), field="body")
    notice = Notice(organisation_id=organisation.id, kind=kind, title=title, body=body,
                    activity_id=getattr(activity, "id", None), author_account_id=getattr(actor, "id", None),
                    author_name=(actor.name if actor is not None else organisation.name)[:100])
    db.session.add(notice)
    db.session.flush()
    members = audience_members(organisation, group_ids, literal(notice.id))
    db.session.execute(insert(NoticeReceipt).from_select(["notice_id", "member_id"], members))
    _send(notice, NOTICE, f"notice:{notice.id}", unread_only=False)
    return notice


def _send(notice: Notice, kind: str, key: str, *, unread_only: bool) -> int:
    """The notice as a message in 消息 for its recipients (batched: a committee's notice reaches thousands)."""
    params = {"notice_id": notice.id, "title": notice.title, "from": notice.organisation.name}
    query = select(NoticeReceipt.member_id).where(NoticeReceipt.notice_id == notice.id).order_by(NoticeReceipt.member_id)
    if unread_only:
        query = query.where(NoticeReceipt.read_at.is_(None))
    sent, last = 0, 0
    while True:
        ids = db.session.scalars(query.where(NoticeReceipt.member_id > last).limit(5000)).all()
        if not ids:
            return sent
        sent += len(notify(kind, key, {member_id: params for member_id in ids}))
        last = ids[-1]


def for_member(member: Member):
    """The member's notices, newest first."""
    return (select(Notice).join(NoticeReceipt, NoticeReceipt.notice_id == Notice.id)
            .where(NoticeReceipt.member_id == member.id).order_by(Notice.published_at.desc(), Notice.id.desc()))


def read_times(member: Member, notice_ids: list[int]) -> dict:
    """Notice id → when the member read it (None: not yet)."""
    return dict(db.session.execute(select(NoticeReceipt.notice_id, NoticeReceipt.read_at).where(
        NoticeReceipt.member_id == member.id, NoticeReceipt.notice_id.in_(notice_ids or [-1]))).all())


def receipt(notice_id: int, member_id: int) -> NoticeReceipt | None:
    return db.session.get(NoticeReceipt, (notice_id, member_id))


def mark_read(notice: Notice, member: Member) -> bool:
    """The read receipt (and the message in 消息 read with it); True the first time."""
    now = utcnow()
    changed = db.session.execute(update(NoticeReceipt).where(
        NoticeReceipt.notice_id == notice.id, NoticeReceipt.member_id == member.id,
        NoticeReceipt.read_at.is_(None)).values(read_at=now)).rowcount
    db.session.execute(update(Notification).where(
        Notification.member_id == member.id, Notification.key.in_([f"notice:{notice.id}", f"notice:{notice.id}:reminder"]),
        Notification.read_at.is_(None)).values(read_at=now))
    return bool(changed)


def remind(notice: Notice, *, actor) -> int:
    """Remind those who have not read it, once."""
    if not scope_for(actor).can_org(Permission.MANAGE_MEMBERS, notice.organisation):
        raise OrgLifeError(_l("No such notice."), status=404)
    claimed = db.session.execute(update(Notice).where(Notice.id == notice.id, Notice.reminded_at.is_(None))
                                 .values(reminded_at=utcnow())).rowcount
    if not claimed:
        raise OrgLifeError(_l("The unread members were reminded already: a notice is reminded once."), status=409)
    return _send(notice, NOTICE_REMINDER, f"notice:{notice.id}:reminder", unread_only=True)


def receipts(notice: Notice) -> tuple[int, int]:
    """(recipients, read)."""
    return receipt_counts([notice.id])[notice.id]


def receipt_counts(notice_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Notice id → (recipients, read), in one query for a page of notices."""
    found = {notice_id: (total, read) for notice_id, total, read in db.session.execute(
        select(NoticeReceipt.notice_id, func.count(), func.count(NoticeReceipt.read_at))
        .where(NoticeReceipt.notice_id.in_(notice_ids or [-1])).group_by(NoticeReceipt.notice_id))}
    return {notice_id: found.get(notice_id, (0, 0)) for notice_id in notice_ids}


def unread_members(notice: Notice, limit: int = 500) -> list[Member]:
    return db.session.scalars(select(Member).join(NoticeReceipt, NoticeReceipt.member_id == Member.id).where(
        NoticeReceipt.notice_id == notice.id, NoticeReceipt.read_at.is_(None)).order_by(Member.name, Member.id)
        .limit(limit)).all()


def for_admin(account, organisation: Organisation | None = None):
    query = select(Notice).join(Notice.organisation).where(scope_for(account).org_clause(Permission.VIEW_MEMBERS))
    if organisation is not None:
        query = query.where(in_subtree(Organisation.path, organisation.path))
    return query.order_by(Notice.published_at.desc(), Notice.id.desc())


def email_pending(days: int = 7) -> int:
    """E-mail the notices (and reminders) of the last ``days`` not yet e-mailed to members whose account
    has an address; off unless e-mail is set up (``LEARNING_SMTP_HOST``).  Returns how many were sent."""
    from datetime import timedelta

    from learning.notifications.services import email_enabled, email_unsent

    if not email_enabled():
        return 0
    sent = 0
    for notice in db.session.scalars(select(Notice).where(Notice.published_at >= utcnow() - timedelta(days=days))
                                     .order_by(Notice.id)).all():
        sent += email_unsent(f"notice:{notice.id}")
        if notice.reminded_at is not None:
            sent += email_unsent(f"notice:{notice.id}:reminder")
    return sent


def leave_decided(leave) -> None:
    notify(LEAVE_DECIDED, f"leave:{leave.activity_id}", {leave.member_id: {
        "approved": leave.status.value == "approved", "activity_id": leave.activity_id}})


# -- how the messages read ----------------------------------------------------------------------
@wording(NOTICE)
def _notice_words(p: dict) -> Message:
    return Message(_("Notice: %(title)s", title=p["title"]), _("From %(org)s.", org=p["from"]),
                   "orglife.notice", {"notice_id": p["notice_id"]}, _("Read the notice"))


@wording(NOTICE_REMINDER)
def _reminder_words(p: dict) -> Message:
    return Message(_("Reminder: please read %(title)s", title=p["title"]),
                   _("%(org)s asks you to read this notice.", org=p["from"]),
                   "orglife.notice", {"notice_id": p["notice_id"]}, _("Read the notice"))


@wording(LEAVE_DECIDED)
def _leave_words(p: dict) -> Message:
    from learning.orglife.models import Activity

    activity = db.session.get(Activity, p["activity_id"])
    title = activity.title if activity is not None else ""
    if p["approved"]:
        return Message(_("Leave approved"), _("Your leave from %(title)s was approved.", title=title),
                       "orglife.my_activities", None, _("My activities"))
    return Message(_("Leave refused"), _("Your leave from %(title)s was refused: please attend.", title=title),
                   "orglife.my_activities", None, _("My activities"))
