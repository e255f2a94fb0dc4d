"""Courses as files: the shipped content, idempotent re-import, edits that keep progress, errors
that name file, line and field."""
import shutil

import pytest
from sqlalchemy import func, select

from learning.courses.content import import_courses
from learning.courses.models import Course, Lesson, LessonProgress
from learning.orgs.models import Member

from .conftest import CONTENT


def counts(db):
    return tuple(db.session.scalar(select(func.count()).select_from(m)) for m in (Course, Lesson))


def test_the_shipped_courses_import_and_reimport_is_a_no_op(db, courses):
    assert len(courses.created) == 6
    course = db.session.scalar(select(Course).where(Course.slug == "party-constitution"))
    assert course.title.startswith("学习党章") and course.credit_kind.value == "required"
    audio = [lesson for lesson in course.lessons if lesson.kind.value == "audio"][0]
    assert audio.media_seconds == 12 and audio.min_seconds == 10
    before = counts(db), {c.slug: c.updated_at for c in db.session.scalars(select(Course))}
    again = import_courses(CONTENT)
    assert again.unchanged and not again.created and not again.updated and not again.errors
    assert (counts(db), {c.slug: c.updated_at for c in db.session.scalars(select(Course))}) == before


def copy_course(tmp_path, slug="party-discipline"):
    target = tmp_path / "courses" / slug
    shutil.copytree(CONTENT / slug, target)
    return target


def test_an_edit_updates_in_place_and_keeps_progress_and_a_removed_lesson_is_retired(db, tree, rules, tmp_path, app):
    app.config["MEDIA_DIR"] = str(tmp_path / "media")
    folder = copy_course(tmp_path)
    import_courses(folder.parent)
    lesson = db.session.scalar(select(Lesson).where(Lesson.slug == "01-six-disciplines"))
    member = db.session.get(Member, tree["members"]["b1_member"])
    db.session.add(LessonProgress(member_id=member.id, lesson_id=lesson.id, seconds=90))
    db.session.commit()

    text = (folder / "01-six-disciplines.md").read_text(encoding="utf-8").replace("六项纪律\n", "六项纪律（修订）\n", 1)
    (folder / "01-six-disciplines.md").write_text(text, encoding="utf-8")
    (folder / "02-red-lines.md").unlink()
    report = import_courses(folder.parent)
    assert report.updated == ["party-discipline"] and report.retired_lessons == ["party-discipline/02-red-lines"]
    db.session.expire_all()
    same = db.session.scalar(select(Lesson).where(Lesson.slug == "01-six-disciplines"))
    assert same.id == lesson.id and same.title == "六项纪律（修订）"
    assert db.session.scalar(select(LessonProgress.seconds).where(LessonProgress.lesson_id == lesson.id)) == 90
    retired = db.session.scalar(select(Lesson).where(Lesson.slug == "02-red-lines"))
    assert retired is not None and retired.retired_at is not None


@pytest.mark.parametrize("edit, where", [
    (lambda f: f.write_text("title: 纪律\ncredit_hours: 1\ncredit: sometimes\n", encoding="utf-8"),
     "course.yaml:3: credit: “sometimes”不是 required 或 elective（必修或选修）"),
    (lambda f: f.write_text("title: 纪律\ncredit: required\n", encoding="utf-8"),
     "course.yaml:1: credit_hours: 必须填写"),
    (lambda f: f.write_text("title: 纪律\ncredit_hours: -2\ncredit: required\n", encoding="utf-8"),
     "course.yaml:2: credit_hours: 应为大于 0、不超过 100 的学时数"),
    (lambda f: f.write_text("title: 纪律\ncredit_hours: 1\ncredit: required\ncredits: 3\n", encoding="utf-8"),
     "course.yaml:4: credits: 未知字段（应为 audience, category, credit, credit_hours, lessons, published, quiz, summary, tags, title 之一）"),
    (lambda f: f.write_text("title: [纪律\ncredit_hours: 1\n", encoding="utf-8"),
     "course.yaml:2: 不是有效的 YAML（"),
])
def test_a_malformed_course_yaml_is_rejected_naming_file_line_and_field(db, tree, tmp_path, app, edit, where):
    app.config["MEDIA_DIR"] = str(tmp_path / "media")
    folder = copy_course(tmp_path)
    edit(folder / "course.yaml")
    report = import_courses(folder.parent)
    assert len(report.errors) == 1
    assert str(report.errors[0]).endswith(where) or where in str(report.errors[0]), str(report.errors[0])
    assert "party-discipline" in report.errors[0].file
    assert counts(db) == (0, 0)


def test_a_bad_lesson_rejects_its_whole_course_and_names_the_lesson(db, tree, tmp_path, app):
    app.config["MEDIA_DIR"] = str(tmp_path / "media")
    folder = copy_course(tmp_path)
    good = copy_course(tmp_path, "volunteer-service")
    (folder / "02-red-lines.md").write_text("---\ntitle: 红线\nkind: video\n---\n正文\n", encoding="utf-8")
    report = import_courses(folder.parent)
    assert [str(e) for e in report.errors] == ["courses/party-discipline/02-red-lines.md:1: media: 必须填写"]
    assert report.created == [good.name]
    assert db.session.scalar(select(Course.slug)) == "volunteer-service"


def test_cli_imports_and_fails_on_errors(runner, db, tree, tmp_path, app):
    app.config["MEDIA_DIR"] = str(tmp_path / "media")
    first = runner.invoke(args=["content", "import", str(CONTENT)])
    assert first.exit_code == 0 and "课程：新建 6 门" in first.output
    assert "未变 6 门" in runner.invoke(args=["content", "import", str(CONTENT)]).output
    folder = copy_course(tmp_path)
    (folder / "course.yaml").write_text("title: x\n", encoding="utf-8")
    failed = runner.invoke(args=["content", "import", str(folder.parent)])
    assert failed.exit_code == 1 and "错误：" in failed.output and "credit_hours: 必须填写" in failed.output
