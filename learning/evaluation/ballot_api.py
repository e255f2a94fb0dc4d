"""民主评议 over the API: the member's ballot (/api/v1/ballots/current) and the committee's windows, turnout
and results (/api/v1/evaluations/ballots…).  No endpoint returns who gave which grade."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_smorest import Blueprint

from learning.api import auth_required, caller_member, current_api_account
from learning.api.problems import problem
from learning.evaluation.api_common import refused
from learning.evaluation import ballots
from learning.evaluation.models import BallotWindow
from learning.evaluation.schemas import (
    BallotSchema, BallotWriteSchema, ResultArgsSchema, ResultListSchema, WindowListSchema,
)
from learning.extensions import db
from learning.orgs.models import Organisation
from learning.orgs.scoping import Permission, scope_for

blp = Blueprint("ballot_api", __name__, url_prefix="/api/v1", description="民主评议: the yearly member appraisal ballot")


def _ballot_dict(mine: ballots.MyBallot) -> dict:
    w = mine.window
    return {"window_id": w.id, "organisation": w.organisation.name, "year": w.year, "closes_at": w.closes_at,
            "branch": mine.branch.name, "submitted": mine.ballot is not None,
            "self_assessment": mine.ballot.self_assessment if mine.ballot else None,
            "candidates": [{"member_id": m.id, "name": m.name, "my_grade": mine.grades.get(m.id)} for m in mine.candidates]}


@blp.route("/ballots/current", methods=["GET"])
@auth_required(blp)
@blp.response(200, BallotSchema)
@blp.alt_response(404, description="No ballot is open for your branch")
def current_ballot():
    """The ballot open for your branch: the members you grade, and what you chose so far (you alone see it)."""
    member, not_member = caller_member()
    if not_member:
        return not_member
    window = ballots.window_for(member)
    if window is None:
        return problem(404, detail=_("No ballot is open for your branch."))
    return _ballot_dict(ballots.my_ballot(window, member))


@blp.route("/ballots/current", methods=["PUT"])
@auth_required(blp)
@blp.arguments(BallotWriteSchema)
@blp.response(200, BallotSchema)
@blp.alt_response(404, description="No ballot is open for your branch")
@blp.alt_response(422, description="Invalid ballot (field errors)")
def cast_ballot(data):
    """Fill in or change your ballot until the window closes: a self-assessment and a grade for every fellow
    full member of your branch."""
    member, not_member = caller_member()
    if not_member:
        return not_member
    grades = {}
    for vote in data["votes"]:
        grades[vote["member_id"]] = vote["grade"]
    if len(grades) != len(data["votes"]):
        return problem(422, detail=_("Give every fellow full member of your branch a grade, and nobody else."),
                       errors={"votes": [_("Give every fellow full member of your branch a grade, and nobody else.")]})
    try:
        ballots.cast(member, data["self_assessment"], grades)
    except ballots.BallotError as exc:
        return refused(exc)
    db.session.commit()
    return _ballot_dict(ballots.my_ballot(ballots.window_for(member), member))


@blp.route("/evaluations/ballots", methods=["GET"])
@auth_required(blp)
@blp.response(200, WindowListSchema)
def window_list():
    """The ballots you follow, with the turnout of each branch in your scope (live while open)."""
    account = current_api_account()
    scope = scope_for(account)
    items = []
    for w in ballots.windows_in_scope(account):
        turnout = [{"branch_id": r["branch"].id, "branch": r["branch"].name, "voters": r["voters"], "voted": r["voted"]}
                   for r in ballots.turnout(w) if scope.can_org(Permission.VIEW_SCORES, r["branch"])]
        items.append({"id": w.id, "organisation_id": w.organisation_id, "organisation": w.organisation.name, "year": w.year,
                      "opens_at": w.opens_at, "closes_at": w.closes_at, "state": ballots.state(w), "turnout": turnout})
    return {"items": items}


@blp.route("/evaluations/ballots/<int:window_id>/results", methods=["GET"])
@auth_required(blp)
@blp.arguments(ResultArgsSchema, location="query")
@blp.response(200, ResultListSchema)
@blp.alt_response(404, description="No such ballot or branch in your scope")
@blp.alt_response(409, description="The ballot has not closed yet")
def window_results(args, window_id: int):
    """A branch's counts of each grade per member and the suggested grades, once the ballot has closed."""
    account = current_api_account()
    window = db.session.get(BallotWindow, window_id)
    branch = db.session.get(Organisation, args["branch"])
    if window is None or branch is None or not ballots.visible(account, window) or \
            not scope_for(account).can_org(Permission.VIEW_SCORES, branch) or \
            not branch.path.startswith(window.organisation.path):
        return problem(404, detail=_("No such branch in your scope."))
    try:
        lines = ballots.results(window, branch)
    except ballots.BallotError as exc:
        return problem(exc.status, detail=str(exc.message))
    return {"window_id": window.id, "branch_id": branch.id,
            "items": [{"member_id": line.member.id, "name": line.member.name, "counts": line.counts,
                       "ballot_score": line.ballot_score, "percentile": line.percentile, "eligible": line.eligible,
                       "combined": line.combined, "grade": line.grade} for line in lines]}
