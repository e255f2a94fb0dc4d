"""Courses as files: ``content/courses/<slug>/course.yaml`` and one Markdown file per lesson.

``course.yaml``::

    title: 学习党章               # required
    summary: ...
    category: 党的理论
    tags: [党章, 基础]
    credit_hours: 1              # required, > 0
    credit: required             # required | elective (必修 | 选修)
    audience: [full, probationary]   # optional: member statuses it is meant for
    quiz: null                   # optional: the slug of its end-of-course quiz
    published: true
    lessons: [01-intro.md, 02-history.md]   # optional order; otherwise by file name

A lesson file starts with YAML front matter between ``---`` lines: ``title`` (required), ``kind``
(text | video | audio), ``media`` (a file beside the lesson, or an http(s) URL), ``duration_seconds``
(required for media, except WAV files, which are measured), ``min_minutes`` or ``min_seconds``.

Importing is idempotent: a course whose files hash the same as last time is not touched; an
edited course is updated in place (lesson rows keep their ids, so progress stays); a lesson file
that disappeared is retired, not deleted.  A course with any error imports nothing, and the error
names the file, the line and the field.
"""
from __future__ import annotations

import hashlib
import io
import shutil
import wave
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import yaml
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from learning.courses.models import Course, CreditKind, Lesson, LessonKind
from learning.db import utcnow
from learning.extensions import db
from learning.orgs.models import MemberStatus

COURSE_FIELDS = {"title", "summary", "category", "tags", "credit_hours", "credit", "audience", "quiz", "published", "lessons"}
LESSON_FIELDS = {"title", "kind", "media", "duration_seconds", "min_minutes", "min_seconds"}
CREDIT_WORDS = {"required": CreditKind.REQUIRED, "elective": CreditKind.ELECTIVE,
                "必修": CreditKind.REQUIRED, "选修": CreditKind.ELECTIVE}
MEDIA_SUFFIXES = {".mp3": "audio", ".m4a": "audio", ".wav": "audio", ".ogg": "audio", ".oga": "audio",
                  ".mp4": "video", ".webm": "video"}
MAX_MEDIA_BYTES = 200 * 1024 * 1024


def media_matches(suffix: str, data: bytes) -> bool:
    """Whether the file's first bytes are what its name says (an HTML page named .mp3 is not audio)."""
    head = data[:16]
    suffix = suffix.lower()
    if suffix == ".mp3":
        return head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0)
    if suffix in (".m4a", ".mp4"):
        return head[4:8] == b"ftyp"
    if suffix == ".wav":
        return head[:4] == b"RIFF" and head[8:12] == b"WAVE"
    if suffix in (".ogg", ".oga"):
        return head.startswith(b"OggS")
    if suffix == ".webm":
        return head.startswith(b"\x1a\x45\xdf\xa3")
    return False
CHARS_PER_MINUTE = 300  # reading speed used when a text lesson names no minimum


@dataclass
class ContentError(Exception):
    file: str
    line: int
    field: str | None
    message: str  # lazily translated: rendered in the reader's language

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"  # lazy: the reader's language


@dataclass
class LessonSpec:
    slug: str
    title: str
    kind: LessonKind
    body: str
    media_file: Path | None
    media_url: str | None
    media_seconds: int | None
    min_seconds: int
    digest: str


@dataclass
class CourseSpec:
    slug: str
    title: str
    summary: str
    category: str
    tags: list[str]
    credit_hours: Decimal
    credit_kind: CreditKind
    audience: list[str]
    quiz: str | None
    published: bool
    lessons: list[LessonSpec]
    digest: str


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    retired_lessons: list[str] = field(default_factory=list)
    errors: list[ContentError] = field(default_factory=list)


# -- rules shared with the admin editor --------------------------------------------------------
def wav_seconds(data: bytes) -> int:
    """A WAV file's length, measured rather than trusted; ValueError if it cannot be read."""
    try:
        with wave.open(io.BytesIO(data)) as sound:
            return max(1, round(sound.getnframes() / sound.getframerate()))
    except (wave.Error, EOFError) as exc:
        raise ValueError("not a readable WAV file") from exc


def default_min_seconds(kind: LessonKind, media_seconds: int | None, body: str) -> int:
    """Nine tenths of the media, or the text's reading time (at least a minute)."""
    if kind.is_media:
        return max(1, int(media_seconds * 0.9))
    return max(60, int(len(body or "") / CHARS_PER_MINUTE * 60))


def min_seconds_fits(kind: LessonKind, media_seconds: int | None, min_seconds: int) -> bool:
    return not kind.is_media or min_seconds <= media_seconds * 1.1


# -- reading ----------------------------------------------------------------------------------
def _yaml_with_lines(text: str, file: str, first_line: int = 1) -> tuple[dict, dict[str, int]]:
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = (mark.line if mark else 0) + first_line
        raise ContentError(file, line, None, _l("not valid YAML (%(problem)s)", problem=getattr(exc, "problem", exc))) from None
    if data is None:
        data, node = {}, None
    if not isinstance(data, dict):
        raise ContentError(file, first_line, None, _l("expected a mapping of field: value"))
    lines = {}
    if node is not None:
        for key, _value in node.value:
            lines[str(key.value)] = key.start_mark.line + first_line
    return data, lines


def _text(data, lines, file, name, *, required=False, max_length=200) -> str:
    value = data.get(name)
    line = lines.get(name, 1)
    if value is None or value == "":
        if required:
            raise ContentError(file, line, name, _l("is required"))
        return ""
    if not isinstance(value, (str, int, float)):
        raise ContentError(file, line, name, _l("expected text"))
    value = str(value).strip()
    if len(value) > max_length:
        raise ContentError(file, line, name, _l("is longer than %(n)d characters", n=max_length))
    return value


def _unknown(data, lines, file, allowed):
    for key in data:
        if key not in allowed:
            raise ContentError(file, lines.get(str(key), 1), str(key), _l("unknown field (expected one of %(fields)s)", fields=", ".join(sorted(allowed))))


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()


def read_lesson(path: Path, rel: str) -> LessonSpec:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ContentError(rel, 1, None, _l("is not UTF-8 text")) from None
    lines_all = text.splitlines()
    if not lines_all or lines_all[0].strip() != "---":
        raise ContentError(rel, 1, None, _l("expected front matter starting with a '---' line"))
    try:
        end = next(i for i in range(1, len(lines_all)) if lines_all[i].strip() == "---")
    except StopIteration:
        raise ContentError(rel, 1, None, _l("the front matter has no closing '---' line")) from None
    data, lines = _yaml_with_lines("\n".join(lines_all[1:end]), rel, first_line=2)
    body = "\n".join(lines_all[end + 1:]).strip() + "\n"
    _unknown(data, lines, rel, LESSON_FIELDS)
    title = _text(data, lines, rel, "title", required=True)
    kind_text = _text(data, lines, rel, "kind") or "text"
    try:
        kind = LessonKind(kind_text)
    except ValueError:
        raise ContentError(rel, lines.get("kind", 1), "kind", _l("\"%(kind)s\" is not text, video or audio", kind=kind_text)) from None
    media_file = media_url = None
    media_seconds = None
    media_bytes = b""
    if kind.is_media:
        media = _text(data, lines, rel, "media", required=True, max_length=300)
        if media.startswith(("http://", "https://")):
            media_url = media
        else:
            media_file = (path.parent / media).resolve()
            if path.parent.resolve() not in media_file.parents or not media_file.is_file():
                raise ContentError(rel, lines["media"], "media", _l("no file \"%(name)s\" beside the lesson", name=media))
            if media_file.suffix.lower() not in MEDIA_SUFFIXES:
                raise ContentError(rel, lines["media"], "media", _l("%(suffix)s is not one of %(suffixes)s", suffix=media_file.suffix, suffixes=", ".join(MEDIA_SUFFIXES)))
            if media_file.stat().st_size > MAX_MEDIA_BYTES:
                raise ContentError(rel, lines["media"], "media", _l("is larger than 200 MB"))
            media_bytes = media_file.read_bytes()
            if not media_matches(media_file.suffix, media_bytes):
                raise ContentError(rel, lines["media"], "media", _l("is not a %(kind)s file", kind=media_file.suffix[1:].upper()))
            if media_file.suffix.lower() == ".wav":
                try:
                    media_seconds = wav_seconds(media_bytes)
                except ValueError:
                    raise ContentError(rel, lines["media"], "media", _l("is not a readable WAV file")) from None
        if "duration_seconds" in data:
            value = data["duration_seconds"]
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 6 * 3600:
                raise ContentError(rel, lines["duration_seconds"], "duration_seconds", _l("expected whole seconds between 1 and 21600"))
            media_seconds = media_seconds or value
        if media_seconds is None:
            raise ContentError(rel, 1, "duration_seconds", _l("is required for a media lesson (except WAV files)"))
    elif "media" in data:
        raise ContentError(rel, lines["media"], "media", _l("only video and audio lessons have media"))
    if "min_seconds" in data or "min_minutes" in data:
        name = "min_seconds" if "min_seconds" in data else "min_minutes"
        value = data[name]
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
            raise ContentError(rel, lines[name], name, _l("expected a positive number"))
        min_seconds = int(value * (60 if name == "min_minutes" else 1))
    else:
        min_seconds = default_min_seconds(kind, media_seconds, body)
    if not min_seconds_fits(kind, media_seconds, min_seconds):
        raise ContentError(rel, lines.get("min_seconds", lines.get("min_minutes", 1)), "min_seconds",
                           _l("is longer than the media can be studied for"))
    return LessonSpec(path.stem, title, kind, body, media_file, media_url, media_seconds, min_seconds,
                      _digest(raw, media_bytes))


def read_course(folder: Path) -> CourseSpec:
    rel = str((folder / "course.yaml").relative_to(folder.parent.parent))  # courses/<slug>/course.yaml
    raw = (folder / "course.yaml").read_bytes()
    data, lines = _yaml_with_lines(raw.decode("utf-8-sig", errors="replace"), rel)
    _unknown(data, lines, rel, COURSE_FIELDS)
    title = _text(data, lines, rel, "title", required=True)
    try:
        hours = Decimal(str(data.get("credit_hours")))
    except InvalidOperation:
        hours = None
    if "credit_hours" not in data:
        raise ContentError(rel, 1, "credit_hours", _l("is required"))
    if hours is None or not hours.is_finite() or hours <= 0 or hours > 100:
        raise ContentError(rel, lines["credit_hours"], "credit_hours", _l("expected a number of hours above 0, at most 100"))
    credit_word = _text(data, lines, rel, "credit", required=True)
    if credit_word not in CREDIT_WORDS:
        raise ContentError(rel, lines["credit"], "credit", _l("\"%(word)s\" is not required or elective (必修 or 选修)", word=credit_word))
    tags = data.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ContentError(rel, lines.get("tags", 1), "tags", _l("expected a list of words"))
    audience = data.get("audience") or []
    statuses = {s.value for s in MemberStatus}
    if not isinstance(audience, list) or not set(audience) <= statuses:
        raise ContentError(rel, lines.get("audience", 1), "audience", _l("expected a list of %(statuses)s", statuses=", ".join(sorted(statuses))))
    published = data.get("published", True)
    if not isinstance(published, bool):
        raise ContentError(rel, lines["published"], "published", _l("expected true or false"))
    order = data.get("lessons")
    files = sorted(p for p in folder.glob("*.md") if p.name.lower() != "readme.md")
    if order is not None:
        if not isinstance(order, list) or not all(isinstance(n, str) for n in order):
            raise ContentError(rel, lines["lessons"], "lessons", _l("expected a list of lesson file names"))
        named = {p.name: p for p in files}
        missing = [n for n in order if n not in named]
        if missing:
            raise ContentError(rel, lines["lessons"], "lessons", _l("no lesson file \"%(name)s\"", name=missing[0]))
        files = [named[n] for n in order]
    if not files:
        raise ContentError(rel, 1, "lessons", _l("a course needs at least one lesson file (*.md)"))
    lessons = [read_lesson(p, str(Path(rel).parent / p.name)) for p in files]
    quiz = _text(data, lines, rel, "quiz", max_length=80) or None
    return CourseSpec(folder.name, title, _text(data, lines, rel, "summary", max_length=2000),
                      _text(data, lines, rel, "category", max_length=50), [t.strip() for t in tags], hours,
                      CREDIT_WORDS[credit_word], audience, quiz, published, lessons,
                      _digest(raw, *(lesson.digest.encode() for lesson in lessons)))


# -- writing ----------------------------------------------------------------------------------
def media_folder() -> Path:
    folder = Path(current_app.config.get("MEDIA_DIR") or Path(current_app.instance_path) / "media")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def store_media(source: Path | bytes, suffix: str) -> str:
    """Media are stored by content hash, so re-importing or re-uploading a file is free."""
    data = source if isinstance(source, bytes) else source.read_bytes()
    name = hashlib.sha256(data).hexdigest()[:32] + suffix.lower()
    target = media_folder() / name
    if not target.exists():
        if isinstance(source, bytes):
            target.write_bytes(data)
        else:
            shutil.copyfile(source, target)
    return name


def apply_course(spec: CourseSpec, report: ImportReport) -> None:
    course = db.session.scalar(select(Course).where(Course.slug == spec.slug))
    if course is not None and course.content_hash == spec.digest:
        report.unchanged.append(spec.slug)
        return
    created = course is None
    if created:
        course = Course(slug=spec.slug, source="file")
        db.session.add(course)
    course.title, course.summary, course.category, course.tags = spec.title, spec.summary, spec.category, spec.tags
    course.credit_hours, course.credit_kind, course.audience = spec.credit_hours, spec.credit_kind, spec.audience
    course.quiz_slug, course.published, course.content_hash = spec.quiz, spec.published, spec.digest
    db.session.flush()
    existing = {lesson.slug: lesson for lesson in course.lessons}
    for position, item in enumerate(spec.lessons):
        lesson = existing.pop(item.slug, None)
        if lesson is None:
            lesson = Lesson(course_id=course.id, slug=item.slug)
            db.session.add(lesson)
        lesson.retired_at = None
        lesson.position = position
        if lesson.content_hash != item.digest:
            lesson.title, lesson.kind, lesson.body = item.title, item.kind, item.body
            lesson.media = store_media(item.media_file, item.media_file.suffix) if item.media_file else item.media_url
            lesson.media_seconds, lesson.min_seconds, lesson.content_hash = item.media_seconds, item.min_seconds, item.digest
    for lesson in existing.values():
        if lesson.retired_at is None:
            lesson.retired_at = utcnow()
            report.retired_lessons.append(f"{spec.slug}/{lesson.slug}")
    db.session.flush()
    db.session.expire(course, ["lessons"])
    (report.created if created else report.updated).append(spec.slug)


def import_courses(root: str | Path) -> ImportReport:
    """Import every course folder under ``root`` (or ``root`` itself if it holds course.yaml)."""
    root = Path(root).resolve()
    if not root.exists():
        raise FileNotFoundError(root)
    folders = [root] if (root / "course.yaml").exists() else sorted(p for p in root.iterdir() if (p / "course.yaml").exists())
    report = ImportReport()
    for folder in folders:
        try:
            spec = read_course(folder)
        except ContentError as exc:
            report.errors.append(exc)
            continue
        with db.session.begin_nested():
            apply_course(spec, report)
    db.session.commit()
    return report
