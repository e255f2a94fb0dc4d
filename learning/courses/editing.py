"""Courses made or changed in the admin area.  Shares the importer's rules (media types and size,
default minimum study times) so a course behaves the same whichever way it was made."""
from __future__ import annotations

import re
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import func, select

from learning.courses.content import (
    MAX_MEDIA_BYTES,
    MEDIA_SUFFIXES,
    default_min_seconds,
    media_matches,
    min_seconds_fits,
    store_media,
    wav_seconds,
)
from learning.courses.models import Course, CreditKind, Lesson, LessonKind
from learning.courses.services import CourseError
from learning.extensions import db


def _slug(title: str) -> str:
    ascii_part = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40]
    return ascii_part or "course"


def save_course(course: Course | None, *, title: str, summary: str, category: str, tags: str,
                credit_hours: Decimal, credit_kind: str, published: bool) -> Course:
    if course is None:
        base = _slug(title)
        taken = db.session.scalar(select(func.count()).select_from(Course).where(Course.slug.like(f"{base}%")))
        course = Course(slug=f"{base}-{taken + 1}" if taken else base, source="admin")
        db.session.add(course)
    course.title, course.summary, course.category = title.strip(), (summary or "").strip(), (category or "").strip()
    course.tags = [t.strip() for t in re.split(r"[,，、]", tags or "") if t.strip()]
    course.credit_hours, course.credit_kind = Decimal(credit_hours), CreditKind(credit_kind)
    if published and not course.live_lessons:
        raise CourseError(_("a course needs at least one lesson before it is published"))
    course.published = published
    db.session.flush()
    return course


def set_published(course: Course, published: bool) -> None:
    if published and not course.live_lessons:
        raise CourseError(_("a course needs at least one lesson before it is published"))
    course.published = published
    db.session.flush()


def save_lesson(course: Course, lesson: Lesson | None, *, title: str, kind: str, body: str,
                media_name: str | None = None, media_bytes: bytes | None = None, media_url: str | None = None,
                media_seconds: int | None = None, min_minutes: Decimal | None = None) -> Lesson:
    kind = LessonKind(kind)
    if lesson is None:
        position = len(course.lessons)
        lesson = Lesson(course_id=course.id, slug=f"lesson-{position + 1}", position=position)
        db.session.add(lesson)
    media = lesson.media if lesson.kind == kind else None
    if kind.is_media:
        if media_bytes:
            suffix = "." + (media_name or "").rsplit(".", 1)[-1].lower() if "." in (media_name or "") else ""
            if suffix not in MEDIA_SUFFIXES:
                raise CourseError(_("A media file is one of %(types)s.", types=", ".join(MEDIA_SUFFIXES)))
            if len(media_bytes) > MAX_MEDIA_BYTES:
                raise CourseError(_("the media file is larger than 200 MB"))
            if not media_matches(suffix, media_bytes):
                raise CourseError(_("The file is not a %(type)s file, whatever its name says.", type=suffix[1:].upper()))
            if suffix == ".wav":
                try:
                    media_seconds = wav_seconds(media_bytes)
                except ValueError:
                    raise CourseError(_("the WAV file cannot be read")) from None
            media = store_media(media_bytes, suffix)
        elif media_url:
            media = media_url
        if not media:
            raise CourseError(_("an audio or video lesson needs a media file or address"))
        media_seconds = media_seconds or (lesson.media_seconds if lesson.kind == kind else None)
        if not media_seconds:
            raise CourseError(_("give the media length in seconds"))
    else:
        media, media_seconds = None, None
    min_seconds = int(Decimal(min_minutes) * 60) if min_minutes else default_min_seconds(kind, media_seconds, body)
    if not min_seconds_fits(kind, media_seconds, min_seconds):
        raise CourseError(_("the minimum study time is longer than the media"))
    lesson.title, lesson.kind, lesson.body = title.strip(), kind, body or ""
    lesson.media, lesson.media_seconds, lesson.min_seconds = media, media_seconds, min_seconds
    lesson.retired_at = None
    lesson.content_hash = None  # edited here: no longer the file's version
    db.session.flush()
    db.session.expire(course, ["lessons"])
    return lesson


def retire_lesson(lesson: Lesson) -> None:
    from learning.db import utcnow

    lesson.retired_at = utcnow()
    db.session.flush()
