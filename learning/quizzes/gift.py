"""Moodle's GIFT format: parsing and export.

Written here because the Python GIFT parsers that exist are AGPL, which we cannot ship.  The GIFT
subset is the one for our four types: multiple choice (``=right ~wrong``, ``~%50%`` weights),
true/false (``{T}``, ``{FALSE#wrong feedback#right feedback}``), short answer (all answers ``=``) as
fill-in, and the "missing word" form (answers in the middle of the sentence).  Comments (``//``),
titles (``::title::``), ``$CATEGORY:``, per-answer feedback (``#``), general feedback (``####``),
``[markdown]``-style format tags and backslash escapes are understood.  Matching, numerical and
essay questions are refused with the line they are on.

Moodle writes tags and ids as comments (``// [tag:x] [id:y]``); we read ``[tag:…]`` and our own
``[difficulty:1-3]`` from the comment lines just above a question, so that a file stays valid GIFT.

A file with any error imports nothing: parsers collect every error and the caller decides.
"""
from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l

from learning.quizzes.models import QuestionKind
from learning.quizzes.parsed import FormatError, ParsedQuestion, ParseResult, check_question

GIFT_ESCAPES = {":": ":", "~": "~", "=": "=", "#": "#", "{": "{", "}": "}", "\\": "\\", "n": "\n"}


def _find(text: str, targets: str, start: int = 0) -> int:
    """Index of the first unescaped character of ``targets`` at or after ``start``, or -1."""
    i = start
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch in targets:
            return i
        i += 1
    return -1


def _find_seq(text: str, seq: str, start: int = 0) -> int:
    i = start
    while i <= len(text) - len(seq):
        if text[i] == "\\":
            i += 2
            continue
        if text.startswith(seq, i):
            return i
        i += 1
    return -1


def _unescape(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in GIFT_ESCAPES:
            out.append(GIFT_ESCAPES[text[i + 1]])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _clean(text: str) -> str:
    text = re.sub(r"^\s*\[(html|moodle|plain|markdown)\]", "", text)
    return _unescape(text).strip()


def _split_feedback(text: str) -> tuple[str, str]:
    cut = _find(text, "#")
    if cut < 0:
        return text, ""
    return text[:cut], text[cut + 1:]


def _weight(text: str, line: int) -> tuple[float | None, str]:
    match = re.match(r"\s*%(-?\d+(?:\.\d+)?)%", text)
    if not match:
        return None, text
    return float(match.group(1)), text[match.end():]


def _parse_answer_block(body: str, line: int) -> tuple[QuestionKind, list[dict], str]:
    """The inside of ``{…}``: the question's kind, its answers and its general feedback."""
    general = ""
    cut = _find_seq(body, "####")
    if cut >= 0:
        body, general = body[:cut], _clean(body[cut + 4:])
    stripped = body.strip()
    if not stripped:
        raise FormatError(line, _l("essay questions ({}) are not supported; expected answers such as {=right ~wrong}"))
    if stripped.startswith("#"):
        raise FormatError(line, _l("numerical questions ({#…}) are not supported"))
    tf = re.match(r"(TRUE|FALSE|T|F)\s*(?=#|$)", stripped, re.IGNORECASE)
    if tf:
        is_true = tf.group(1).upper().startswith("T")
        rest = stripped[tf.end():]
        parts = []
        while rest.startswith("#"):
            nxt = _find(rest, "#", 1)
            parts.append(_clean(rest[1:nxt] if nxt >= 0 else rest[1:]))
            rest = rest[nxt:] if nxt >= 0 else ""
        wrong, right = (parts + ["", ""])[:2]
        answers = [
            {"text": "true", "weight": 100.0 if is_true else 0.0, "feedback": right if is_true else wrong},
            {"text": "false", "weight": 0.0 if is_true else 100.0, "feedback": wrong if is_true else right},
        ]
        return QuestionKind.TRUE_FALSE, answers, general
    if stripped[0] not in "=~":
        raise FormatError(line, _l("expected an answer starting with = or ~, or T/F, found %(found)s", found=repr(stripped[:20])))
    items: list[tuple[str, str, int]] = []
    i = 0
    while i < len(stripped):
        mark = stripped[i]
        nxt = _find(stripped, "=~", i + 1)
        chunk = stripped[i + 1: nxt if nxt >= 0 else len(stripped)]
        items.append((mark, chunk, line + stripped[:i].count("\n")))
        i = nxt if nxt >= 0 else len(stripped)
    answers, marks = [], set()
    for mark, chunk, at in items:
        if _find_seq(chunk, "->") >= 0:
            raise FormatError(at, _l("matching questions (a -> b) are not supported"))
        weight, chunk = _weight(chunk, at)
        text, feedback = _split_feedback(chunk)
        if weight is None:
            weight = 100.0 if mark == "=" else 0.0
        answers.append({"text": _clean(text), "weight": weight, "feedback": _clean(feedback)})
        marks.add(mark)
    if marks == {"="}:
        kind = QuestionKind.FILL_BLANK
    else:
        # Moodle's rule: an "=" answer makes it single choice; only "~" answers (with weights), several.
        kind = QuestionKind.SINGLE if "=" in marks else QuestionKind.MULTIPLE
    return kind, answers, general


def parse_gift(text: str) -> ParseResult:
    questions: list[ParsedQuestion] = []
    errors: list[FormatError] = []
    category = ""
    block: list[tuple[int, str]] = []
    meta: dict = {"tags": [], "difficulty": None}

    def flush():
        nonlocal block, meta
        if block:
            try:
                question = _parse_gift_question(block, category, meta)
                problem = check_question(question)
                if problem:
                    raise FormatError(block[0][0], problem)
                questions.append(question)
            except FormatError as exc:
                errors.append(exc)
        block, meta = [], {"tags": [], "difficulty": None}

    for number, raw in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), start=1):
        line = raw.lstrip("\ufeff")
        stripped = line.strip()
        if stripped.startswith("//"):
            if not block:  # comments just above a question carry its tags
                meta["tags"] += re.findall(r"\[tag:([^\]]+)\]", stripped)
                level = re.search(r"\[difficulty:(\d)\]", stripped)
                if level:
                    meta["difficulty"] = int(level.group(1))
            continue
        if not stripped:
            flush()
            continue
        if stripped.startswith("$CATEGORY:") and not block:
            category = stripped[len("$CATEGORY:"):].strip()
            category = category.removeprefix("$course$/").removeprefix("$system$/").removeprefix("top/")
            continue
        block.append((number, line))
    flush()
    return ParseResult(questions, errors)


def _parse_gift_question(block: list[tuple[int, str]], category: str, meta: dict) -> ParsedQuestion:
    first = block[0][0]
    joined = "\n".join(line for _, line in block)

    def line_at(pos: int) -> int:
        return first + joined[:pos].count("\n")

    text = joined.strip()
    offset = len(joined) - len(joined.lstrip())
    title = ""
    if text.startswith("::"):
        end = _find_seq(text, "::", 2)
        if end < 0:
            raise FormatError(first, _l("the title starting with :: has no closing ::"))
        title = _unescape(text[2:end]).strip()
        offset += end + 2
        text = text[end + 2:]
    open_at = _find(text, "{")
    if open_at < 0:
        raise FormatError(first, _l("expected an answer block {…} in this question"))
    close_at = _find(text, "}", open_at + 1)
    if close_at < 0:
        raise FormatError(line_at(offset + open_at), _l("the answer block opened here has no closing }"))
    if _find(text, "{", close_at + 1) >= 0:
        raise FormatError(line_at(offset + close_at), _l("only one answer block {…} per question; leave a blank line between questions"))
    kind, answers, general = _parse_answer_block(text[open_at + 1:close_at], line_at(offset + open_at))
    before, after = _clean(text[:open_at]), _clean(text[close_at + 1:])
    if after and kind is QuestionKind.TRUE_FALSE:
        before, after = f"{before} {after}".strip(), ""
    question = ParsedQuestion(kind=kind, stem=before, stem_after=after, answers=answers, line=first, title=title,
                              explanation=general, category=category, tags=meta["tags"],
                              difficulty=meta["difficulty"] or 2)
    return question


def _escape(text: str) -> str:
    text = text.replace("\\", "\\\\")
    for ch in "~=#{}:":
        text = text.replace(ch, "\\" + ch)
    return text.replace("\n", "\\n")


def _weight_text(weight: float) -> str:
    return f"%{weight:g}%"


def export_gift(questions, bank_title: str = "") -> str:
    """GIFT for ``questions`` (models or parsed): what :func:`parse_gift` reads back the same."""
    out: list[str] = []
    if bank_title:
        out.append(f"// {bank_title}")
        out.append("")
    category = ""
    for q in questions:
        if q.category != category:
            category = q.category
            out.append(f"$CATEGORY: {category}")
            out.append("")
        kind = q.kind if isinstance(q.kind, QuestionKind) else QuestionKind(q.kind)
        comment = " ".join([f"[tag:{t}]" for t in q.tags or []] + [f"[difficulty:{q.difficulty}]"])
        out.append(f"// {comment}")
        title = getattr(q, "title", None) or getattr(q, "key", "")
        head = f"::{_escape(title)}::" if title else ""
        if kind is QuestionKind.TRUE_FALSE:
            right = next(a for a in q.answers if a["weight"] > 0)
            wrong = next(a for a in q.answers if a is not right)
            block = "TRUE" if right["text"] == "true" else "FALSE"
            if wrong.get("feedback") or right.get("feedback"):
                block += f"#{_escape(wrong.get('feedback', ''))}#{_escape(right.get('feedback', ''))}"
        else:
            parts = []
            for a in q.answers:
                w = a["weight"]
                if kind is QuestionKind.FILL_BLANK:
                    mark = "=" if w == 100 else f"={_weight_text(w)}"
                elif kind is QuestionKind.SINGLE and w == 100:
                    mark = "="
                elif w == 0:
                    mark = "~"
                else:
                    mark = f"~{_weight_text(w)}"
                feedback = f"#{_escape(a['feedback'])}" if a.get("feedback") else ""
                parts.append(f"\t{mark}{_escape(a['text'])}{feedback}")
            block = "\n" + "\n".join(parts) + "\n"
        if q.explanation:
            block += f"####{_escape(q.explanation)}"
        stem_after = f" {_escape(q.stem_after)}" if q.stem_after else ""
        out.append(f"{head}{_escape(q.stem)} {{{block}}}{stem_after}")
        out.append("")
    return "\n".join(out)
