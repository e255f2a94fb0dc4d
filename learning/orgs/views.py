"""The admin area's organisation tree and member pages, always within the viewer's scope."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user
from sqlalchemy import select

from learning.accounts import administration, bulk
from learning.web.panels import member_panels, org_panels
from learning.web import ConfirmForm, admin_required, id_arg, page_arg
from learning.accounts.models import Account
from learning.extensions import db
from learning.orgs import queries
from learning.orgs.models import MemberStatus, Organisation
from learning.orgs.scoping import Permission, member_or_404, org_or_404, scope_for
from learning.orgs.services import summarise_siblings

bp = Blueprint("orgs", __name__, url_prefix="/admin")


@bp.route("/")
@admin_required()
def index():
    return orgs()


@bp.route("/orgs")
@admin_required()
def orgs():
    """The top of the viewer's scope, with member counts."""
    scope = scope_for(current_user)
    pagination = queries.paginate(queries.child_organisations(scope, None), page_arg(), current_app.config["PAGE_SIZE"])
    return render_template(
        "admin/orgs.html",
        org=None,
        breadcrumbs=[],
        children=summarise_siblings(list(pagination.items)),
        pagination=pagination,
    )


@bp.route("/orgs/<int:org_id>")
@admin_required()
def org_detail(org_id: int):
    scope = scope_for(current_user)
    org = org_or_404(current_user, org_id)
    page_size = current_app.config["PAGE_SIZE"]
    children = queries.paginate(queries.child_organisations(scope, org), page_arg(), page_size)
    members = queries.paginate(
        queries.member_search(scope, org=org).where(Organisation.id == org.id), 1, page_size
    )
    return render_template(
        "admin/orgs.html",
        org=org,
        breadcrumbs=_breadcrumbs(org),
        children=summarise_siblings(list(children.items)),
        pagination=children,
        direct_members=members,
        panels=org_panels(org, current_user),
    )


def _breadcrumbs(org: Organisation) -> list[Organisation]:
    """The visible ancestors of ``org`` (the part of the path inside the viewer's scope)."""
    scope = scope_for(current_user)
    ids = org.ancestor_ids()[:-1]
    if not ids:
        return []
    found = {o.id: o for o in db.session.scalars(select(Organisation).where(Organisation.id.in_(ids)))}
    return [found[i] for i in ids if i in found and scope.can_org(Permission.VIEW_MEMBERS, found[i])]


@bp.route("/members")
@admin_required()
def members():
    scope = scope_for(current_user)
    org_id = id_arg("org")
    org = org_or_404(current_user, org_id) if org_id is not None else None
    q = request.args.get("q", "").strip()[:100]
    status = request.args.get("status", "")
    if status not in {s.value for s in MemberStatus}:
        status = ""
    include_inactive = request.args.get("inactive") == "1"
    pagination = queries.paginate(
        queries.member_search(scope, org=org, q=q or None, status=status or None, include_inactive=include_inactive),
        page_arg(),
        current_app.config["PAGE_SIZE"],
    )
    return render_template(
        "admin/members.html",
        pagination=pagination,
        org=org,
        q=q,
        status=status,
        include_inactive=include_inactive,
        statuses=list(MemberStatus),
        bulk_actions=bulk.ACTIONS if scope.has_any(Permission.MANAGE_MEMBERS) else None,
        confirm_form=ConfirmForm(),
    )


@bp.route("/members/<int:member_id>")
@admin_required()
def member_detail(member_id: int):
    member = member_or_404(current_user, member_id)
    account = db.session.scalar(select(Account).where(Account.member_id == member.id))
    scope = scope_for(current_user)
    administers = administration.may_administer(current_user, account)
    return render_template(
        "admin/member.html",
        member=member,
        account=account,
        breadcrumbs=_breadcrumbs(member.organisation) + [member.organisation],
        can_manage=scope.can_member(Permission.MANAGE_MEMBERS, member),
        administers=administers,
        grantable_roles=[r for r in administration.grantable_roles(current_user) if r.value != "member"] if administers else [],
        grantable_orgs=administration.grantable_orgs(current_user, member) if administers else [],
        confirm_form=ConfirmForm(),
        panels=member_panels(member, current_user),
    )
