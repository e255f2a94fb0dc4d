"""Sending messages to members and reading them back.

A message is stored once per member and key (the unique constraint does it on both
databases), so reminders may be sent by a job that runs again without anyone hearing twice.
"""
from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email.message import EmailMessage

from flask import current_app
from flask_babel import force_locale, gettext as _
from sqlalchemy import func, literal, select, update

from learning import labels
from learning.db import UTCDateTime, insert_for, utcnow
from learning.extensions import db
from learning.notifications.models import Notification

HOURS_BEHIND = "hours_behind"


@dataclass
class Message:
    title: str
    body: str
    link: str | None  # an endpoint of the app
    link_args: dict | None = None  # its URL's values
    link_text: str | None = None  # the link's words (default: go to the courses)


def notify(kind: str, key: str, per_member: dict[int, dict]) -> list[int]:
    """Send message ``kind`` under ``key`` to the members of ``per_member`` (id → parameters);
    returns the ids of the members who had not had it yet (the unique key decides, in the insert)."""
    rows = [dict(member_id=m, kind=kind, key=key, params=params) for m, params in per_member.items()]
    statement = (insert_for(Notification).on_conflict_do_nothing(index_elements=["member_id", "key"])
                 .returning(Notification.member_id))
    new = []
    for start in range(0, len(rows), 1000):
        new += db.session.scalars(statement, rows[start:start + 1000]).all()
    return new


def notify_selected(kind: str, key: str, rows) -> tuple[int, int]:
    """:func:`notify` for members chosen by a SELECT of (member_id, params), inserted by the
    database in one statement (a city's reminders without reading 220,000 rows into Python);
    returns (how many were chosen, how many had not had it yet)."""
    chosen = rows.cte("chosen")
    inserted = (insert_for(Notification).from_select(
        ["member_id", "kind", "key", "params", "created_at"],
        select(chosen.c.member_id, literal(kind), literal(key), chosen.c.params, literal(utcnow(), UTCDateTime)))
        .on_conflict_do_nothing(index_elements=["member_id", "key"])
        .returning(Notification.member_id).cte("inserted"))
    # WITH chosen AS (SELECT …), inserted AS (INSERT … SELECT FROM chosen … RETURNING) SELECT both counts
    found = db.session.execute(select(select(func.count()).select_from(chosen).scalar_subquery(),
                                      select(func.count()).select_from(inserted).scalar_subquery())).one()
    return int(found[0]), int(found[1])


_wordings: dict = {}


def wording(kind: str):
    """Register how a feature's message ``kind`` reads (a function of its parameters returning a
    Message, called in the reader's language): features own their words, this module stores and
    delivers them."""
    def register(function):
        _wordings[kind] = function
        return function

    return register


def message(notification: Notification) -> Message:
    """The message worded in the current language."""
    p = notification.params or {}
    if notification.kind in _wordings:
        return _wordings[notification.kind](p)
    if notification.kind == HOURS_BEHIND:
        title = _("Study hours reminder")
        body = _("%(period)s ends on %(ends_on)s. You still need %(required)s required and %(elective)s elective "
                 "credit hours.", period=labels.period(p["period_key"]), ends_on=p["ends_on"],
                 required=p["behind_required"], elective=p["behind_elective"])
        return Message(title, body, "courses.catalogue")
    return Message(notification.kind, "", None)


def unread_count(member_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.member_id == member_id, Notification.read_at.is_(None))) or 0


def for_member(member_id: int):
    return select(Notification).where(Notification.member_id == member_id).order_by(Notification.id.desc())


def mark_all_read(member_id: int) -> int:
    return db.session.execute(update(Notification).where(
        Notification.member_id == member_id, Notification.read_at.is_(None)).values(read_at=utcnow())).rowcount


# -- email --------------------------------------------------------------------------------------
def email_enabled() -> bool:
    return bool(current_app.config.get("SMTP_HOST"))


def smtp_connection() -> smtplib.SMTP:
    """A connection to the configured SMTP server, logged in when a user is set."""
    config = current_app.config
    port = int(config["SMTP_PORT"])
    if config["SMTP_SECURITY"] == "ssl":
        connection = smtplib.SMTP_SSL(config["SMTP_HOST"], port, timeout=20)
    else:
        connection = smtplib.SMTP(config["SMTP_HOST"], port, timeout=20)
        if config["SMTP_SECURITY"] == "starttls":
            connection.starttls()
    if config.get("SMTP_USER"):
        connection.login(config["SMTP_USER"], config.get("SMTP_PASSWORD") or "")
    return connection


def email_unsent(key: str, limit: int = 5000) -> int:
    """Email the messages under ``key`` that have not been emailed, to the members whose account
    has an address; returns how many were sent.  Off unless ``LEARNING_SMTP_HOST`` is set.

    Each message is marked as emailed right after it is sent, so a run cut short resumes where
    it stopped instead of sending everyone the message again.
    """
    if not email_enabled():
        return 0
    from learning.accounts.models import Account

    rows = db.session.execute(
        select(Notification, Account.email).join(Account, Account.member_id == Notification.member_id)
        .where(Notification.key == key, Notification.emailed_at.is_(None), Account.email.is_not(None),
               Account.email != "", Account.active.is_(True))
        .order_by(Notification.id).limit(limit)
    ).all()
    if not rows:
        return 0
    sent = 0
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]), smtp_connection() as smtp:
        for notification, address in rows:
            worded = message(notification)
            mail = EmailMessage()
            mail["From"] = current_app.config["SMTP_FROM"]
            mail["To"] = address
            mail["Subject"] = worded.title
            mail.set_content(worded.body)
            smtp.send_message(mail)
            notification.emailed_at = utcnow()
            db.session.commit()
            sent += 1
    return sent
