"""Points JSON API: my points, my ledger, rankings in my scope, and disputes."""
from __future__ import annotations

from flask_smorest import Blueprint
from flask_babel import gettext as _

from learning import labels
from learning.api import auth_required, caller_member, current_api_account
from learning.api.problems import problem
from learning.extensions import db
from learning.orgs import queries as org_queries
from learning.orgs.scoping import Permission, scope_for
from learning.points import appraisal_pages, disputes, manual, periods, queries, ranking_pages, rankings, services
from learning.points.models import LedgerEntry
from learning.replica import reads_from_replica
from learning.points.schemas import (
    AppraisalArgsSchema,
    AppraisalPageSchema,
    DisputeRequestSchema,
    DisputeSchema,
    LedgerArgsSchema,
    LedgerPageSchema,
    MyPointsSchema,
    PeriodArgsSchema,
    RankingArgsSchema,
    RankingPageSchema,
)

blp = Blueprint("points_api", __name__, url_prefix="/api/v1", description="Points, ledger, rankings and disputes")


@blp.route("/me/points", methods=["GET"])
@auth_required(blp)
@blp.arguments(PeriodArgsSchema, location="query")
@blp.response(200, MyPointsSchema)
def my_points(args):
    """The caller's points: today, a period (default: this quarter), this year, all time, and today's caps."""
    member, error = caller_member()
    if error:
        return error
    summary = queries.member_summary(member, args.get("period"))
    return {
        "period": summary.period_key, "points": summary.period, "today": summary.today,
        "year": summary.year, "all_time": summary.all_time,
        "caps_today": [
            {"rule": rule.code, "granted_today": granted, "daily_cap": cap}
            for rule, granted, cap in services.caps_left_today(member)
        ],
    }


@blp.route("/me/ledger", methods=["GET"])
@auth_required(blp)
@blp.arguments(LedgerArgsSchema, location="query")
@blp.response(200, LedgerPageSchema)
def my_ledger(args):
    """The caller's ledger entries, newest first, each with a readable description."""
    member, error = caller_member()
    if error:
        return error
    page = org_queries.page_dict(org_queries.paginate(queries.member_entries(member), args["page"], args["per_page"]))
    given = manual.by_entry([e.id for e in page["items"]])
    for entry in page["items"]:
        entry.description = labels.entry_text(entry)
        award = given.get(entry.id)
        entry.given_by = award.given_by.name if award else None
        entry.approved_by = award.reviewed_by.name if award and award.reviewed_by else None
    return page


@blp.route("/rankings", methods=["GET"])
@auth_required(blp)
@blp.arguments(RankingArgsSchema, location="query")
@blp.response(200, RankingPageSchema)
@blp.alt_response(404, description="No such organisation in your scope")
@reads_from_replica
def ranking(args):
    """Members of an organisation, or the organisations below it, ranked for a period.

    Administrators see their scope; a member sees their own branch.
    """
    account = current_api_account()
    scope = scope_for(account)
    period_key = args.get("period") or periods.current_quarter()
    org = _ranking_org(account, scope, args.get("org"))
    if org is None:
        return problem(404, detail=_("No such organisation in your scope."))
    start = (args["page"] - 1) * args["per_page"]
    if args["kind"] == "member":
        ranking = ranking_pages.member_ranking_page(org, period_key, [args["status"]] if args.get("status") else None,
                                               page=args["page"], per_page=args["per_page"])
        items = [
            {"rank": r.rank, "id": r.member_id, "name": r.name, "points": r.points, "percentile": r.percentile,
             "organisation": r.organisation_name}
            for r in ranking.rows
        ]
        total = ranking.total
    else:
        everyone = rankings.org_ranking(org, period_key)
        items = [
            {"rank": r.rank, "id": r.organisation_id, "name": r.name, "score": r.score, "stars": r.stars}
            for r in everyone[start:start + args["per_page"]]
        ]
        total = len(everyone)
    return {
        "period": period_key, "org": org.id, "kind": args["kind"], "closed": rankings.is_closed(period_key),
        "tie_break": rankings.TIE_BREAK, "items": items,
        "page": args["page"], "per_page": args["per_page"], "total": total,
    }


@blp.route("/appraisal", methods=["GET"])
@auth_required(blp)
@blp.arguments(AppraisalArgsSchema, location="query")
@blp.response(200, AppraisalPageSchema)
@blp.alt_response(404, description="No such organisation in your scope")
@reads_from_replica
def appraisal(args):
    """Suggested appraisal grades with each member's study hours against their quota and whether
    they are eligible for awards (评先评优), for administrators and reviewers in their scope."""
    org = _scores_org(scope_for(current_api_account()), args.get("org"))
    if org is None:
        return problem(404, detail=_("No such organisation in your scope."))
    period_key = args.get("period") or periods.current_quarter()
    found = appraisal_pages.figures(org, period_key)
    rows = appraisal_pages.page_rows(org, period_key, found, page=args["page"], per_page=args["per_page"])
    items = [{"rank": r.ranking.rank, "id": r.ranking.member_id, "name": r.ranking.name,
              "organisation": r.ranking.organisation_name, "status": r.ranking.status, "points": r.ranking.points,
              "grade": r.grade.value if r.grade else None, "eligible": r.eligible, "reason": r.reason,
              "hours": r.hours, "volunteer_hours": r.volunteer_hours} for r in rows]
    return {"period": period_key, "org": org.id, "items": items, "page": args["page"], "per_page": args["per_page"],
            "total": found.appraised.total}


def _scores_org(scope, org_id):
    """The organisation ``org_id`` if the caller may see its scores, or the top of their scope."""
    return scope.org_or_first_root(Permission.VIEW_SCORES, org_id)


def _ranking_org(account, scope, org_id):
    """:func:`_scores_org`, or for a member without that permission their own branch."""
    org = _scores_org(scope, org_id)
    if org is not None:
        return org
    own = _own_branch(account)
    return own if own is not None and (org_id is None or org_id == own.id) else None


def _own_branch(account):
    """A member's branch (their organisation, or the branch above their group)."""
    if account.member is None:
        return None
    org = account.member.organisation
    if org.kind.value == "group" and org.parent is not None:
        return org.parent
    return org


@blp.route("/ledger/<int:entry_id>/disputes", methods=["POST"])
@auth_required(blp)
@blp.arguments(DisputeRequestSchema)
@blp.response(201, DisputeSchema)
@blp.alt_response(404, description="No such entry of yours")
@blp.alt_response(409, description="The entry cannot be disputed, or already has an open dispute")
def open_dispute(payload, entry_id):
    """Dispute one of your own ledger entries; an administrator of your branch reviews it."""
    member, error = caller_member()
    if error:
        return error
    entry = db.session.get(LedgerEntry, entry_id)
    if entry is None or entry.member_id != member.id:
        return problem(404, detail=_("No such entry of yours."))
    try:
        dispute = disputes.open_dispute(entry, member, payload["reason"])
    except services.PointsError as exc:
        db.session.rollback()
        return problem(409, detail=str(exc.message))
    db.session.commit()
    return dispute
