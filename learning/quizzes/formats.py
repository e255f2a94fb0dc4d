"""Question file formats: Moodle's GIFT (``gift``) and Aiken, and our own YAML; ``parse_file``
chooses by the file's name.  The question they all produce, its checks and ``FormatError`` are in
``parsed``.  A file with any error imports nothing: parsers collect every error and the caller
decides.
"""
from __future__ import annotations

import re

import yaml
from flask_babel import lazy_gettext as _l

from learning.quizzes.gift import export_gift, parse_gift
from learning.quizzes.models import QuestionKind
from learning.quizzes.parsed import FormatError, ParsedQuestion, ParseResult, check_question

__all__ = ["FormatError", "ParsedQuestion", "ParseResult", "check_question", "export_gift", "parse_aiken",
           "parse_file", "parse_gift", "parse_yaml"]


# --- Aiken ----------------------------------------------------------------------------------

AIKEN_OPTION = re.compile(r"^([A-Z])[.)]\s+(.*)$")
AIKEN_ANSWER = re.compile(r"^ANSWER:\s*([A-Z])\s*$")


def parse_aiken(text: str) -> ParseResult:
    """Moodle's Aiken format: a question on one line, options ``A.``/``A)``, then ``ANSWER: X``."""
    questions: list[ParsedQuestion] = []
    errors: list[FormatError] = []
    stem, stem_line, options = None, 0, []

    def fail(line: int, message: str):
        nonlocal stem, options
        errors.append(FormatError(line, message))
        stem, options = None, []

    for number, raw in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), start=1):
        line = raw.lstrip("\ufeff").strip()
        if not line:
            continue
        answer = AIKEN_ANSWER.match(line)
        option = AIKEN_OPTION.match(line)
        if stem is None:
            if answer or option:
                fail(number, _l("expected a question line before the options and the ANSWER line"))
                continue
            stem, stem_line, options = line, number, []
        elif answer:
            letters = [letter for letter, _ in options]
            if len(options) < 2:
                fail(number, _l("a question needs at least two options (A. … B. …) before its ANSWER line"))
                continue
            if answer.group(1) not in letters:
                fail(number, _l("ANSWER: %(letter)s names no option; the options are %(letters)s", letter=answer.group(1), letters=", ".join(letters)))
                continue
            question = ParsedQuestion(
                kind=QuestionKind.SINGLE, stem=stem, line=stem_line,
                answers=[{"text": t, "weight": 100.0 if letter == answer.group(1) else 0.0, "feedback": ""}
                         for letter, t in options])
            problem = check_question(question)
            if problem:
                fail(stem_line, problem)
                continue
            questions.append(question)
            stem, options = None, []
        elif option:
            expected = chr(ord("A") + len(options))
            if option.group(1) != expected:
                fail(number, _l("expected option %(expected)s, found %(found)s", expected=expected, found=option.group(1)))
                continue
            options.append((option.group(1), option.group(2).strip()))
        elif options:
            fail(number, _l("expected the next option (B. …) or the ANSWER: line; a question must be on one line"))
        else:
            fail(number, _l("expected options A. B. … after the question; a question must be on one line"))
    if stem is not None:
        errors.append(FormatError(stem_line, _l("this question has no ANSWER: line")))
    return ParseResult(questions, errors)


# --- YAML (ours) ----------------------------------------------------------------------------

YAML_KINDS = {"single": QuestionKind.SINGLE, "multiple": QuestionKind.MULTIPLE,
              "true_false": QuestionKind.TRUE_FALSE, "fill_blank": QuestionKind.FILL_BLANK}
YAML_FIELDS = {"id", "type", "question", "after", "options", "answer", "answers", "explanation", "category", "tags",
               "difficulty"}


class _LineLoader(yaml.SafeLoader):
    """Keeps each mapping's line so that an error can point at its question."""


def _construct_mapping(loader, node, deep=False):
    mapping = yaml.SafeLoader.construct_mapping(loader, node, deep=deep)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def parse_yaml(text: str) -> tuple[dict, ParseResult]:
    """Our own format: a bank's ``title``/``description`` and a list of ``questions``.

    ``answer`` is an option letter (single), a list of letters (multiple), true/false, or the
    accepted texts (fill-in, also ``answers``).  Returns the bank's fields and the questions.
    """
    try:
        data = yaml.load(text, Loader=_LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return {}, ParseResult([], [FormatError(mark.line + 1 if mark else 1, _l("not valid YAML: %(problem)s", problem=getattr(exc, 'problem', exc)))])
    if not isinstance(data, dict) or not isinstance(data.get("questions"), list):
        return {}, ParseResult([], [FormatError(1, _l("expected a mapping with a list of questions under 'questions:'"))])
    bank = {"title": str(data.get("title") or "").strip(), "description": str(data.get("description") or "").strip()}
    default_category = str(data.get("category") or "").strip()
    questions, errors = [], []
    for item in data["questions"]:
        line = item.get("__line__", 1) if isinstance(item, dict) else 1
        try:
            question = _yaml_question(item, line, default_category)
            problem = check_question(question)
            if problem:
                raise FormatError(line, problem)
            questions.append(question)
        except FormatError as exc:
            errors.append(exc)
    return bank, ParseResult(questions, errors)


def _yaml_question(item, line: int, default_category: str) -> ParsedQuestion:
    if not isinstance(item, dict):
        raise FormatError(line, _l("each question is a mapping with type, question and answer"))
    unknown = set(item) - YAML_FIELDS - {"__line__"}
    if unknown:
        raise FormatError(line, _l("unknown field %(field)s; expected %(fields)s", field=repr(sorted(unknown)[0]), fields=", ".join(sorted(YAML_FIELDS))))
    kind = YAML_KINDS.get(str(item.get("type", "")))
    if kind is None:
        raise FormatError(line, _l("type: %(kind)s is not one of %(kinds)s", kind=repr(item.get('type')), kinds=", ".join(YAML_KINDS)))
    stem = str(item.get("question") or "").strip()
    tags = item.get("tags") or []
    if not isinstance(tags, list):
        raise FormatError(line, _l("tags: expected a list"))
    try:
        difficulty = int(item.get("difficulty", 2))
    except (TypeError, ValueError):
        raise FormatError(line, _l("difficulty: expected 1, 2 or 3")) from None
    answer = item.get("answer", item.get("answers"))
    if kind is QuestionKind.TRUE_FALSE:
        if not isinstance(answer, bool):
            raise FormatError(line, _l("answer: a true/false question's answer is true or false"))
        answers = [{"text": "true", "weight": 100.0 if answer else 0.0, "feedback": ""},
                   {"text": "false", "weight": 0.0 if answer else 100.0, "feedback": ""}]
    elif kind is QuestionKind.FILL_BLANK:
        accepted = answer if isinstance(answer, list) else [answer]
        if not all(isinstance(a, (str, int, float)) and not isinstance(a, bool) for a in accepted) or answer is None:
            raise FormatError(line, _l("answer: a fill-in question lists the accepted texts"))
        answers = [{"text": str(a).strip(), "weight": 100.0, "feedback": ""} for a in accepted]
    else:
        options = item.get("options")
        if not isinstance(options, list) or not all(isinstance(o, (str, int, float)) for o in options):
            raise FormatError(line, _l("options: expected a list of option texts"))
        letters = [chr(ord("A") + i) for i in range(len(options))]
        chosen = answer if isinstance(answer, list) else [answer]
        chosen = [str(c).strip().upper() for c in chosen if c is not None]
        if not chosen or any(c not in letters for c in chosen):
            raise FormatError(line, _l("answer: expected option letters among %(letters)s", letters=", ".join(letters)))
        if kind is QuestionKind.SINGLE and len(chosen) != 1:
            raise FormatError(line, _l("answer: a single-choice question has one right option"))
        if kind is QuestionKind.MULTIPLE and len(chosen) < 2:
            raise FormatError(line, _l("answer: a multiple-choice question has at least two right options"))
        share = round(100 / len(chosen), 5)
        # Any wrong option chosen cancels the question, as 多选题 are marked ("错选不得分").
        answers = [{"text": str(o).strip(), "weight": (100.0 if kind is QuestionKind.SINGLE else share)
                    if letter in chosen else (0.0 if kind is QuestionKind.SINGLE else -100.0), "feedback": ""}
                   for letter, o in zip(letters, options)]
    return ParsedQuestion(
        kind=kind, stem=stem, stem_after=str(item.get("after") or "").strip(), answers=answers, line=line,
        title=str(item.get("id") or "").strip(), explanation=str(item.get("explanation") or "").strip(),
        category=str(item.get("category") or default_category).strip(), tags=[str(t).strip() for t in tags],
        difficulty=difficulty)


def parse_file(name: str, text: str) -> tuple[dict, ParseResult]:
    """Choose the parser by the file's name: .gift, .yaml/.yml, anything else Aiken (.txt)."""
    lower = name.lower()
    if lower.endswith((".yaml", ".yml")):
        return parse_yaml(text)
    if lower.endswith(".gift") or lower.endswith(".gift.txt"):
        return {}, parse_gift(text)
    return {}, parse_aiken(text)
