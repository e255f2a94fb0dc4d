"""Campaigns as a branch sees them: those run above it (the park's) that its members take part
in, with its own members' figures: who plays, how far they got, who has not started."""
from __future__ import annotations

from sqlalchemy import func, select

from learning.extensions import db
from learning.orgs.models import Member, Organisation
from learning.orgs.scoping import in_subtree
from learning.quizzes.challenges import is_open
from learning.quizzes.models import Challenge, ChallengeStanding, ChallengeStatus


def reaching(org: Organisation) -> list[Challenge]:
    """Published campaigns of ``org``'s ancestors (not its own subtree's: those are on the campaign list)."""
    ancestors = [i for i in org.ancestor_ids() if i != org.id]
    if not ancestors:
        return []
    return list(db.session.scalars(select(Challenge).where(
        Challenge.organisation_id.in_(ancestors), Challenge.status != ChallengeStatus.DRAFT)
        .order_by(Challenge.starts_at.desc())))


def our_figures(challenge: Challenge, org: Organisation, *, limit: int = 50) -> dict:
    """The campaign's figures for the active members below ``org``."""
    ours = (select(Member.id).join(Organisation, Organisation.id == Member.organisation_id)
            .where(Member.active.is_(True), in_subtree(Organisation.path, org.path)))
    total = db.session.scalar(select(func.count()).select_from(ours.subquery())) or 0
    S = ChallengeStanding
    rows = db.session.execute(
        select(S, Member.name).join(Member, Member.id == S.member_id)
        .where(S.challenge_id == challenge.id, S.member_id.in_(ours))
        .order_by(S.levels_passed.desc(), S.total_score.desc(), S.total_seconds, S.reached_at, S.member_id)).all()
    players = [{"rank": i + 1, "name": name, "levels_passed": s.levels_passed, "score": s.total_score,
                "seconds": s.total_seconds} for i, (s, name) in enumerate(rows)]
    waiting = db.session.scalars(
        select(Member.name).where(Member.id.in_(ours), Member.id.not_in(
            select(S.member_id).where(S.challenge_id == challenge.id))).order_by(Member.name).limit(limit)).all()
    levels = len(challenge.levels)
    finished = sum(1 for p in players if levels and p["levels_passed"] >= levels)
    return {"members": total, "playing": len(players), "finished": finished,
            "participation": len(players) / total if total else 0.0,
            "players": players[:limit], "waiting": list(waiting), "waiting_count": total - len(players)}


def open_for(org: Organisation) -> list[Challenge]:
    """The campaigns open now that ``org``'s members take part in: its own and those run above it."""
    found = db.session.scalars(select(Challenge).where(
        Challenge.organisation_id.in_(org.ancestor_ids()), Challenge.status != ChallengeStatus.DRAFT)
        .order_by(Challenge.ends_at, Challenge.id)).all()
    return [c for c in found if is_open(c)]
