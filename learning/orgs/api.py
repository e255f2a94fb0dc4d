"""Organisations and members JSON API, every answer filtered by the caller's scope."""
from __future__ import annotations

from flask_smorest import Blueprint

from learning.api import auth_required, current_api_account
from learning.orgs import queries
from learning.orgs.schemas import (
    MemberListArgsSchema,
    MemberPageSchema,
    MemberSchema,
    OrganisationPageSchema,
    OrganisationSchema,
    OrgListArgsSchema,
)
from learning.orgs.scoping import member_or_404, org_or_404, scope_for

blp = Blueprint("orgs_api", __name__, url_prefix="/api/v1", description="Organisations and members in your scope")


@blp.route("/orgs", methods=["GET"])
@auth_required(blp)
@blp.arguments(OrgListArgsSchema, location="query")
@blp.response(200, OrganisationPageSchema)
def list_orgs(args):
    """Children of an organisation, or the top of your scope."""
    account = current_api_account()
    parent = org_or_404(account, args["parent"]) if "parent" in args else None
    query = queries.child_organisations(scope_for(account), parent)
    return queries.page_dict(queries.paginate(query, args["page"], args["per_page"]))


@blp.route("/orgs/<int:org_id>", methods=["GET"])
@auth_required(blp)
@blp.response(200, OrganisationSchema)
@blp.alt_response(404, description="No such organisation in your scope")
def get_org(org_id):
    return org_or_404(current_api_account(), org_id)


@blp.route("/members", methods=["GET"])
@auth_required(blp)
@blp.arguments(MemberListArgsSchema, location="query")
@blp.response(200, MemberPageSchema)
def list_members(args):
    """Members in your scope, optionally within one organisation's subtree."""
    account = current_api_account()
    org = org_or_404(account, args["org"]) if "org" in args else None
    query = queries.member_search(
        scope_for(account), org=org, q=args.get("q"), status=args.get("status"),
        include_inactive=args["include_inactive"],
    )
    return queries.page_dict(queries.paginate(query, args["page"], args["per_page"]))


@blp.route("/members/<int:member_id>", methods=["GET"])
@auth_required(blp)
@blp.response(200, MemberSchema)
@blp.alt_response(404, description="No such member in your scope")
def get_member(member_id):
    return member_or_404(current_api_account(), member_id)
