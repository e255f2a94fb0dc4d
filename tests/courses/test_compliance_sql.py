"""The 学时 report in SQL (courses.compliance) equals the report computed member by member in Python
(services.compliance): every line, the counts per branch and per course, for every organisation,
quarter and year, with quotas set above, on and below the organisation, per quarter and per year."""
import random
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from learning.courses import compliance, services
from learning.courses.models import Course, CourseCompletion, CreditKind
from learning.orgs.models import Member, MemberStatus, Organisation
from learning.orgs.services import create_member, deactivate_member, transfer_member


@pytest.fixture
def studied(db, tree, courses):
    rng = random.Random(11)
    orgs = {k: db.session.get(Organisation, v) for k, v in tree["orgs"].items()}
    people = [create_member(f"学员{i:02d}", orgs[rng.choice(["B1", "G1", "B2", "B3", "BX"])],
                            rng.choice([MemberStatus.FULL, MemberStatus.PROBATIONARY])) for i in range(36)]
    db.session.flush()
    everyone = people + list(db.session.scalars(select(Member).where(Member.id.in_(tree["members"].values()))))
    catalogue = list(db.session.scalars(select(Course).order_by(Course.id)))
    for member in everyone:
        for course in rng.sample(catalogue, rng.randint(0, len(catalogue))):
            quarter = rng.choice(["2026Q3", "2026Q4"])
            db.session.add(CourseCompletion(
                member_id=member.id, course_id=course.id, organisation_id=member.organisation_id,
                completed_at=datetime(2026, 8 if quarter == "2026Q3" else 11, 5, tzinfo=timezone.utc),
                credit_hours=course.credit_hours, credit_kind=rng.choice([CreditKind.REQUIRED, CreditKind.ELECTIVE]),
                quarter_key=quarter, year_key="2026", certificate_no=f"T-{member.id}-{course.id}"))
    transfer_member(people[0], orgs["B3"])
    deactivate_member(people[1])
    services.set_quota(orgs["C"], "year", Decimal("30"), Decimal("10"))
    services.set_quota(orgs["B1"], "quarter", Decimal("2.5"), Decimal("1.25"))
    services.set_quota(orgs["G1"], "quarter", Decimal("1"), Decimal("0"))
    services.set_quota(orgs["B2"], "year", Decimal("3"), Decimal("1"))
    db.session.commit()
    return orgs


def plain(line):
    return (line.member.id, line.hours.required, line.hours.elective, line.need_required, line.need_elective,
            line.behind_required, line.behind_elective, line.compliant, line.quota.set_by)


def sql(line):
    return (line.member_id, line.got_required, line.got_elective, line.need_required, line.need_elective,
            line.behind_required, line.behind_elective, line.compliant, line.set_by)


@pytest.mark.parametrize("period_key", ["2026Q4", "2026Q3", "2026"])
def test_the_sql_report_equals_the_report_member_by_member(db, studied, period_key):
    for key, org in studied.items():
        report = services.subtree_compliance(org, period_key)
        expected = sorted((plain(line) for line in report.lines), key=lambda r: r[0])
        got = list(compliance.each_line(org, period_key, batch=7))
        assert sorted(sql(line) for line in got) == expected, key
        assert [line.member_id for line in got] == [line.member.id for line in sorted(
            report.lines, key=lambda line: (line.member.organisation.path, line.member.name, line.member.id))]
        behind = [line.member_id for line in compliance.each_line(org, period_key, behind_only=True)]
        assert sorted(behind) == sorted(line.member.id for line in report.behind)
        pages = [compliance.page(org, period_key, behind_only=False, number=n, size=5) for n in range(1, 12)]
        assert [line for p in pages for line in p] == got
        summary = compliance.summary(org, period_key)
        assert (summary.members, summary.on_track, summary.behind) == (
            len(report.lines), report.compliant_count, len(report.behind))
        assert summary.branches == services.compliance_by_branch(org, report)
        ids = [line.member.id for line in report.lines]
        assert compliance.course_counts(org, period_key) == services.course_completion_counts(ids, period_key)
    mixed = {sql(line)[7] for line in compliance.each_line(studied["C"], period_key)}
    assert mixed == {True, False}  # both kinds of line are compared


@pytest.mark.parametrize("period_key", ["2026Q4", "2026"])
def test_the_reminders_the_database_inserts_are_the_ones_read_member_by_member(db, studied, period_key):
    """On PostgreSQL the reminders are one INSERT … SELECT per top organisation; the same members
    with the same parameters as the batches read in Python (and on SQLite the batches are what runs)."""
    from learning.courses import reminders
    from learning.notifications.models import Notification

    expected = {}
    for batch in reminders.behind_batches(period_key, reminders.LAST_WEEK):
        expected.update(batch)
    assert expected and any(p["behind_required"] != "0" and "." in p["behind_required"] for p in expected.values()) \
        or period_key == "2026"
    day = {"2026Q4": datetime(2026, 12, 25).date(), "2026": datetime(2026, 12, 25).date()}[period_key]
    report = reminders.remind_behind(day)
    key = f"hours:{period_key}:{reminders.LAST_WEEK}"
    stored = {n.member_id: n.params for n in db.session.scalars(select(Notification).where(Notification.key == key))}
    assert stored == expected
    assert f"{period_key}:{reminders.LAST_WEEK}" in report.due
    # quarter and year reminders of that day together
    assert report.notified == db.session.scalar(select(func.count()).select_from(Notification))
    again = reminders.remind_behind(day)
    assert again.notified == 0 and again.behind == report.behind
