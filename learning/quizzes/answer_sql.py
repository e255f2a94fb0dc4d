"""A quiz answer in one PostgreSQL statement: the hot path of a quiz, one round trip.

:func:`attempts.answer` reads the attempt's item and then writes the answer: two round trips.  Here
the token check, the read, the answer's check against the question and the write are one statement
in the request's autocommit, for the common case only: a good token, the member's open attempt
within its time, a position it has, an answer of the question's kind.  Anything else matches
nothing, writes nothing and returns None, and the caller takes the checked way
(:func:`learning.api.check_member_token`, :func:`attempts.answer`), which explains the refusal.

The answer is shaped as ``attempts._response_for`` shapes it: what can be told without the question
(letters, distinct, a text of at most 200 characters) here in Python; the rest — the kind, how many
options the member was shown, the option order the letters stand for — in SQL.  The statement holds
the attempt FOR SHARE, so it is ordered against a submit as the checked write is.
tests/quizzes/test_answer_sql.py compares both ways on the same attempts.
"""
from __future__ import annotations

import json
from datetime import datetime

from learning.accounts.token_sql import TOKEN, commit_mode, token_used
from learning.db import one_round_trip, utcnow
from learning.quizzes import attempts
from learning.quizzes.models import AttemptStatus, QuestionKind

ANSWER = f"""
WITH {TOKEN}, item AS (
    SELECT i.id, i.option_order, q.kind
    FROM tok JOIN attempt a ON a.token = %(attempt)s AND a.member_id = tok.member_id
    JOIN attempt_item i ON i.attempt_id = a.id AND i.position = %(position)s
    JOIN question q ON q.id = i.question_id
    WHERE a.status = '{AttemptStatus.OPEN.value}' AND %(now)s <= a.deadline + make_interval(secs => %(grace)s::float8)
    FOR SHARE OF a
), answer AS (
    SELECT item.id, CASE WHEN item.kind = '{QuestionKind.FILL_BLANK.value}' THEN %(text)s::json
        ELSE (SELECT json_agg((item.option_order ->> letter)::integer ORDER BY (item.option_order ->> letter)::integer)
              FROM unnest(%(letters)s::integer[]) AS letter) END AS response
    FROM item
    WHERE CASE WHEN item.kind = '{QuestionKind.FILL_BLANK.value}' THEN %(text)s::json IS NOT NULL
          ELSE %(letters)s::integer[] IS NOT NULL
               AND (SELECT max(letter) FROM unnest(%(letters)s::integer[]) AS letter)
                   < json_array_length(item.option_order)
               AND (item.kind = '{QuestionKind.MULTIPLE.value}' OR cardinality(%(letters)s::integer[]) = 1) END
), stored AS (
    UPDATE attempt_item SET response = answer.response, answered_at = %(now)s FROM answer
    WHERE attempt_item.id = answer.id
    RETURNING attempt_item.id
), {token_used('stored')}
SELECT count(*) FROM stored
"""


def _letters(choices) -> list[int] | None:
    """The letters' indexes, if they are letters at all and none twice; the question decides the rest."""
    if not isinstance(choices, list) or not choices or not all(isinstance(c, str) for c in choices) \
            or len(set(choices)) != len(choices) or any(c not in attempts.LETTERS or len(c) != 1 for c in choices):
        return None
    return [attempts.LETTERS.index(c) for c in choices]


def _text(text) -> str | None:
    if not isinstance(text, str) or not text.strip() or len(text) > 200:
        return None
    return json.dumps([text.strip()], ensure_ascii=False)


def answer(digest: str, attempt_token: str, position: int, *, choices=None, text=None) -> datetime | None:
    """Record the answer in one statement (:func:`learning.db.one_round_trip`) and return its time,
    or None: not the common case, nothing written; take the checked way."""
    moment = attempts.now()
    letters, typed = _letters(choices), _text(text)
    if letters is None and typed is None:
        return None
    stored = one_round_trip(ANSWER, {
        "digest": digest, "token_now": utcnow(), "attempt": attempt_token or "", "position": position,
        "now": moment, "grace": attempts.GRACE_SECONDS, "letters": letters, "text": typed,
        "synchronous_commit": commit_mode(),
    })
    return moment if stored[0] else None  # SELECT count(*): always a row
