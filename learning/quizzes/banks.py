"""Question banks and quiz definitions: imports from files, export to GIFT, retiring questions.

Content lives in ``content/quizzes``: one file per bank under ``banks/`` (``.yaml`` ours,
``.gift`` Moodle's GIFT, ``.txt`` Aiken) and the quizzes in ``quizzes.yaml``.  An import is
all or nothing per file: a file with one error imports nothing and reports every error with its
line.  Re-importing is idempotent: questions are matched by their key within the bank and only
changed ones are written.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from flask_babel import gettext as _
from sqlalchemy import func, select

from learning.db import utcnow
from learning.extensions import db
from learning.quizzes.formats import FormatError, ParsedQuestion, export_gift, parse_file
from learning.quizzes.models import Grading, Question, QuestionBank, Quiz, QuizKind

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
BANK_SUFFIXES = (".yaml", ".yml", ".gift", ".txt")
QUIZ_FIELDS = {"slug", "title", "kind", "banks", "categories", "tags", "questions", "seconds_per_question",
               "pass_percent", "max_attempts", "grading"}


class BankError(ValueError):
    pass


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    retired: int = 0
    errors: list[str] = field(default_factory=list)
    banks: list[str] = field(default_factory=list)
    quizzes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def bank_by_slug(slug: str) -> QuestionBank | None:
    return db.session.scalar(select(QuestionBank).where(QuestionBank.slug == slug))


def create_bank(slug: str, title: str, description: str = "", source: str = "admin") -> QuestionBank:
    slug = (slug or "").strip().lower()
    if not SLUG.match(slug):
        raise BankError("slug")
    if bank_by_slug(slug) is not None:
        raise BankError("taken")
    bank = QuestionBank(slug=slug, title=title.strip()[:200], description=description.strip(), source=source)
    db.session.add(bank)
    db.session.flush()
    return bank


def set_contest_only(bank: QuestionBank, contest_only: bool) -> None:
    """Keep a bank for challenge campaigns only (the daily quiz and course quizzes stop drawing it)."""
    bank.contest_only = contest_only


def parse_upload(name: str, text: str) -> tuple[dict, list[ParsedQuestion], list[str]]:
    """Parse one file; errors are "name:line: message" strings, and duplicate keys are errors too."""
    meta, result = parse_file(name, text)
    errors = [f"{name}:{e.line}: {e.message}" for e in result.errors]
    seen: dict[str, int] = {}
    for q in result.questions:
        if q.key in seen:
            errors.append(f"{name}:{q.line}: " + _("the question id %(key)s is already used on line %(line)d",
                                                      key=repr(q.key), line=seen[q.key]))
        seen[q.key] = q.line
    return meta, result.questions, sorted(errors, key=lambda e: int(e.split(":")[1]) if e.split(":")[1].isdigit() else 0)


def apply_questions(bank: QuestionBank, parsed: list[ParsedQuestion], *, retire_missing: bool,
                    report: ImportReport) -> None:
    """Create or update ``parsed`` in ``bank`` by key; optionally retire the bank's others."""
    existing = {q.key: q for q in db.session.scalars(select(Question).where(Question.bank_id == bank.id))}
    for p in parsed:
        digest = p.fingerprint()
        question = existing.pop(p.key, None)
        if question is not None and question.content_hash == digest and question.retired_at is None:
            report.unchanged += 1
            continue
        if question is None:
            question = Question(bank_id=bank.id, key=p.key)
            db.session.add(question)
            report.created += 1
        else:
            report.updated += 1
        question.kind, question.stem, question.stem_after = p.kind, p.stem, p.stem_after
        question.answers = [dict(a) for a in p.answers]
        question.explanation, question.category, question.tags = p.explanation, p.category[:120], list(p.tags)
        question.difficulty, question.content_hash, question.retired_at = p.difficulty, digest, None
    if retire_missing:
        for question in existing.values():
            if question.retired_at is None:
                question.retired_at = utcnow()
                report.retired += 1
    db.session.flush()


def import_upload(bank: QuestionBank, name: str, data: bytes) -> ImportReport:
    """An administrator's upload into an existing bank: adds and updates, never retires."""
    report = ImportReport()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        report.errors.append(f"{name}:1: " + _("the file is not UTF-8 text"))
        return report
    _meta, parsed, errors = parse_upload(name, text)
    if errors:
        report.errors = errors
        return report
    if not parsed:
        report.errors.append(f"{name}:1: " + _("no questions found"))
        return report
    apply_questions(bank, parsed, retire_missing=False, report=report)
    bank.updated_at = utcnow()
    return report


def import_content(root: str | Path) -> ImportReport:
    """Import ``root/banks/*`` and ``root/quizzes.yaml``; a file with errors changes nothing of its own."""
    root = Path(root)
    report = ImportReport()
    folder = root / "banks"
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        if path.suffix.lower() not in BANK_SUFFIXES or path.name.startswith("."):
            continue
        slug = path.name.split(".")[0]
        rel = f"{root.name}/banks/{path.name}"
        text = path.read_text(encoding="utf-8-sig")
        meta, parsed, errors = parse_upload(rel, text)
        if not SLUG.match(slug):
            errors.insert(0, f"{rel}:1: " + _("the file name must be a slug (a-z, 0-9 and -)"))
        if errors:
            report.errors += errors
            continue
        title = meta.get("title") or _comment_title(text) or slug
        bank = bank_by_slug(slug) or create_bank(slug, title, meta.get("description", ""), source="file")
        bank.title, bank.description = title, meta.get("description", bank.description)
        bank.contest_only = bool(meta.get("contest_only", bank.contest_only))
        apply_questions(bank, parsed, retire_missing=True, report=report)
        report.banks.append(slug)
    quizzes_file = root / "quizzes.yaml"
    if quizzes_file.is_file():
        try:
            report.quizzes = import_quizzes(quizzes_file.read_text(encoding="utf-8"), f"{root.name}/quizzes.yaml")
        except FormatError as exc:
            report.errors.append(f"{root.name}/quizzes.yaml:{exc.line}: {exc.message}")
    return report


def _comment_title(text: str) -> str:
    """A GIFT or Aiken file may name its bank in a first comment line: ``// 题库：标题``."""
    first = text.lstrip().split("\n", 1)[0].strip()
    match = re.match(r"^//\s*(?:题库|bank)\s*[:：]\s*(.+)$", first, re.IGNORECASE)
    return match.group(1).strip() if match else ""


def import_quizzes(text: str, name: str = "quizzes.yaml") -> list[str]:
    """Create or update the quizzes defined in ``text``; all checked before any is written."""
    try:
        data = yaml.safe_load(text) or []
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise FormatError(mark.line + 1 if mark else 1, "not valid YAML") from None
    if not isinstance(data, list):
        raise FormatError(1, "expected a list of quizzes")
    specs = []
    lines = _item_lines(text)
    for index, item in enumerate(data):
        line = lines[index] if index < len(lines) else 1
        specs.append(_quiz_spec(item, line))
    slugs = []
    for spec in specs:
        quiz = db.session.scalar(select(Quiz).where(Quiz.slug == spec["slug"]))
        if quiz is None:
            quiz = Quiz(slug=spec["slug"], source="file")
            db.session.add(quiz)
        for key, value in spec.items():
            setattr(quiz, key, value)
        slugs.append(spec["slug"])
    db.session.flush()
    return slugs


def _item_lines(text: str) -> list[int]:
    return [number for number, line in enumerate(text.split("\n"), start=1) if line.startswith("- ")]


def _quiz_spec(item, line: int) -> dict:
    if not isinstance(item, dict):
        raise FormatError(line, "each quiz is a mapping")
    unknown = set(item) - QUIZ_FIELDS
    if unknown:
        raise FormatError(line, f"unknown field {sorted(unknown)[0]!r}")
    slug = str(item.get("slug") or "")
    if not SLUG.match(slug):
        raise FormatError(line, "slug: a-z, 0-9 and - only")
    try:
        kind = QuizKind(item.get("kind", "course"))
    except ValueError:
        raise FormatError(line, "kind: course or daily") from None
    if kind is QuizKind.LEVEL:
        raise FormatError(line, "kind: levels belong to challenge campaigns, which are made in the admin area")
    bank_ids = []
    for bank_slug in item.get("banks") or []:
        bank = bank_by_slug(str(bank_slug))
        if bank is None:
            raise FormatError(line, f"banks: no bank {bank_slug!r}")
        bank_ids.append(bank.id)
    if not bank_ids:
        raise FormatError(line, "banks: name at least one bank")
    numbers = {}
    for key, low, high, default in (("questions", 1, 100, 5), ("seconds_per_question", 5, 3600, 60),
                                    ("pass_percent", 0, 100, 60)):
        value = item.get(key, default)
        if not isinstance(value, int) or not low <= value <= high:
            raise FormatError(line, f"{key}: a whole number from {low} to {high}")
        numbers[key] = value
    max_attempts = item.get("max_attempts")
    if max_attempts is not None and (not isinstance(max_attempts, int) or max_attempts < 1):
        raise FormatError(line, "max_attempts: a positive whole number, or leave it out for no limit")
    try:
        grading = Grading(item.get("grading", "highest"))
    except ValueError:
        raise FormatError(line, "grading: highest or last") from None
    return dict(title=str(item.get("title") or slug)[:200], kind=kind, bank_ids=bank_ids,
                categories=[str(c) for c in item.get("categories") or []], tags=[str(t) for t in item.get("tags") or []],
                question_count=numbers["questions"], seconds_per_question=numbers["seconds_per_question"],
                pass_percent=numbers["pass_percent"], max_attempts=max_attempts, grading=grading, slug=slug)


def export_bank(bank: QuestionBank) -> str:
    questions = db.session.scalars(
        select(Question).where(Question.bank_id == bank.id, Question.retired_at.is_(None))
        .order_by(Question.category, Question.id)).all()
    return export_gift(questions, bank_title=f"题库：{bank.title}")


def retire_question(question: Question) -> None:
    if question.retired_at is None:
        question.retired_at = utcnow()


def restore_question(question: Question) -> None:
    question.retired_at = None


def bank_counts() -> dict[int, int]:
    return dict(db.session.execute(
        select(Question.bank_id, func.count()).where(Question.retired_at.is_(None)).group_by(Question.bank_id)).all())


def daily_quiz() -> Quiz | None:
    return db.session.scalar(select(Quiz).where(Quiz.kind == QuizKind.DAILY).order_by(Quiz.id))
