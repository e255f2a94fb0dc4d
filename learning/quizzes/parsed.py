"""A question as read from a file, before it is stored: what every format's parser produces, the
checks every question passes, and the error that names the line it is on."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l

from learning.quizzes.models import QuestionKind


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
