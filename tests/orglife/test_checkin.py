"""Check-in by every path, counted once per member and activity; points through the ledger; scope."""
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from learning.accounts.models import Account
from learning.orglife import activities, checkin
from learning.orglife.models import Activity, Attendance, Invitee
from learning.points import services as points
from learning.points.models import LedgerEntry
from tests.conftest import at_once
from tests.orglife.conftest import member


def attendance_count(db, activity_id):
    return db.session.scalar(select(func.count()).select_from(Attendance).where(Attendance.activity_id == activity_id))


def test_creating_an_activity_expects_the_organisations_members(db, tree, meeting):
    expected = set(db.session.scalars(select(Invitee.member_id).where(Invitee.activity_id == meeting)))
    # B1's secretary and member, and the member of its group G1; nobody of B2, B3 or outside.
    assert expected == {tree["members"][k] for k in ("b1_secretary", "b1_member", "g1_member")}


def test_the_code_rotates_every_30_seconds_and_the_previous_one_still_works(db, meeting):
    item = db.session.get(Activity, meeting)
    t = 1_800_000_000.0  # a multiple of 30: a code's first second
    code, expires_at = checkin.current_code(item, now=t)
    assert len(code) == 6 and code.isdigit() and expires_at.timestamp() == t + 30
    later, _ = checkin.current_code(item, now=t + 30)
    assert later != code or checkin.current_code(item, now=t + 60)[0] != code  # it changes
    assert checkin.code_matches(item, code, now=t + 29) and checkin.code_matches(item, code, now=t + 59)
    assert not checkin.code_matches(item, code, now=t + 60)  # two steps later: expired
    assert not checkin.code_matches(item, "12345", now=t) and not checkin.code_matches(item, "１２３４５６", now=t)


def test_check_in_with_the_code_pays_once_and_names_the_activity(db, tree, meeting):
    item = db.session.get(Activity, meeting)
    m = member(db, tree, "b1_member")
    code, _ = checkin.current_code(item)
    attendance, created = checkin.check_in_with_code(item, m, code)
    db.session.commit()
    assert created and attendance.method.value == "code"
    again, created_again = checkin.check_in_with_code(item, m, code)
    db.session.commit()
    assert not created_again and again.at == attendance.at
    entries = db.session.scalars(select(LedgerEntry).where(LedgerEntry.member_id == m.id)).all()
    assert [(e.rule.code, e.points, e.title) for e in entries] == [("meeting_attended", 5, "十一月支部党员大会")]
    from learning import labels
    from flask_babel import force_locale

    with force_locale("zh_Hans_CN"):
        assert labels.entry_text(entries[0]) == "参加三会一课《十一月支部党员大会》"
    # B1 held its quarterly general meeting: 5 points to the branch, once.
    org_entries = db.session.scalars(select(LedgerEntry).where(LedgerEntry.member_id.is_(None))).all()
    assert [(e.organisation_id, e.points, e.source_key[:24]) for e in org_entries] == [
        (tree["orgs"]["B1"], 5, "schedule:branch_assembly")]


@pytest.mark.parametrize("case", ["wrong", "expired", "other_activity", "too_early", "outsider"])
def test_a_bad_code_is_refused_and_writes_nothing(db, tree, meeting, now, case):
    from learning.orgs.models import Organisation

    item = db.session.get(Activity, meeting)
    m = member(db, tree, "bx_member" if case == "outsider" else "b1_member")
    code, _ = checkin.current_code(item)
    if case == "wrong":
        code = f"{(int(code) + 1) % 1_000_000:06d}"
    elif case == "expired":
        code, _ = checkin.current_code(item, now=now.timestamp() - 90)
    elif case == "other_activity":
        other = activities.create_activity(db.session.get(Organisation, tree["orgs"]["B1"]), actor=None,
                                           kind="theme_day", title="主题党日", starts_at=now, ends_at=now + timedelta(hours=1))
        db.session.commit()
        code, _ = checkin.current_code(other)
    elif case == "too_early":
        item.starts_at, item.ends_at = now + timedelta(hours=2), now + timedelta(hours=3)
        db.session.commit()
    with pytest.raises(activities.OrgLifeError) as refused:
        checkin.check_in_with_code(item, m, code)
    db.session.rollback()
    assert refused.value.status == (404 if case == "outsider" else 422)
    assert attendance_count(db, meeting) == 0 and db.session.scalar(select(func.count()).select_from(LedgerEntry)) == 0


def test_twenty_threads_checking_the_same_member_in_make_one_row_and_one_point(app, db, tree, meeting):
    member_id = tree["members"]["b1_member"]
    results, errors = [], []
    barrier = threading.Barrier(20)

    def go():
        try:
            with app.app_context():
                item = db.session.get(Activity, meeting)
                m = db.session.get(activities.Member, member_id)
                code, _ = checkin.current_code(item)
                barrier.wait(timeout=30)
                _a, created = checkin.check_in_with_code(item, m, code)
                db.session.commit()
                results.append(created)
                db.session.remove()
        except Exception as exc:  # reported below
            errors.append(repr(exc))

    at_once([go] * 20)
    assert errors == [] and sorted(results) == [False] * 19 + [True]
    assert attendance_count(db, meeting) == 1
    assert points.ledger_sum(member_id, "all") == 5
    assert points.verify_totals() == []


def test_hand_marking_needs_a_reason_is_audited_and_never_for_oneself(db, tree, meeting):
    item = db.session.get(Activity, meeting)
    secretary = db.session.get(Account, tree["accounts"]["secretary"])
    with pytest.raises(activities.OrgLifeError):
        checkin.mark_by_hand(item, member(db, tree, "b1_secretary"), actor=secretary, reason="我来了")
    with pytest.raises(activities.OrgLifeError) as no_reason:
        checkin.mark_by_hand(item, member(db, tree, "b1_member"), actor=secretary, reason="  ")
    assert no_reason.value.field == "reason"
    other = db.session.get(Account, tree["accounts"]["secretary2"])  # B2's secretary: not theirs
    with pytest.raises(activities.OrgLifeError) as outside:
        checkin.mark_by_hand(item, member(db, tree, "b1_member"), actor=other, reason="代签")
    assert outside.value.status == 404
    db.session.rollback()
    attendance, created = checkin.mark_by_hand(item, member(db, tree, "b1_member"), actor=secretary, reason="手机没电")
    db.session.commit()
    assert created and attendance.method.value == "hand" and attendance.marked_by_account_id == secretary.id
    # Then the code finds them present: one row, one payment.
    code, _ = checkin.current_code(item)
    assert checkin.check_in_with_code(item, member(db, tree, "b1_member"), code)[1] is False
    assert points.ledger_sum(tree["members"]["b1_member"], "all") == 5


def test_volunteer_service_records_hours_and_pays_per_hour_within_the_cap(db, tree, rules, now):
    from learning.orgs.models import Organisation

    b1 = db.session.get(Organisation, tree["orgs"]["B1"])
    secretary = db.session.get(Account, tree["accounts"]["secretary"])
    item = activities.create_activity(b1, actor=secretary, kind="volunteer_service", title="社区义诊",
                                      starts_at=now - timedelta(hours=3), ends_at=now - timedelta(minutes=30))
    db.session.commit()
    checkin.mark_by_hand(item, member(db, tree, "b1_member"), actor=secretary, reason="现场登记")
    checkin.mark_by_hand(item, member(db, tree, "g1_member"), actor=secretary, reason="现场登记", hours=1)
    db.session.commit()
    hours = dict(db.session.execute(select(Attendance.member_id, Attendance.hours)).all())
    assert hours == {tree["members"]["b1_member"]: 2.5, tree["members"]["g1_member"]: 1}
    # volunteer_service: 2 points an hour (2.5 h → 5), capped at 10 a month.
    assert points.ledger_sum(tree["members"]["b1_member"], "all") == 5
    assert points.ledger_sum(tree["members"]["g1_member"], "all") == 2


def test_typed_digits_find_the_members_open_activity(db, tree, meeting):
    item = db.session.get(Activity, meeting)
    code, _ = checkin.current_code(item)
    assert checkin.find_by_code(member(db, tree, "g1_member"), code).id == meeting
    assert checkin.find_by_code(member(db, tree, "b2_member"), code) is None  # not B2's activity


def test_leave_is_asked_decided_by_someone_else_and_the_member_is_told(db, tree, meeting):
    from learning.notifications.models import Notification

    item = db.session.get(Activity, meeting)
    m = member(db, tree, "b1_member")
    leave = activities.ask_leave(item, m, "出差")
    db.session.commit()
    secretary = db.session.get(Account, tree["accounts"]["secretary"])
    activities.decide_leave(leave, actor=secretary, approve=True)
    db.session.commit()
    assert leave.status.value == "approved"
    note = db.session.scalar(select(Notification).where(Notification.member_id == m.id))
    assert note.kind == "leave_decided" and note.params == {"approved": True, "activity_id": meeting}
    with pytest.raises(activities.OrgLifeError):
        activities.decide_leave(leave, actor=secretary, approve=False)  # decided already
    own = activities.ask_leave(item, member(db, tree, "b1_secretary"), "开会冲突")
    with pytest.raises(activities.OrgLifeError):
        activities.decide_leave(own, actor=secretary, approve=True)  # nobody decides their own
