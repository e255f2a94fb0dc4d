"""A page of the appraisal graded from counts in SQL, and the Excel file's streamed rows, equal the
whole appraisal graded in Python (``appraise``), live and closed, for every scope, period and page
size; the city page reads neither every member nor their hours."""
import random
from collections import Counter
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa

from learning.courses.models import Course, CourseCompletion, CreditKind
from learning.courses.services import set_quota
from learning.orglife.models import VolunteerSource
from learning.orglife.volunteer import record
from learning.orgs.models import Member
from learning.points import appraisal_pages
from learning.points.appraisal import Grade, appraise
from learning.points.snapshots import close_period
from tests.conftest import login
from tests.courses.conftest import courses  # noqa: F401  (the shipped courses)
from tests.factories import PASSWORD
from tests.points.test_ranking_pages import city  # noqa: F401  (forty members with ties, zeros and deductions)


@pytest.fixture
def studied(db, city, courses):  # noqa: F811
    """Hours for about half of the members, in two quarters and with a quota of its own on one branch,
    so that the gate excludes some of the best; volunteer service for a few."""
    rng = random.Random(11)
    set_quota(city["B2"], "quarter", Decimal(2), Decimal(1))
    course_ids = db.session.scalars(sa.select(Course.id).order_by(Course.id)).all()
    members = db.session.scalars(sa.select(Member).order_by(Member.id)).all()
    for member in members:
        if rng.random() < 0.4:
            continue
        for n, course_id in enumerate(rng.sample(course_ids, rng.randint(1, min(5, len(course_ids))))):
            quarter = rng.choice(["2026Q3", "2026Q3", "2026Q4"])  # a course is completed once
            db.session.add(CourseCompletion(
                member_id=member.id, course_id=course_id, organisation_id=member.organisation_id,
                completed_at=datetime(2026, 9 if quarter == "2026Q3" else 11, 3, 2, tzinfo=timezone.utc),
                credit_hours=Decimal(rng.choice(["0.5", "1", "2", "3"])),
                credit_kind=rng.choice([CreditKind.REQUIRED, CreditKind.REQUIRED, CreditKind.ELECTIVE]),
                quarter_key=quarter, year_key="2026", certificate_no=f"P-{member.id}-{n}"))
        if rng.random() < 0.3:
            record(member, Decimal(rng.choice(["1.5", "4"])), date(2026, 8, 2), VolunteerSource.REGISTRY,
                   f"vs-{member.id}")
    db.session.commit()
    return city


def _same(org, key):
    whole = appraise(org, key)
    found = appraisal_pages.figures(org, key)
    assert found.appraised.total == len(whole)
    assert found.counts == dict(Counter(r.grade for r in whole))
    assert list(appraisal_pages.each_row(org, key, batch=3)) == whole
    for per_page in (1, 4, 7):
        for page in range(1, len(whole) // per_page + 3):
            got = appraisal_pages.page_rows(org, key, found, page=page, per_page=per_page)
            assert got == whole[(page - 1) * per_page: page * per_page], (org.name, key, per_page, page)
    return whole


@pytest.mark.parametrize("key", ["2026Q3", "2026-09", "2026", "all"])
def test_every_page_and_the_file_equal_the_whole_appraisal(db, studied, key):
    graded = Counter()
    for org_key in ("C", "GB", "B1", "B2", "OTHER"):
        whole = _same(studied[org_key], key)
        graded.update(r.grade for r in whole)
        graded.update(("eligible", r.eligible) for r in whole)
    if key in ("2026Q3", "2026-09"):  # the fixture reaches every case the grading has (a year's quota is four times)
        assert graded[Grade.EXCELLENT] and graded[Grade.QUALIFIED] and graded[Grade.UNQUALIFIED] and graded[None]
        assert graded[("eligible", True)] and graded[("eligible", False)]


def test_a_closed_period_equals_the_whole_appraisal_from_its_snapshot(db, studied):
    close_period("2026Q3")
    for org_key in ("C", "B2"):
        whole = _same(studied[org_key], "2026Q3")
        assert whole and all(r.hours is not None for r in whole)


def test_without_study_hours_nobody_is_excluded(db, studied, monkeypatch):
    from learning.points import appraisal

    monkeypatch.setattr(appraisal, "_hours_provider", None)
    whole = _same(studied["C"], "2026Q3")
    assert {r.eligible for r in whole} == {None} and any(r.grade is Grade.EXCELLENT for r in whole)


def test_the_page_reads_the_same_statements_however_many_members(app, client, db, studied, monkeypatch):
    """No statement of the city page grows with the subtree: the counts are one GROUP BY, the rows and
    their hours are the page's.  Sixty members more leave every statement's parameters as they were."""
    from learning.orgs.services import create_member

    monkeypatch.setitem(app.config, "PAGE_SIZE", 5)
    login(client, "reviewer", PASSWORD)

    def shape():
        statements = []

        def count(conn, cursor, statement, parameters, context, executemany):
            statements.append(len(parameters))

        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            html = client.get(f"/admin/points/appraisal?org={studied['C'].id}&period=2026Q3").get_data(as_text=True)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
        assert html.split('id="appraisal"')[1].split("</table>")[0].count('<tr><td class="num">') == 5
        return sorted(statements)

    before = shape()
    for n in range(60):
        create_member(f"新党员{n:02d}", studied["B1"])
    db.session.commit()
    assert shape() == before
