"""A campaign's leaderboards as its players see them: built once per change and shared.

Every open campaign page polls its board every 15 seconds; a city-wide campaign has 14,000
branches.  The board (the first members and every branch ranked three ways, in pages of 20) is
built on the first poll after a level result — ``Challenge.board_version``, bumped in the level
result's transaction, says which build is current — and kept in the shared cache
(``learning.cache``: Redis when configured).  While one worker rebuilds, the others serve the
previous build; a build is also renewed after ``QUIZ_BOARD_MAX_AGE_SECONDS``, since members who
move or leave change the branch figures without a level result.
"""
from __future__ import annotations

import time

from flask import current_app

from learning.cache import cache
from learning.orgs.models import Member
from learning.quizzes.challenges import branch_figures, member_board, rank_branches
from learning.quizzes.models import Challenge

SORTS = ("levels", "participation", "score")
PAGE = 20
KEEP_SECONDS = 3600


def _now() -> float:
    return time.time()


def _key(challenge_id: int, *parts) -> str:
    return ":".join(["board", str(challenge_id), *map(str, parts)])


def current(challenge: Challenge) -> dict:
    """The board's summary: ``version`` and ``built`` (which build), ``members`` (the first 20) and
    ``branches`` (how many)."""
    store = cache()
    meta = store.get(_key(challenge.id))
    max_age = current_app.config["QUIZ_BOARD_MAX_AGE_SECONDS"]
    if meta is not None and meta["version"] == challenge.board_version and _now() - meta["built"] / 1000 < max_age:
        return meta
    lock = _key(challenge.id, "building")
    if meta is not None and not store.claim(lock, 60):
        return meta  # another worker is building; the last build until it is done
    try:
        return build(challenge)
    finally:
        store.release(lock)


def build(challenge: Challenge) -> dict:
    """Rank the campaign's members and branches now and store the pages."""
    version = challenge.board_version  # read before ranking: the build is at least this fresh
    built = int(_now() * 1000)
    rows = branch_figures(challenge)
    values = {}
    for sort in SORTS:
        ranked = rank_branches(rows, sort)
        for start in range(0, len(ranked), PAGE):
            values[_key(challenge.id, built, sort, start // PAGE + 1)] = ranked[start:start + PAGE]
        if sort == SORTS[0]:
            values.update({_key(challenge.id, built, "branch", r["organisation_id"]): r for r in ranked})
    meta = {"version": version, "built": built, "members": member_board(challenge, limit=PAGE), "branches": len(rows)}
    values[_key(challenge.id)] = meta  # last: a reader who finds it finds its pages
    cache().set_many(values, KEEP_SECONDS)
    return meta


def branch_page(challenge: Challenge, meta: dict, sort: str = "levels", page: int = 1) -> list[dict]:
    """Page ``page`` of the branches ranked by ``sort`` (20 a page)."""
    if page < 1 or (page - 1) * PAGE >= meta["branches"]:
        return []
    found = cache().get(_key(challenge.id, meta["built"], sort if sort in SORTS else SORTS[0], page))
    if found is None:  # the pages expired under the summary: build again
        meta = build(challenge)
        found = cache().get(_key(challenge.id, meta["built"], sort if sort in SORTS else SORTS[0], page)) or []
    return found


def branch_of(challenge: Challenge, meta: dict, member: Member) -> dict | None:
    """The member's branch's row (ranked by levels per member): the nearest branch above them."""
    ids = list(reversed(member.organisation.ancestor_ids())) if member.organisation is not None else []
    found = cache().get_many([_key(challenge.id, meta["built"], "branch", i) for i in ids])
    return next((row for row in found if row is not None), None)


def etag(challenge: Challenge, meta: dict, member: Member) -> str:
    """Changes with the standings (the board and the member's own rank), with each period of
    ``QUIZ_BOARD_MAX_AGE_SECONDS`` (builds renewed for members who moved) and with the member; the
    same in every worker, whose builds of one version hold the same rows."""
    epoch = int(_now() // current_app.config["QUIZ_BOARD_MAX_AGE_SECONDS"])
    return f"b{challenge.id}.{challenge.board_version}.{epoch}.{member.id}"
