"""A campaign's leaderboards: its members and branches ranked, and the builds of them its players
poll, made once per change and shared.

Every open campaign page polls its board every 15 seconds; a city-wide campaign has 14,000
branches.  The board (the first members and every branch ranked three ways, in pages of 20) is
built on the first poll after a level result — ``Challenge.board_version``, bumped in the level
result's transaction, says which build is current — and kept in the shared cache
(``learning.cache``: Redis when configured); however fast results come, building takes at most
``QUIZ_BOARD_BUILD_SHARE`` (a tenth) of the time, so a small campaign's board is rebuilt at once and
a city's about every ten seconds.  While one worker rebuilds, the others serve the previous build; a build
is also renewed after ``QUIZ_BOARD_MAX_AGE_SECONDS``, since members who move or leave change the
branch figures without a level result.
"""
from __future__ import annotations

import time

from flask import current_app

from sqlalchemy import func, select

from learning.cache import cache
from learning.extensions import db
from learning.orgs.models import Member, Organisation, OrgKind
from learning.orgs.scoping import in_subtree
from learning.quizzes.models import Challenge, ChallengeStanding

# -- leaderboards -----------------------------------------------------------------------------
def member_board(challenge: Challenge, *, limit: int = 20, offset: int = 0) -> list[dict]:
    rows = db.session.execute(
        select(ChallengeStanding, Member.name, Organisation.name)
        .join(Member, Member.id == ChallengeStanding.member_id)
        .join(Organisation, Organisation.id == Member.organisation_id)
        .where(ChallengeStanding.challenge_id == challenge.id, Member.active.is_(True))
        .order_by(ChallengeStanding.levels_passed.desc(), ChallengeStanding.total_score.desc(),
                  ChallengeStanding.total_seconds, ChallengeStanding.reached_at, ChallengeStanding.member_id)
        .limit(limit).offset(offset)).all()
    return [{"rank": offset + i + 1, "member_id": s.member_id, "name": name, "organisation": org,
             "levels_passed": s.levels_passed, "score": s.total_score, "seconds": s.total_seconds}
            for i, (s, name, org) in enumerate(rows)]


def member_rank(challenge: Challenge, member: Member) -> dict | None:
    mine = db.session.scalar(select(ChallengeStanding).where(ChallengeStanding.challenge_id == challenge.id,
                                                             ChallengeStanding.member_id == member.id))
    if mine is None:
        return None
    S = ChallengeStanding
    # members who left are off the board: excluded by their (few) ids rather than by joining every
    # standing to its member, which made each poll of a 50,000-player board count through a join
    ahead = db.session.scalar(select(func.count()).select_from(S).where(
        S.challenge_id == challenge.id, S.member_id.not_in(select(Member.id).where(Member.active.is_(False))),
        (S.levels_passed > mine.levels_passed)
        | ((S.levels_passed == mine.levels_passed) & (S.total_score > mine.total_score))
        | ((S.levels_passed == mine.levels_passed) & (S.total_score == mine.total_score)
           & (S.total_seconds < mine.total_seconds))
        | ((S.levels_passed == mine.levels_passed) & (S.total_score == mine.total_score)
           & (S.total_seconds == mine.total_seconds) & (S.reached_at < mine.reached_at))))
    return {"rank": ahead + 1, "levels_passed": mine.levels_passed, "score": mine.total_score,
            "seconds": mine.total_seconds}


def _branches(challenge: Challenge) -> tuple[list, dict[int, int]]:
    """The branches of the campaign's subtree (id, name, path), and each organisation's branch
    (groups count to theirs)."""
    orgs = db.session.execute(select(Organisation.id, Organisation.name, Organisation.path, Organisation.kind).where(
        in_subtree(Organisation.path, challenge.organisation.path), Organisation.active.is_(True))).all()
    branches = [o for o in orgs if o.kind is OrgKind.BRANCH]
    if not branches and challenge.organisation.kind is OrgKind.GROUP:
        branches = [o for o in orgs if o.id == challenge.organisation_id]
    branch_ids = {b.id for b in branches}
    branch_of = {}
    for org in orgs:
        ids = [int(part) for part in org.path.strip("/").split("/") if part]
        found = next((i for i in reversed(ids) if i in branch_ids), None)
        if found is not None:
            branch_of[org.id] = found
    return sorted(branches, key=lambda b: b.path), branch_of


def branch_figures(challenge: Challenge) -> list[dict]:
    """Per branch, unranked: participation rate, average score per member, levels passed per member."""
    branches, branch_of = _branches(challenge)
    members = dict(db.session.execute(
        select(Member.organisation_id, func.count()).join(Organisation, Organisation.id == Member.organisation_id)
        .where(Member.active.is_(True), in_subtree(Organisation.path, challenge.organisation.path))
        .group_by(Member.organisation_id)).all())
    played = db.session.execute(
        select(Member.organisation_id, func.count(), func.sum(ChallengeStanding.total_score),
               func.sum(ChallengeStanding.levels_passed))
        .join(Member, Member.id == ChallengeStanding.member_id)
        .where(ChallengeStanding.challenge_id == challenge.id, Member.active.is_(True))
        .group_by(Member.organisation_id)).all()
    figures = {b.id: {"members": 0, "players": 0, "score": 0.0, "levels": 0} for b in branches}
    for org_id, count in members.items():
        if org_id in branch_of:
            figures[branch_of[org_id]]["members"] += count
    for org_id, players, score, levels in played:
        if org_id in branch_of:
            f = figures[branch_of[org_id]]
            f["players"] += players
            f["score"] += float(score or 0)
            f["levels"] += int(levels or 0)
    rows = []
    for b in branches:
        f = figures[b.id]
        n = f["members"]
        rows.append({"organisation_id": b.id, "name": b.name, "members": n, "players": f["players"],
                     "participation": round(f["players"] / n, 4) if n else 0.0,
                     "average_score": round(f["score"] / n, 2) if n else 0.0,
                     "levels_per_member": round(f["levels"] / n, 2) if n else 0.0})
    return rows


def rank_branches(rows: list[dict], sort: str = "levels") -> list[dict]:
    """Copies of ``rows`` ordered by ``sort`` (levels per member, participation or average score),
    each with its rank."""
    key = {"participation": "participation", "score": "average_score"}.get(sort, "levels_per_member")
    ordered = sorted(rows, key=lambda r: (-r[key], -r["participation"], -r["average_score"], r["name"]))
    return [dict(row, rank=i) for i, row in enumerate(ordered, start=1)]


def branch_board(challenge: Challenge, sort: str = "levels") -> list[dict]:
    """Every branch of the campaign ranked by ``sort`` (the organisers' page; members read the
    cached pages of quizzes.boards)."""
    return rank_branches(branch_figures(challenge), sort)


# -- the shared builds ----------------------------------------------------------------------------
SORTS = ("levels", "participation", "score")
PAGE = 20


def _now() -> float:
    return time.time()


def _key(challenge_id: int, *parts) -> str:
    return ":".join(["board", str(challenge_id), *map(str, parts)])


def current(challenge: Challenge) -> dict:
    """The board's summary: ``version`` and ``built`` (which build), ``members`` (the first 20) and
    ``branches`` (how many)."""
    store = cache()
    meta = store.get(_key(challenge.id))
    config = current_app.config
    age = _now() - meta["built"] / 1000 if meta is not None else None
    if meta is not None and age < config["QUIZ_BOARD_MAX_AGE_SECONDS"] and (
            meta["version"] == challenge.board_version or age < _pace(meta["took"])):
        return meta  # current, or too recent to build again yet (a busy campaign rebuilds at its pace)
    lock = _key(challenge.id, "building")
    claimed = store.claim(lock, 60)
    if meta is not None and not claimed:
        return meta  # another worker is building; the last build until it is done
    try:
        return build(challenge)  # (with no build at all yet, every worker builds its own first one)
    finally:
        if claimed:
            store.release(lock)


def build(challenge: Challenge) -> dict:
    """Rank the campaign's members and branches now and store the pages."""
    version = challenge.board_version  # read before ranking: the build is at least this fresh
    started = _now()
    built = int(started * 1000)
    rows = branch_figures(challenge)
    values = {}
    for sort in SORTS:
        ranked = rank_branches(rows, sort)
        for start in range(0, len(ranked), PAGE):
            values[_key(challenge.id, built, sort, start // PAGE + 1)] = ranked[start:start + PAGE]
        if sort == SORTS[0]:
            values.update({_key(challenge.id, built, "branch", r["organisation_id"]): r for r in ranked})
    meta = {"version": version, "built": built, "members": member_board(challenge, limit=PAGE), "branches": len(rows)}
    meta["took"] = _now() - started
    values[_key(challenge.id)] = meta  # last: a reader who finds it finds its pages
    cache().set_many(values, _keep_seconds(meta["took"]))
    return meta


def _pace(took: float) -> float:
    """Seconds between two builds while results keep coming: a build may use at most
    ``QUIZ_BOARD_BUILD_SHARE`` of the time (a campaign of a few branches is rebuilt at once, a city's
    of 14,000 branches, a second to build, every ten seconds at the default of 0.1)."""
    return took / current_app.config["QUIZ_BOARD_BUILD_SHARE"]


def _keep_seconds(took: float) -> int:
    """How long a build's pages are kept: a few builds' worth, so that a busy campaign holds a
    bounded number of builds (idle, it is rebuilt when they expire)."""
    return int(3 * _pace(took)) + 60


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
