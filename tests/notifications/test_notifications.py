"""The notification centre and reminder e-mails (a real SMTP server from aiosmtpd)."""
from __future__ import annotations

from contextlib import contextmanager
from email import message_from_bytes, policy

import pytest
import sqlalchemy as sa
import time_machine
from aiosmtpd.controller import Controller

from learning.notifications.models import Notification
from learning.scheduler.models import RunStatus
from learning.scheduler.services import run_job
from tests.conftest import switch_language, csrf_token, free_port, login
from tests.factories import PASSWORD
from tests.scheduler.conftest import utc

TWO_THIRDS_OF_Q4 = utc(2026, 12, 1, 1, 0, 5)  # 09:00:05 on 1 December in Shanghai


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


@contextmanager
def smtp_server(app):
    """A real SMTP server on a free port, and the app pointed at it; yields its inbox."""
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port)
    try:
        yield inbox
    finally:
        controller.stop()
        app.config.update(SMTP_HOST=None, SMTP_PORT=25)


@pytest.fixture
def smtp(app):
    with smtp_server(app) as inbox:
        yield inbox


def remind():
    with time_machine.travel(TWO_THIRDS_OF_Q4, tick=False):
        return run_job("remind_behind")


def test_a_member_behind_reads_the_reminder_and_marks_it_read(client, db, tree, rules):
    assert remind().summary["notified"] >= 7
    login(client, "member", PASSWORD)
    home = client.get("/").get_data(as_text=True)
    assert 'id="nav-messages"' in home and "1 条未读" in home
    page = client.get("/notifications/").get_data(as_text=True)
    assert "学时提醒" in page and "必修 8 学时、选修 3 学时" in page and "2026-12-31" in page
    client.post("/notifications/read", data={"csrf_token": csrf_token(client, "/notifications/")})
    assert "条未读" not in client.get("/").get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
        Notification.member_id == tree["members"]["b1_member"], Notification.read_at.is_(None))) == 0
    # A second run on the same day sends nothing new.
    assert remind().summary["notified"] == 0


def test_english_readers_get_it_in_english(client, db, tree, rules):
    remind()
    login(client, "member", PASSWORD)
    switch_language(client, "en")
    page = client.get("/notifications/").get_data(as_text=True)
    assert "Study hours reminder" in page and "You still need 8 required and 3 elective credit hours" in page


def test_an_account_without_a_member_has_no_messages(client, tree):
    login(client, "root", PASSWORD)
    assert client.get("/notifications/").status_code == 404


def test_reminders_are_emailed_once_to_members_who_gave_an_address(client, db, tree, rules, smtp):
    login(client, "member", PASSWORD)
    token = csrf_token(client, "/account")
    bad = client.post("/account", data={"mail-csrf_token": token, "mail-email": "not an address",
                                        "mail-submit_email": "1"})
    assert "请输入邮箱地址" in bad.get_data(as_text=True)
    saved = client.post("/account", data={"mail-csrf_token": token, "mail-email": "wang@example.com",
                                          "mail-submit_email": "1"}, follow_redirects=True)
    assert "提醒邮箱已保存" in saved.get_data(as_text=True)

    run = remind()
    assert run.status is RunStatus.SUCCEEDED and run.summary["emailed"] == 1
    [(recipients, mail)] = smtp.messages
    assert recipients == ["wang@example.com"] and mail["Subject"] == "学时提醒"
    assert "必修 8 学时" in mail.get_content()
    remind()
    assert len(smtp.messages) == 1


def test_an_smtp_outage_fails_the_run_but_keeps_the_messages_and_the_next_run_sends(client, db, tree, rules, app):
    from learning.accounts.models import Account

    db.session.get(Account, tree["accounts"]["member"]).email = "wang@example.com"
    db.session.commit()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=free_port())  # nobody listens there
    try:
        run = remind()
        assert run.status is RunStatus.FAILED and "Connection refused" in run.error
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) >= 7  # in-app: kept
        with smtp_server(app) as inbox:
            assert remind().summary["emailed"] == 1
        assert len(inbox.messages) == 1
    finally:
        app.config.update(SMTP_HOST=None, SMTP_PORT=25)


def test_a_notice_is_emailed_once_to_members_with_an_address(db, tree, rules, smtp):
    from learning.accounts.models import Account
    from learning.orglife import notices
    from learning.orgs.models import Organisation

    db.session.get(Account, tree["accounts"]["member"]).email = "wang@example.cn"
    secretary = db.session.get(Account, tree["accounts"]["secretary"])
    notices.publish(db.session.get(Organisation, tree["orgs"]["B1"]), actor=secretary, kind="meeting",
                    title="关于召开支部党员大会的通知", body="周五下午三点，三楼会议室。")
    db.session.commit()
    first = run_job("email_notices")
    assert first.status is RunStatus.SUCCEEDED and first.summary == {"emailed": 1}
    (recipients, mail), = smtp.messages
    assert recipients == ["wang@example.cn"] and mail["Subject"] == "通知：关于召开支部党员大会的通知"
    assert run_job("email_notices").summary == {"emailed": 0}  # once
