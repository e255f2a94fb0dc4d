"""The course editor: a superadmin builds and publishes a course with an uploaded audio lesson; a
secretary makes a course required for their branch; bad input gets field errors and writes nothing."""
import io
import wave

from sqlalchemy import func, select

from learning.courses.models import Course, CourseAssignment, Lesson
from tests.conftest import csrf_token, login
from tests.factories import PASSWORD


def wav_bytes(seconds=3):
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(1)
        out.setframerate(8000)
        out.writeframes(bytes([128]) * 8000 * seconds)
    return buffer.getvalue()


def test_a_superadmin_builds_previews_uploads_and_publishes(client, db, tree, app, tmp_path):
    app.config["MEDIA_DIR"] = str(tmp_path / "media")
    login(client, "root", PASSWORD)
    token = csrf_token(client, "/admin/courses/new")
    bad = client.post("/admin/courses/new", data={"csrf_token": token, "title": "", "credit_hours": "0",
                                                   "credit_kind": "required"})
    assert bad.status_code == 200 and "请填写课程标题" in bad.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Course)) == 0
    early = client.post("/admin/courses/new", data={"csrf_token": token, "title": "安全生产中的党员责任",
                                                     "credit_hours": "1.5", "credit_kind": "elective", "published": "y"})
    assert "至少要有一个课时" in early.get_data(as_text=True)  # cannot publish an empty course
    created = client.post("/admin/courses/new", data={"csrf_token": token, "title": "安全生产中的党员责任",
                                                       "credit_hours": "1.5", "credit_kind": "elective", "tags": "安全，责任"})
    assert created.status_code == 302
    course = db.session.scalar(select(Course))
    assert course.tags == ["安全", "责任"] and not course.published and course.source == "admin"

    lesson_url = f"/admin/courses/{course.id}/lessons/new"
    token = csrf_token(client, lesson_url)
    preview = client.post(lesson_url, data={"csrf_token": token, "title": "责任", "kind": "text",
                                            "body": "## 三个责任\n<script>x</script>", "preview": "1"})
    html = preview.get_data(as_text=True)
    assert "<h2>三个责任</h2>" in html and "&lt;script&gt;" in html
    assert db.session.scalar(select(func.count()).select_from(Lesson)) == 0  # a preview saves nothing
    wrong_type = client.post(lesson_url, data={"csrf_token": token, "title": "录音", "kind": "audio",
                                               "media": (io.BytesIO(b"MZ..."), "talk.exe")},
                             content_type="multipart/form-data")
    assert ".mp3" in wrong_type.get_data(as_text=True)
    saved = client.post(lesson_url, data={"csrf_token": token, "title": "录音", "kind": "audio",
                                          "media": (io.BytesIO(wav_bytes()), "talk.wav")}, content_type="multipart/form-data")
    assert saved.status_code == 302
    audio = db.session.scalar(select(Lesson))
    assert audio.media_seconds == 3 and audio.min_seconds == 2 and (tmp_path / "media" / audio.media).exists()

    token = csrf_token(client, "/admin/courses/")
    client.post(f"/admin/courses/{course.id}/publish", data={"csrf_token": token, "published": "1"})
    db.session.expire_all()
    assert db.session.get(Course, course.id).published
    member = app.test_client()
    login(member, "member", PASSWORD)
    assert "安全生产中的党员责任" in member.get("/courses/").get_data(as_text=True)
    assert member.get("/admin/courses/new").status_code in (403, 404)


def test_a_secretary_makes_a_course_required_for_their_branch_only(client, db, tree, courses):
    course = db.session.scalar(select(Course).where(Course.slug == "data-security-basics"))
    login(client, "secretary", PASSWORD)
    page = client.get("/admin/courses/").get_data(as_text=True)
    assert "数据安全" in page and "新建课程" not in page  # secretaries assign, they do not edit
    token = csrf_token(client, "/admin/courses/")
    bad = client.post(f"/admin/courses/{course.id}/assign", data={"csrf_token": token, "organisation": tree["orgs"]["B1"],
                                                                  "period": "next quarter"}, follow_redirects=True)
    assert "2026Q4" in bad.get_data(as_text=True)
    client.post(f"/admin/courses/{course.id}/assign", data={"csrf_token": token, "organisation": tree["orgs"]["B1"],
                                                            "period": "2026Q4"})
    assert db.session.scalar(select(CourseAssignment.organisation_id)) == tree["orgs"]["B1"]
    outside = client.post(f"/admin/courses/{course.id}/assign", data={"csrf_token": token, "organisation": tree["orgs"]["BX"],
                                                                      "period": "2026Q4"})
    assert outside.status_code in (302, 404)
    assert db.session.scalar(select(func.count()).select_from(CourseAssignment)) == 1
