"""表彰 over /api/v1/honours: the year's nominations in scope, nominating, and the committee's decision."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_smorest import Blueprint

from learning.api import auth_required, current_api_account
from learning.api.problems import problem
from learning.evaluation.api_common import refused
from learning.evaluation import honours
from learning.evaluation.models import Nomination
from learning.evaluation.schemas import DecisionSchema, HonourArgsSchema, NominateSchema, NominationListSchema, NominationSchema
from learning.extensions import db
from learning.orgs.models import Member, Organisation
from learning.points import periods

blp = Blueprint("honour_api", __name__, url_prefix="/api/v1/honours", description="表彰: nominations and honours")


def _dict(n: Nomination) -> dict:
    return {"id": n.id, "year": n.year, "title": n.title, "title_name": honours.title_name(n.title),
            "member_id": n.member_id, "organisation_id": n.organisation_id,
            "nominee": n.member.name if n.member else n.organisation.name, "nominated_by": n.nominated_by_org.name,
            "reason": n.reason, "status": n.status.value}


@blp.route("", methods=["GET"])
@auth_required(blp)
@blp.arguments(HonourArgsSchema, location="query")
@blp.response(200, NominationListSchema)
def honour_list(args):
    """The year's nominations of members and organisations you may see, with their state."""
    year = args.get("year") or periods.local_today().year
    return {"year": year, "items": [_dict(n) for n in honours.in_scope(current_api_account(), year)]}


@blp.route("", methods=["POST"])
@auth_required(blp)
@blp.arguments(NominateSchema)
@blp.response(201, NominationSchema)
@blp.alt_response(404, description="Not a member or branch you nominate")
@blp.alt_response(409, description="Quota used, or nominated already")
@blp.alt_response(422, description="Ineligible, or invalid input")
def honour_nominate(data):
    """Nominate a member of your branch, or a branch below a committee you manage, for a title."""
    member = db.session.get(Member, data["member_id"]) if data.get("member_id") else None
    org = db.session.get(Organisation, data["organisation_id"]) if data.get("organisation_id") else None
    try:
        nomination = honours.nominate(current_api_account(), data["year"], data["title"], member=member,
                                      organisation=org, reason=data["reason"])
    except honours.HonourError as exc:
        return refused(exc)
    db.session.commit()
    return _dict(nomination)


@blp.route("/<int:nomination_id>/decision", methods=["POST"])
@auth_required(blp)
@blp.arguments(DecisionSchema)
@blp.response(200, NominationSchema)
@blp.alt_response(404, description="Not a nomination you decide")
@blp.alt_response(409, description="Decided already")
def honour_decide(data, nomination_id: int):
    """Approve or refuse a nomination (a committee above the nominator; never the nominator)."""
    nomination = db.session.get(Nomination, nomination_id)
    if nomination is None:
        return problem(404, detail=_("A committee above the nominating organisation decides, not the nominator."))
    try:
        honours.decide(current_api_account(), nomination, approve=data["approve"], note=data["note"])
    except honours.HonourError as exc:
        return refused(exc)
    db.session.commit()
    return _dict(nomination)
