"""Courses over HTTP: the mobile API, the member's pages, and the compliance report worked by hand."""
import io
from datetime import datetime, timezone
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy import select

from learning.courses import services
from learning.courses.models import Course, CourseCompletion, CreditKind
from learning.orgs import services as orgs
from learning.orgs.models import Member, Organisation
from tests.api.test_api import token_for
from tests.conftest import login
from tests.factories import PASSWORD

from .test_study import BEAT


def bearer(client, username="member"):
    return {"Authorization": f"Bearer {token_for(client, username)}"}


def course_id(db, slug):
    return db.session.scalar(select(Course.id).where(Course.slug == slug))


def test_api_catalogue_session_heartbeats_and_hours(client, db, tree, courses, clock):
    headers = bearer(client)
    listing = client.get("/api/v1/courses?show=required", headers=headers)
    assert listing.status_code == 200
    titles = {item["slug"]: item for item in listing.get_json()["items"]}
    assert set(titles) == {"party-constitution", "organisational-life", "party-discipline"}
    assert titles["party-discipline"]["credit_hours"] == 1.0 and titles["party-discipline"]["state"] == "new"

    detail = client.get(f"/api/v1/courses/{course_id(db, 'party-discipline')}", headers=headers).get_json()
    first = detail["lessons"][0]
    started = client.post(f"/api/v1/lessons/{first['id']}/sessions", headers=headers)
    assert started.status_code == 201 and "<h2>" in started.get_json()["body_html"]
    token = started.get_json()["token"]

    clock.advance(BEAT)
    own_duration = client.post(f"/api/v1/study-sessions/{token}/heartbeats", json={"seq": 1, "duration": 7200},
                               headers=headers)
    assert own_duration.status_code == 422 and own_duration.content_type == "application/problem+json"
    ok = client.post(f"/api/v1/study-sessions/{token}/heartbeats", json={"seq": 1}, headers=headers)
    assert ok.status_code == 200 and ok.get_json()["credited"] == BEAT
    clock.advance(2)
    fast = client.post(f"/api/v1/study-sessions/{token}/heartbeats", json={"seq": 2}, headers=headers)
    assert fast.status_code == 429 and fast.get_json()["code"] == "too_fast"
    replay = client.post(f"/api/v1/study-sessions/{token}/heartbeats", json={"seq": 1}, headers=headers)
    assert replay.status_code == 409 and replay.get_json()["code"] == "replayed"
    other = client.post(f"/api/v1/study-sessions/{token}/heartbeats", json={"seq": 3}, headers=bearer(client, "secretary"))
    assert other.status_code == 404

    hours = client.get("/api/v1/me/hours", headers=headers).get_json()
    from learning.points.periods import current_quarter

    assert hours == {"period": current_quarter(), "required": 0.0, "elective": 0.0, "quota_required": 8.0,
                     "quota_elective": 3.0, "quota_period": "quarter"}  # numbers, as documented
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/study-sessions/{token}/heartbeats" in spec["paths"] and "/api/v1/me/hours" in spec["paths"]


def test_member_pages_render_and_certificates_are_private(client, db, tree, courses, app, time_machine):
    time_machine.move_to(datetime(2026, 11, 20, 2, tzinfo=timezone.utc))  # the catalogue shows 2026Q4's hours
    member = db.session.get(Member, tree["members"]["b1_member"])
    course = db.session.scalar(select(Course).where(Course.slug == "volunteer-service"))
    moment = datetime(2026, 11, 3, 2, 0, tzinfo=timezone.utc)
    for lesson in course.live_lessons:
        from learning.courses.models import LessonProgress

        db.session.add(LessonProgress(member_id=member.id, lesson_id=lesson.id, seconds=lesson.min_seconds,
                                      completed_at=moment))
    db.session.flush()
    assert services.complete_course_if_done(member, course, moment)
    db.session.commit()
    number = db.session.scalar(select(CourseCompletion.certificate_no))

    login(client, "member", PASSWORD)
    catalogue = client.get("/courses/").get_data(as_text=True)
    assert "学习党章" in catalogue and "0.5 / 3 学时" in catalogue
    assert "党员志愿服务与社区共建" in client.get("/courses/?show=done").get_data(as_text=True)
    assert "学习党章" not in client.get("/courses/?show=done").get_data(as_text=True)
    record = client.get("/courses/record").get_data(as_text=True)
    assert number in record
    certificate = client.get(f"/courses/certificates/{number}").get_data(as_text=True)
    assert "王党员" in certificate and "学习结业证书" in certificate
    lesson = course.live_lessons[0]
    page = client.get(f"/courses/lessons/{lesson.id}").get_data(as_text=True)
    assert "参与志愿服务的方式" in page and 'id="study-progress"' in page

    outsider = app.test_client()
    login(outsider, "secretary2", PASSWORD)  # secretary of another branch
    assert outsider.get(f"/courses/certificates/{number}").status_code == 404


def complete(db, member, slug, when, kind=None):
    course = db.session.scalar(select(Course).where(Course.slug == slug))
    db.session.add(CourseCompletion(
        member_id=member.id, course_id=course.id, organisation_id=member.organisation_id, completed_at=when,
        credit_hours=course.credit_hours, credit_kind=kind or course.credit_kind, quarter_key="2026Q4", year_key="2026",
        certificate_no=f"T-{member.id}-{course.id}"))


def test_the_branch_report_matches_hours_worked_by_hand_with_a_mid_period_transfer(client, db, tree, courses):
    """B1 in 2026Q4, quota 8 required + 3 elective (the default):

    李书记  party-constitution 2 + organisational-life 1 + party-discipline 1 required = 4; park-history 1 elective → behind
    王党员  nothing → behind
    钱二支  transferred from B2 to B1 on 15 Nov; before it completed party-constitution 2 required and 2 electives
            (park-history 1, data-security 1), after it organisational-life 1 → 3 required, 2 elective, behind
    赵小组  (G1, under B1) party-discipline 1 required, volunteer 0.5 + park 1 elective → behind
    Then a quota of 1 required + 1.5 elective is set on B1 (the whole subtree): 钱二支 and 赵小组 are on track,
    李书记 is still short of 0.5 elective.
    """
    m = {key: db.session.get(Member, tree["members"][key]) for key in ("b1_secretary", "b1_member", "b2_member", "g1_member")}
    early, late = datetime(2026, 10, 20, 2, tzinfo=timezone.utc), datetime(2026, 11, 20, 2, tzinfo=timezone.utc)
    for slug in ("party-constitution", "organisational-life", "party-discipline", "park-party-history"):
        complete(db, m["b1_secretary"], slug, early)
    for slug in ("party-constitution", "park-party-history", "data-security-basics"):
        complete(db, m["b2_member"], slug, early)
    db.session.flush()
    orgs.transfer_member(m["b2_member"], db.session.get(Organisation, tree["orgs"]["B1"]))
    complete(db, m["b2_member"], "organisational-life", late)
    for slug in ("party-discipline", "volunteer-service", "park-party-history"):
        complete(db, m["g1_member"], slug, late)
    db.session.commit()

    report = services.subtree_compliance(db.session.get(Organisation, tree["orgs"]["B1"]), "2026Q4")
    got = {line.member.name: (line.hours.required, line.hours.elective, line.compliant) for line in report.lines}
    assert got == {
        "李书记": (Decimal(4), Decimal(1), False), "王党员": (Decimal(0), Decimal(0), False),
        "钱二支": (Decimal(3), Decimal(2), False), "赵小组": (Decimal(1), Decimal("1.5"), False),
    }
    services.set_quota(db.session.get(Organisation, tree["orgs"]["B1"]), "quarter", Decimal(1), Decimal("1.5"))
    db.session.commit()
    report = services.subtree_compliance(db.session.get(Organisation, tree["orgs"]["B1"]), "2026Q4")
    on_track = sorted(line.member.name for line in report.lines if line.compliant)
    assert on_track == ["赵小组", "钱二支"] and report.rate == 0.5
    short = {line.member.name: (line.behind_required, line.behind_elective) for line in report.lines}
    assert short["李书记"] == (Decimal(0), Decimal("0.5"))
    # B2 no longer lists the member who left it; the year view sums the same completions.
    b2 = services.subtree_compliance(db.session.get(Organisation, tree["orgs"]["B2"]), "2026Q4")
    assert [line.member.name for line in b2.lines] == ["孙书记"]
    yearly = services.subtree_compliance(db.session.get(Organisation, tree["orgs"]["B1"]), "2026")
    assert {line.member.name: line.behind_required for line in yearly.lines}["李书记"] == Decimal(0)

    login(client, "secretary", PASSWORD)
    html = client.get(f"/admin/study?org={tree['orgs']['B1']}&period=2026Q4").get_data(as_text=True)
    assert 'id="rate">50%' in html and "王党员" in html
    xlsx = client.get(f"/admin/study.xlsx?org={tree['orgs']['B1']}&period=2026Q4")
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    rows = {r[1]: r for r in sheet.iter_rows(min_row=3, values_only=True) if r[1] and r[0] != "合计"}
    assert rows["钱二支"][4:9] == (3, 1, 2, 1.5, "达标") and rows["王党员"][8] == "未达标"
    assert client.get(f"/admin/study?org={tree['orgs']['BX']}&period=2026Q4").status_code == 404


def test_an_assignment_makes_an_elective_course_required_for_the_subtree(db, tree, courses):
    member = db.session.get(Member, tree["members"]["g1_member"])
    course = db.session.scalar(select(Course).where(Course.slug == "data-security-basics"))
    day = datetime(2026, 11, 10).date()
    assert services.credit_kind_for(member, course, day) == CreditKind.ELECTIVE
    services.assign_required(course, db.session.get(Organisation, tree["orgs"]["GB"]), "2026Q4")
    assert services.credit_kind_for(member, course, day) == CreditKind.REQUIRED
    assert services.credit_kind_for(member, course, datetime(2027, 1, 5).date()) == CreditKind.ELECTIVE


def test_an_org_admin_sets_a_yearly_quota_for_the_subtree_and_a_secretary_cannot(client, db, tree, courses, app):
    url = f"/admin/study?org={tree['orgs']['GB']}&period=2026"
    from tests.conftest import csrf_token

    login(client, "orgadmin", PASSWORD)
    token = csrf_token(client, url)
    bad = client.post(url, data={"csrf_token": token, "period_kind": "year", "required_hours": "-1", "elective_hours": "4"})
    assert bad.status_code == 200 and 'class="error"' in bad.get_data(as_text=True)
    client.post(url, data={"csrf_token": token, "period_kind": "year", "required_hours": "32", "elective_hours": "12"})
    quota = services.quota_for(db.session.get(Organisation, tree["orgs"]["G1"]))
    assert (quota.period_kind, quota.required, quota.elective, quota.set_by) == ("year", 32, 12, tree["orgs"]["GB"])
    html = client.get(url).get_data(as_text=True)
    assert "每年 32 必修 + 12 选修学时" in html and "（设于本组织）" in html

    secretary = app.test_client()
    login(secretary, "secretary", PASSWORD)
    b1 = f"/admin/study?org={tree['orgs']['B1']}&period=2026"
    page = secretary.get(b1).get_data(as_text=True)
    assert "（沿用上级组织的设置）" in page and "保存本组织及下级的学时要求" not in page
    refused = secretary.post(b1, data={"csrf_token": csrf_token(secretary, b1), "period_kind": "quarter",
                                       "required_hours": "1", "elective_hours": "0"})
    assert refused.status_code == 404
    assert services.quota_for(db.session.get(Organisation, tree["orgs"]["B1"])).required == 32


def test_the_study_hours_list_pages_and_filters_who_is_behind(client, db, tree):
    from learning.orgs.models import Organisation
    from learning.orgs.services import create_member

    branch = db.session.get(Organisation, tree["orgs"]["B2"])
    for n in range(23):
        create_member(f"成员{n:02d}", branch)
    db.session.commit()  # B2: 钱二支, 孙书记 and 23 more = 25 members, all behind (no hours yet)
    login(client, "orgadmin", PASSWORD)
    first = client.get(f"/admin/study?org={tree['orgs']['B2']}&period=2026Q4").get_data(as_text=True)
    rows = first.split('id="compliance"')[1].split("</table>")[0].count("<tr data-member=")
    assert rows == 20 and "第 1 页，共 2 页" in first
    assert "全部（25 人）" in first and "学时未达标（25 人）" in first
    second = client.get(f"/admin/study?org={tree['orgs']['B2']}&period=2026Q4&page=2").get_data(as_text=True)
    assert second.split('id="compliance"')[1].split("</table>")[0].count("<tr data-member=") == 5
    assert first.count("成员00") + second.count("成员00") == 1  # each member once, not twice
    behind = client.get(f"/admin/study?org={tree['orgs']['B2']}&period=2026Q4&show=behind").get_data(as_text=True)
    assert behind.split('id="compliance"')[1].split("</table>")[0].count("<tr data-member=") == 20


def test_the_shipped_video_lesson_plays_from_this_server(client, db, tree, courses):
    """The demo's video lesson (volunteer-service): a WebM of 20 seconds, served here (no CDN)."""
    import re

    from learning.courses.models import Lesson, LessonKind

    lesson = db.session.scalar(select(Lesson).where(Lesson.slug == "02-how-to-register"))
    assert lesson.kind == LessonKind.VIDEO and lesson.media_seconds == 20 and lesson.min_seconds == 18  # nine tenths
    login(client, "member", PASSWORD)
    html = client.get(f"/courses/lessons/{lesson.id}").get_data(as_text=True)
    src = re.search(r'<video id="player" controls preload="metadata" src="([^"]+)"', html).group(1)
    assert src.startswith("/courses/media/")
    media = client.get(src)
    assert media.status_code == 200 and media.mimetype == "video/webm" and media.data[:4] == b"\x1a\x45\xdf\xa3"


def test_completion_counts_take_a_city_of_member_ids(db, tree, courses):
    """A city's 学时 page asks about 220,000 members: past PostgreSQL's 65,535 parameters in one IN list it was a
    500; the ids go 5,000 at a time and the counts add up."""
    when = datetime(2026, 11, 2, 2, tzinfo=timezone.utc)
    members = [db.session.get(Member, tree["members"][k]) for k in ("b1_member", "g1_member", "b2_member")]
    for member in members:
        complete(db, member, "party-discipline", when)
    complete(db, members[0], "volunteer-service", when)
    db.session.commit()
    ids = list(range(10_000_000, 10_070_000)) + [m.id for m in members]  # 70,003 ids, the real ones last
    counts = services.course_completion_counts(ids, "2026Q4")
    by_slug = {db.session.get(Course, course_id).slug: n for course_id, n in counts.items()}
    assert by_slug == {"party-discipline": 3, "volunteer-service": 1}
    assert services.course_completion_counts([], "2026Q4") == {}
