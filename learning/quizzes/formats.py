"""Question file formats: Moodle's GIFT and Aiken, and our own YAML; export to GIFT.

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

import hashlib
import re
from dataclasses import dataclass, field

import yaml
from flask_babel import lazy_gettext as _l

from learning.quizzes.models import QuestionKind

GIFT_ESCAPES = {":": ":", "~": "~", "=": "=", "#": "#", "{": "{", "}": "}", "\\": "\\", "n": "\n"}
BLANK = "____"


class FormatError(Exception):
    """One problem in an imported file, with the line it is on."""

    def __init__(self, line: int, message: str):
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


@dataclass
class ParsedQuestion:
    kind: QuestionKind
    stem: str
    answers: list[dict]
    line: int
    title: str = ""
    stem_after: str = ""
    explanation: str = ""
    category: str = ""
    tags: list[str] = field(default_factory=list)
    difficulty: int = 2

    @property
    def key(self) -> str:
        """The question's identity within its bank: its title, else a digest of its text."""
        if self.title:
            return self.title[:120]
        digest = hashlib.sha1(f"{self.kind.value}\n{self.stem}\n{self.stem_after}".encode()).hexdigest()
        return f"q-{digest[:16]}"

    def fingerprint(self) -> str:
        parts = [self.kind.value, self.stem, self.stem_after, self.explanation, self.category,
                 ",".join(self.tags), str(self.difficulty), self.key]
        parts += [f"{a['text']}|{a['weight']:g}|{a.get('feedback', '')}" for a in self.answers]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()


@dataclass
class ParseResult:
    questions: list[ParsedQuestion]
    errors: list[FormatError]


def check_question(q: ParsedQuestion) -> str | None:
    """What is wrong with a parsed question, whatever file it came from (None: nothing)."""
    if not q.stem.strip() and not q.stem_after.strip():
        return _l("the question has no text")
    if len(q.stem) > 4000:
        return _l("the question text is longer than 4000 characters")
    if q.difficulty not in (1, 2, 3):
        return _l("difficulty must be 1, 2 or 3")
    texts = [a["text"] for a in q.answers]
    if any(not t.strip() for t in texts):
        return _l("an answer is empty")
    positive = [a for a in q.answers if a["weight"] > 0]
    if q.kind is QuestionKind.FILL_BLANK:
        if not positive:
            return _l("a fill-in question needs at least one accepted answer")
    elif q.kind is QuestionKind.TRUE_FALSE:
        if sorted(texts) != ["false", "true"] or len(positive) != 1:
            return _l("a true/false question is either true or false")
    else:
        if len(q.answers) < 2:
            return _l("a choice question needs at least two options")
        if len(q.answers) > 10:
            return _l("a choice question has at most ten options")
        if len(set(texts)) != len(texts):
            return _l("two options have the same text")
        if not positive:
            return _l("no option is marked right")
        if q.kind is QuestionKind.SINGLE and not any(a["weight"] >= 100 for a in q.answers):
            return _l("a single-choice question needs one option worth the full mark")
        if q.kind is QuestionKind.MULTIPLE and abs(sum(a["weight"] for a in positive) - 100) > 0.5:
            return _l("the weights of the right options must add up to one hundred per cent")
    if any(not -100 <= a["weight"] <= 100 for a in q.answers):
        return _l("weights lie between minus and plus one hundred per cent")
    return None


# --- GIFT -----------------------------------------------------------------------------------

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
