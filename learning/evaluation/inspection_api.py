"""季督查 over /api/v1/evaluations/inspections…: the quarter's list, one inspection, the inspector's scores,
the branch's dispute."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_smorest import Blueprint

from learning.api import auth_required, current_api_account
from learning.api.problems import problem
from learning.evaluation.api_common import refused, scored_org
from learning.evaluation import inspections
from learning.evaluation.schemas import (
    DisputeWriteSchema, InspectionArgsSchema, InspectionListSchema, InspectionSchema, InspectionWriteSchema,
)
from learning.extensions import db
from learning.orgs.models import Organisation
from learning.points import periods

blp = Blueprint("inspection_api", __name__, url_prefix="/api/v1/evaluations/inspections",
                description="Quarterly inspections (季督查) of branches")


def _dict(branch: Organisation, quarter: str, inspection) -> dict:
    return {"branch_id": branch.id, "branch": branch.name, "quarter": quarter,
            "status": inspection.status.value if inspection else None,
            "total": inspections.total(inspection) if inspection else None,
            "maximum": inspections.maximum(inspection) if inspection else None,
            "frozen": inspections.frozen(quarter), "items": list(inspection.items) if inspection else []}


@blp.route("", methods=["GET"])
@auth_required(blp)
@blp.arguments(InspectionArgsSchema, location="query")
@blp.response(200, InspectionListSchema)
@blp.alt_response(404, description="No such organisation in your scope, or a quarter to come")
def inspection_list(args):
    """Every branch under an organisation with its inspection of a quarter (drafts for their inspectors only)."""
    account = current_api_account()
    today = periods.local_today()
    org, not_found = scored_org(args.get("org"))
    if not_found:
        return not_found
    try:
        quarter = inspections.parse_quarter(args.get("quarter") or periods.quarter_key(today), today)
    except inspections.InspectionError as exc:
        return refused(exc)
    return {"org": org.id, "quarter": quarter,
            "items": [_dict(line.branch, quarter, line.inspection) for line in inspections.overview(account, org, quarter)]}


def _load(branch_id: int, quarter: str):
    account = current_api_account()
    branch = db.session.get(Organisation, branch_id)
    try:
        quarter = inspections.parse_quarter(quarter, periods.local_today())
    except inspections.InspectionError as exc:
        return None, None, None, refused(exc)
    inspection = inspections.inspection_of(branch, quarter) if branch else None
    if branch is None or not inspections.may_read(account, branch, inspection):
        return None, None, None, problem(404, detail=_("No such branch in your scope."))
    return branch, quarter, inspection, None


@blp.route("/<int:branch_id>/<quarter>", methods=["GET"])
@auth_required(blp)
@blp.response(200, InspectionSchema)
@blp.alt_response(404, description="No such branch or inspection you may read")
def inspection_get(branch_id: int, quarter: str):
    """A branch's inspection of a quarter, item by item, with any dispute and its answer."""
    branch, quarter, inspection, not_found = _load(branch_id, quarter)
    return not_found or _dict(branch, quarter, inspection)


@blp.route("/<int:branch_id>/<quarter>", methods=["PUT"])
@auth_required(blp)
@blp.arguments(InspectionWriteSchema)
@blp.response(200, InspectionSchema)
@blp.alt_response(404, description="Not a branch you inspect")
@blp.alt_response(409, description="Published already, or the quarter is closed")
@blp.alt_response(422, description="Invalid scores (field errors)")
def inspection_put(data, branch_id: int, quarter: str):
    """The inspector's scores and comments of the entered items (a draft), published when ``publish`` is true."""
    account = current_api_account()
    branch = db.session.get(Organisation, branch_id)
    if branch is None or not inspections.may_inspect(account, branch):
        return problem(404, detail=_("No such branch among those you inspect."))
    try:
        quarter = inspections.parse_quarter(quarter, periods.local_today())
        inspection = inspections.start(account, branch, quarter, periods.local_today())
        inspections.save(account, inspection, {e["code"]: (e["score"], e["comment"]) for e in data["entries"]},
                         publish=data["publish"])
    except inspections.InspectionError as exc:
        return refused(exc)
    db.session.commit()
    return _dict(branch, quarter, inspection)


@blp.route("/<int:branch_id>/<quarter>/items/<code>/dispute", methods=["POST"])
@auth_required(blp)
@blp.arguments(DisputeWriteSchema)
@blp.response(201, InspectionSchema)
@blp.alt_response(404, description="No such inspection of your branch")
@blp.alt_response(409, description="Disputed already (each item once), or the quarter is closed")
def inspection_dispute(data, branch_id: int, quarter: str, code: str):
    """The branch objects to one item's score, once."""
    branch, quarter, inspection, not_found = _load(branch_id, quarter)
    if not_found:
        return not_found
    if inspection is None:
        return problem(404, detail=_("No such inspection of your branch."))
    try:
        inspections.dispute(current_api_account(), inspection, code, data["reason"])
    except inspections.InspectionError as exc:
        return refused(exc)
    db.session.commit()
    return _dict(branch, quarter, inspection)
