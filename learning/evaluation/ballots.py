"""民主评议党员: the yearly ballot.  A committee opens a window for the branches below it; every active full
or probationary member of a branch fills in one ballot — a self-assessment and a grade for each fellow full
member (probationary members vote but are not graded) — and may change it until the window closes.

Secrecy: a ballot row says only that a member voted (turnout) and holds their self-assessment; the grades
are rows of their own with no voter, no ballot id and no time, each with its own HMAC of the server's secret
key (window, voter, ratee), so the voter alone can find them again and nobody can group one voter's grades.  Nobody — the secretary included — can read who gave which grade; results
are counts per member, and only once the window has closed.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from learning.db import utcnow
from learning.evaluation.models import Ballot, BallotVote, BallotWindow
from learning.evaluation.errors import EvaluationError
from learning.extensions import db
from learning.notifications.services import notify
from learning.orgs.models import Member, MemberStatus, Organisation, OrgKind
from learning.orgs.scoping import Permission, in_subtree, scope_for

GRADES = ("excellent", "qualified", "basically_qualified", "unqualified")
VOTERS = (MemberStatus.FULL, MemberStatus.PROBATIONARY)
MAX_DAYS = 60
BALLOT_OPENED = "ballot_opened"


class BallotError(EvaluationError):
    pass


def branch_of(member: Member) -> Organisation:
    org = member.organisation
    return org.parent if org.kind == OrgKind.GROUP and org.parent is not None else org


def is_open(window: BallotWindow, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return window.opens_at <= now < window.closes_at


def state(window: BallotWindow, now: datetime | None = None) -> str:
    now = now or utcnow()
    return "open" if is_open(window, now) else "closed" if now >= window.closes_at else "scheduled"


def _members(branch: Organisation, statuses) -> list[Member]:
    return list(db.session.scalars(
        select(Member).join(Organisation, Organisation.id == Member.organisation_id)
        .where(in_subtree(Organisation.path, branch.path), Member.active.is_(True), Member.status.in_(statuses))
        .order_by(Member.name, Member.id)))


def candidates(branch: Organisation, voter: Member | None = None) -> list[Member]:
    """The members a ballot grades: the branch's full members, the voter excepted."""
    return [m for m in _members(branch, (MemberStatus.FULL,)) if voter is None or m.id != voter.id]


# -- the committee ----------------------------------------------------------------------------
def open_window(actor, org: Organisation, year: int, opens_at: datetime, closes_at: datetime) -> BallotWindow:
    if not scope_for(actor).can_org(Permission.MANAGE_ORGS, org):
        raise BallotError(_l("No such organisation among those you manage."), status=404)
    if not 2000 <= year <= 2099:
        raise BallotError(_l("Choose a year between 2000 and 2099."), field="year")
    if closes_at <= opens_at:
        raise BallotError(_l("The window must close after it opens."), field="closes_at")
    if closes_at - opens_at > timedelta(days=MAX_DAYS):
        raise BallotError(_l("A window is open for at most %(n)d days.", n=MAX_DAYS), field="closes_at")
    window = BallotWindow(organisation_id=org.id, year=year, opens_at=opens_at, closes_at=closes_at,
                          created_by_account_id=actor.id)
    try:
        with db.session.begin_nested():
            db.session.add(window)
            db.session.flush()
    except IntegrityError:
        raise BallotError(_l("%(org)s has already opened the ballot of %(year)d.", org=org.name, year=year),
                          field="year", status=409) from None
    everyone = db.session.scalars(select(Member.id).join(Organisation, Organisation.id == Member.organisation_id).where(
        in_subtree(Organisation.path, org.path), Member.active.is_(True), Member.status.in_(VOTERS))).all()
    notify(BALLOT_OPENED, f"ballot:{window.id}", {m: {"window_id": window.id, "year": year, "org": org.name,
                                                       "closes_at": closes_at.isoformat()} for m in everyone})
    return window


def close_now(actor, window: BallotWindow) -> None:
    if not scope_for(actor).can_org(Permission.MANAGE_ORGS, window.organisation):
        raise BallotError(_l("No such ballot among those you manage."), status=404)
    now = utcnow()
    if now < window.closes_at:
        window.closes_at = max(now, window.opens_at)


def visible(account, window: BallotWindow, roots: list[Organisation] | None = None) -> bool:
    """Whether ``account`` sees the window: its organisation is in their scope, or some of their scope lies
    below it (a branch secretary follows their branch in the committee's ballot).  ``roots``: the tops of
    their scope, when the caller has them already."""
    scope = scope_for(account)
    if scope.can_org(Permission.VIEW_SCORES, window.organisation):
        return True
    roots = roots if roots is not None else db.session.scalars(scope.roots(Permission.VIEW_SCORES)).all()
    return any(r.path.startswith(window.organisation.path) for r in roots)


def windows_in_scope(account) -> list[BallotWindow]:
    found = db.session.scalars(select(BallotWindow).options(joinedload(BallotWindow.organisation))
                               .order_by(BallotWindow.year.desc(), BallotWindow.id.desc())).all()
    roots = db.session.scalars(scope_for(account).roots(Permission.VIEW_SCORES)).all()
    return [w for w in found if visible(account, w, roots)]


def turnout(window: BallotWindow) -> list[dict]:
    """Per branch below the window's organisation: voters and ballots cast so far."""
    branches = db.session.scalars(select(Organisation).where(
        in_subtree(Organisation.path, window.organisation.path), Organisation.kind == OrgKind.BRANCH,
        Organisation.active.is_(True)).order_by(Organisation.path)).all()
    cast = dict(db.session.execute(select(Ballot.branch_id, func.count()).where(Ballot.window_id == window.id)
                                   .group_by(Ballot.branch_id)).all())
    eligible: dict[int, int] = {}  # voters per branch, a group's counted with its branch: one query for all
    for org_id, kind, parent_id, n in db.session.execute(
            select(Organisation.id, Organisation.kind, Organisation.parent_id, func.count(Member.id))
            .join(Member, Member.organisation_id == Organisation.id)
            .where(in_subtree(Organisation.path, window.organisation.path), Member.active.is_(True),
                   Member.status.in_(VOTERS))
            .group_by(Organisation.id, Organisation.kind, Organisation.parent_id)):
        branch_id = parent_id if kind == OrgKind.GROUP and parent_id is not None else org_id
        eligible[branch_id] = eligible.get(branch_id, 0) + n
    return [{"branch": b, "voters": eligible.get(b.id, 0), "voted": cast.get(b.id, 0)} for b in branches]


# -- the member -------------------------------------------------------------------------------
def window_for(member: Member, now: datetime | None = None) -> BallotWindow | None:
    """The open window covering the member's branch (the nearest organisation's, if two)."""
    branch = branch_of(member)
    found = db.session.scalars(select(BallotWindow).join(Organisation, Organisation.id == BallotWindow.organisation_id)
                               .where(BallotWindow.organisation_id.in_(branch.ancestor_ids()))
                               .order_by(Organisation.depth.desc(), BallotWindow.year.desc())).all()
    return next((w for w in found if is_open(w, now)), None)


def _token(window: BallotWindow, voter: Member, ratee_id: int) -> str:
    """Each vote's own token: without the secret key, two votes of one voter cannot even be grouped (a
    voter's group would otherwise give them away by the one member it lacks, themselves)."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"ballot:{window.id}:{voter.id}:{ratee_id}".encode(), hashlib.sha256).hexdigest()


def _my_tokens(window: BallotWindow, voter: Member, branch: Organisation) -> dict[str, int]:
    """Token → ratee for every member of the branch the voter could have graded (any status, now)."""
    ids = db.session.scalars(select(Member.id).join(Organisation, Organisation.id == Member.organisation_id)
                             .where(in_subtree(Organisation.path, branch.path))).all()
    return {_token(window, voter, i): i for i in ids if i != voter.id}


@dataclass
class MyBallot:
    window: BallotWindow
    branch: Organisation
    candidates: list[Member]
    ballot: Ballot | None
    grades: dict[int, str] = field(default_factory=dict)  # the voter's own choices, for them alone


def my_ballot(window: BallotWindow, member: Member) -> MyBallot:
    branch = branch_of(member)
    ballot = db.session.scalar(select(Ballot).where(Ballot.window_id == window.id, Ballot.voter_member_id == member.id))
    tokens = _my_tokens(window, member, branch)
    grades = dict(db.session.execute(select(BallotVote.ratee_member_id, BallotVote.grade).where(
        BallotVote.window_id == window.id, BallotVote.voter_token.in_(list(tokens)))).all())
    return MyBallot(window, branch, candidates(branch, member), ballot, grades)


def cast(member: Member, self_assessment: str, grades: dict[int, str], now: datetime | None = None) -> Ballot:
    """Save ``member``'s ballot (a new one, or a change until the window closes)."""
    now = now or utcnow()
    window = window_for(member, now)
    if window is None:
        raise BallotError(_l("No ballot is open for your branch."), status=404)
    if not member.active or member.status not in VOTERS:
        raise BallotError(_l("Only full and probationary members vote."), status=403)
    mine = my_ballot(window, member)
    text = (self_assessment or "").strip()
    if member.status == MemberStatus.FULL and len(text) < 10:
        raise BallotError(_l("Write your self-assessment (at least 10 characters)."), field="self_assessment")
    if len(text) > 2000:
        raise BallotError(_l("At most %(n)d characters.", n=2000), field="self_assessment")
    expected = {m.id for m in mine.candidates}
    if set(grades) != expected:
        raise BallotError(_l("Give every fellow full member of your branch a grade, and nobody else."), field="votes")
    if any(g not in GRADES for g in grades.values()):
        raise BallotError(_l("A grade is excellent, qualified, basically_qualified or unqualified."), field="votes")
    tokens = list(_my_tokens(window, member, mine.branch))
    try:
        with db.session.begin_nested():
            db.session.execute(delete(BallotVote).where(BallotVote.window_id == window.id, BallotVote.voter_token.in_(tokens)))
            db.session.add_all([BallotVote(key=secrets.token_hex(16), window_id=window.id, branch_id=mine.branch.id,
                                           voter_token=_token(window, member, ratee), ratee_member_id=ratee, grade=grade)
                                for ratee, grade in sorted(grades.items(), key=lambda _i: secrets.randbelow(1 << 30))])
            ballot = mine.ballot or Ballot(window_id=window.id, branch_id=mine.branch.id, voter_member_id=member.id)
            ballot.self_assessment, ballot.submitted_at = text, now
            db.session.add(ballot)
            db.session.flush()
    except IntegrityError:  # the same member's ballot sent twice at once: the other one counts
        raise BallotError(_l("Your ballot was saved a moment ago from elsewhere: reload the page to see it."),
                          status=409) from None
    return ballot


# -- results ----------------------------------------------------------------------------------
@dataclass
class ResultLine:
    member: Member
    counts: dict[str, int]  # grade → votes received
    ballot_score: float | None  # the average value of the grades received (None: no votes)
    percentile: float  # points in the year among the branch's full members, 100 = top
    eligible: bool | None  # the study-hours gate (None: not available)
    combined: float | None
    grade: str | None  # suggested; None without votes


def results(window: BallotWindow, branch: Organisation, now: datetime | None = None) -> list[ResultLine]:
    """The suggested grades of the branch's full members, once the window has closed."""
    from learning.points.appraisal import appraise
    from learning.points.scoring import policy, rank_with_ties

    if (now or utcnow()) < window.closes_at:
        raise BallotError(_l("Results are shown once the ballot has closed."), status=409)
    p = policy()
    values, bands = dict(p.ballot_values), p.ballot_bands
    full = candidates(branch)
    counts = {m.id: dict.fromkeys(GRADES, 0) for m in full}
    for ratee, grade, n in db.session.execute(select(BallotVote.ratee_member_id, BallotVote.grade, func.count()).where(
            BallotVote.window_id == window.id, BallotVote.branch_id == branch.id).group_by(
            BallotVote.ratee_member_id, BallotVote.grade)):
        if ratee in counts:
            counts[ratee][grade] = n
    rows = {r.ranking.member_id: r for r in appraise(branch, str(window.year))}
    points = [rows[m.id].ranking.points if m.id in rows else 0 for m in full]
    ranks = rank_with_ties(sorted(points, reverse=True))
    rank_of = dict(zip(sorted(points, reverse=True), ranks))
    n = len(full)
    lines = []
    for member, pts in zip(full, points):
        total = sum(counts[member.id].values())
        score = sum(values[g] * k for g, k in counts[member.id].items()) / total if total else None
        percentile = 100.0 * (1 - (rank_of[pts] - 1) / (n - 1)) if n > 1 else 100.0
        combined = round(p.ballot_weight * score + p.points_weight * percentile, 2) if score is not None else None
        grade = next((g for g, low in bands if combined is not None and combined >= low), None)
        if combined is not None and grade is None:
            grade = "unqualified"
        eligible = rows[member.id].eligible if member.id in rows else None
        lines.append(ResultLine(member, counts[member.id], score, round(percentile, 1), eligible, combined, grade))
    # 优秀 only for members who meet the hours gate, and at most the share of full members, whole ties first.
    allowed = int(n * p.excellent_share)
    taken = 0
    best = sorted((line for line in lines if line.grade == "excellent"), key=lambda line: -line.combined)
    groups: list[list[ResultLine]] = []
    for line in best:
        if line.eligible is False:
            line.grade = "qualified"
        elif groups and groups[-1][0].combined == line.combined:
            groups[-1].append(line)
        else:
            groups.append([line])
    full_up = False
    for group in groups:  # a tie that does not fit stops the list: nobody below it passes over it
        full_up = full_up or taken + len(group) > allowed
        if full_up:
            for line in group:
                line.grade = "qualified"
        else:
            taken += len(group)
    return sorted(lines, key=lambda line: (-(line.combined or -1), line.member.name))
