"""The appraisal's study-hours gate (评先评优): hours against the quota of the period, worked by hand."""
import io
from datetime import datetime, timezone
from decimal import Decimal

import sqlalchemy as sa
from openpyxl import load_workbook

from learning.accounts.models import Account
from learning.courses.models import Course, CourseCompletion, CreditKind
from learning.courses.services import set_quota
from learning.orgs.models import Organisation, OrgKind
from learning.orgs.services import create_member, create_organisation
from learning.points.appraisal import Grade, appraise, gate_period
from tests.conftest import login
from tests.courses.conftest import courses  # noqa: F401  (the shipped courses)
from tests.factories import PASSWORD, give_points


def _complete(db, member, course, hours, kind, quarter="2026Q4"):
    db.session.add(CourseCompletion(
        member_id=member.id, course_id=course.id, organisation_id=member.organisation_id,
        completed_at=datetime(2026, 11, 5, 2, tzinfo=timezone.utc), credit_hours=Decimal(hours), credit_kind=kind,
        quarter_key=quarter, year_key=quarter[:4], certificate_no=f"T-{member.id}-{course.id}"))


def _branch(db, tree, courses):  # noqa: ARG001 (the shipped courses must exist)
    """A branch of six full members with a quota of 2 required + 1 elective hours a quarter.

    points: 甲 30, 乙 20, 丙 10, 丁 5, 戊 3, 己 1.  Hours in 2026Q4:
      甲 none (the top scorer misses both quotas) · 乙 2 + 1 (complete) · 丙 2 required only
      丁 2 + 1 (complete) · 戊 and 己 none.
    优秀 allows 6 ÷ 3 = 2: not 甲 (not eligible), so 乙 and 丙? 丙 misses elective hours, so
    乙 and 丁 — the two best eligible members.
    """
    committee = db.session.get(Organisation, tree["orgs"]["C"])
    branch = create_organisation("学时支部", OrgKind.BRANCH, committee)
    set_quota(branch, "quarter", Decimal(2), Decimal(1))
    admin = db.session.get(Account, tree["accounts"]["superadmin"])
    people = {}
    for name, points in (("甲", 30), ("乙", 20), ("丙", 10), ("丁", 5), ("戊", 3), ("己", 1)):
        people[name] = create_member(name, branch)
        give_points(people[name], points, admin, occurred_at=datetime(2026, 11, 5, 2, tzinfo=timezone.utc))
    required = db.session.scalars(sa.select(Course).order_by(Course.id)).all()
    for name, parts in (("乙", [(2, CreditKind.REQUIRED), (1, CreditKind.ELECTIVE)]), ("丙", [(2, CreditKind.REQUIRED)]),
                        ("丁", [(1, CreditKind.REQUIRED), (1, CreditKind.REQUIRED), (1, CreditKind.ELECTIVE)])):
        for course, (hours, kind) in zip(required, parts):
            _complete(db, people[name], course, hours, kind)
    db.session.commit()
    return branch


def test_the_gate_decides_eligibility_and_who_may_be_excellent(db, tree, rules, courses, monkeypatch):
    branch = _branch(db, tree, courses)
    rows = {r.ranking.name: r for r in appraise(branch, "2026Q4")}
    assert {n: r.eligible for n, r in rows.items()} == {"甲": False, "乙": True, "丙": False, "丁": True,
                                                        "戊": False, "己": False}
    assert {n for n, r in rows.items() if r.grade is Grade.EXCELLENT} == {"乙", "丁"}
    assert rows["甲"].grade is Grade.QUALIFIED
    assert rows["丙"].reason == "2026Q4 的学时未完成：选修 0 / 1 学时"
    assert rows["甲"].reason == "2026Q4 的学时未完成：必修 0 / 2 学时；选修 0 / 1 学时"
    assert (rows["丁"].hours.required, rows["丁"].hours.need_required, rows["丁"].hours.elective) == (2, 2, 1)


def test_a_month_is_judged_by_its_quarter_and_a_year_by_its_year(app, db, tree, rules):
    with app.test_request_context():
        assert (gate_period("2026-11"), gate_period("2026Q4"), gate_period("2026")) == ("2026Q4", "2026Q4", "2026")


def test_the_page_the_xlsx_and_the_api_show_hours_quota_and_eligibility(client, db, tree, rules, courses):
    branch = _branch(db, tree, courses)
    login(client, "reviewer", PASSWORD)
    page = client.get(f"/admin/points/appraisal?org={branch.id}&period=2026Q4").get_data(as_text=True)
    assert "2026Q4 的学时未完成：必修 0 / 2 学时；选修 0 / 1 学时" in page and "2 / 2 · 1 / 1" in page
    xlsx = load_workbook(io.BytesIO(client.get(f"/admin/points/export?org={branch.id}&period=2026Q4&format=xlsx").data))
    sheet = xlsx["党员"]
    header = [c.value for c in sheet[4]]
    rows = {r[1]: dict(zip(header, r)) for r in sheet.iter_rows(min_row=5, values_only=True)}
    assert (rows["丙"]["必修学时"], rows["丙"]["必修要求"], rows["丙"]["选修学时"], rows["丙"]["评先评优资格"]) == (2, 2, 0, "否")
    assert rows["乙"]["建议等次"] == "优秀" and rows["甲"]["建议等次"] == "合格"
    token = client.post("/api/v1/auth/token", json={"username": "reviewer", "password": PASSWORD}).get_json()["token"]
    body = client.get(f"/api/v1/appraisal?org={branch.id}&period=2026Q4",
                      headers={"Authorization": f"Bearer {token}"}).get_json()
    items = {i["name"]: i for i in body["items"]}
    assert body["total"] == 6 and items["乙"]["grade"] == "excellent" and items["甲"]["eligible"] is False
    assert items["丁"]["hours"] == {"period": "2026Q4", "required": 2.0, "elective": 1.0, "quota_required": 2.0,
                                    "quota_elective": 1.0}
    outsider = client.post("/api/v1/auth/token", json={"username": "member", "password": PASSWORD}).get_json()["token"]
    assert client.get(f"/api/v1/appraisal?org={branch.id}",
                      headers={"Authorization": f"Bearer {outsider}"}).status_code == 404


def test_the_appraisal_page_pages_its_members_and_counts_them_all(client, db, tree, rules):
    import re

    branch = db.session.get(Organisation, tree["orgs"]["B2"])
    for n in range(23):
        create_member(f"成员{n:02d}", branch)
    db.session.commit()  # 25 members in B2
    login(client, "reviewer", PASSWORD)
    first = client.get(f"/admin/points/appraisal?org={branch.id}&period=2026Q4").get_data(as_text=True)
    second = client.get(f"/admin/points/appraisal?org={branch.id}&period=2026Q4&page=2").get_data(as_text=True)
    rows = lambda html: html.split('id="appraisal"')[1].split("</table>")[0].count("<tr><td class=\"num\">")  # noqa: E731
    assert (rows(first), rows(second)) == (20, 5) and "第 1 页，共 2 页" in first
    graded = sum(int(v) for v in re.findall(r'<div class="stat"><span class="stat-value">(\d+)</span>', first))
    assert graded == 25  # the grade counts are over all 25, not the page
