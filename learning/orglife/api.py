"""Organisational life over /api/v1: activities, the check-in code, check-ins, card readers, notices."""
from __future__ import annotations

from flask import request
from flask_babel import gettext as _
from flask_smorest import Blueprint
from marshmallow import ValidationError
from sqlalchemy import select

from learning.api import auth_required, caller_member, current_api_account
from learning.api.problems import flatten_validation_errors, problem
from learning.extensions import db, limiter
from learning.orglife import activities, checkin, devices, notices
from learning.orglife.models import Activity, Attendance, Notice
from learning.orglife.schemas import (
    ActivityCreateSchema,
    ActivityListArgsSchema,
    ActivityPageSchema,
    ActivitySchema,
    CheckInResultSchema,
    CheckInSchema,
    CodeSchema,
    NoticeArgsSchema,
    NoticePageSchema,
    ReadSchema,
    SwipeBatchSchema,
    SwipeResultsSchema,
)
from learning.orgs import queries as org_queries
from learning.orgs.models import Organisation
from learning.orgs.scoping import Permission, scope_for
from learning.web.inputs import has_control, json_strings

blp = Blueprint("orglife_api", __name__, url_prefix="/api/v1", description="Organisational life: activities, check-in, notices")


def _refused(exc: activities.OrgLifeError):
    db.session.rollback()
    errors = {exc.field: [str(exc.message)]} if exc.field and exc.status == 422 else None
    return problem(exc.status, detail=str(exc.message), errors=errors)


def activity_dict(item: Activity, counts: tuple[int, int], checked_in: bool | None) -> dict:
    return {"id": item.id, "kind": item.kind.value, "title": item.title, "organisation_id": item.organisation_id,
            "organisation": item.organisation.name, "starts_at": item.starts_at, "ends_at": item.ends_at,
            "place": item.place, "points_rule": item.points_rule, "cancelled": item.cancelled_at is not None,
            "expected": counts[0], "present": counts[1], "checked_in": checked_in}


@blp.route("/activities", methods=["POST"])
@auth_required(blp)
@blp.arguments(ActivityCreateSchema)
@blp.response(201, ActivitySchema)
@blp.alt_response(404, description="No such organisation among those the caller manages")
@blp.alt_response(422, description="Invalid input (field errors)")
def create_activity(data):
    """Create an activity of an organisation the caller manages, with the members expected."""
    account = current_api_account()
    org = db.session.get(Organisation, data["organisation_id"])
    if not scope_for(account).can_org(Permission.MANAGE_MEMBERS, org):
        return problem(404, detail=_("No such organisation."))
    try:
        item = activities.create_activity(
            org, actor=account, kind=data["kind"], title=data["title"], starts_at=data["starts_at"],
            ends_at=data["ends_at"], place=data["place"], description=data["description"],
            points_rule=data["points_rule"],
            audience=activities.Audience(group_ids=data["group_ids"], member_ids=data["member_ids"]))
        if data["publish_notice"]:
            notices.publish(org, actor=account, kind="meeting", title=item.title,
                            body=item.description or item.title, group_ids=data["group_ids"], activity=item)
    except activities.OrgLifeError as exc:
        return _refused(exc)
    db.session.commit()
    return activity_dict(item, activities.counts([item.id])[item.id], None), 201


@blp.route("/activities", methods=["GET"])
@auth_required(blp)
@blp.arguments(ActivityListArgsSchema, location="query")
@blp.response(200, ActivityPageSchema)
def list_activities(args):
    """The caller's activities (``scope=mine``), or those of the organisations they supervise."""
    account = current_api_account()
    if args["scope"] == "mine":
        member, error = caller_member()
        if error:
            return error
        query = activities.for_member(member, upcoming=args["upcoming"])
    else:
        member = account.member
        query = activities.for_admin(account)
    pagination = org_queries.paginate(query, args["page"], args["per_page"])
    ids = [a.id for a in pagination.items]
    counts = activities.counts(ids)
    mine = set(db.session.scalars(select(Attendance.activity_id).where(
        Attendance.member_id == member.id, Attendance.activity_id.in_(ids or [-1])))) if member is not None else set()
    return {"items": [activity_dict(a, counts[a.id], (a.id in mine) if member is not None else None)
                      for a in pagination.items],
            "page": pagination.page, "pages": pagination.pages, "total": pagination.total}


def _visible(activity_id: int) -> Activity | None:
    item = db.session.get(Activity, activity_id)
    return item if item is not None and activities.may_see(current_api_account(), item) else None


@blp.route("/activities/<int:activity_id>/check-in-code", methods=["GET"])
@auth_required(blp)
@blp.response(200, CodeSchema)
@blp.alt_response(403, description="Only the organiser (or who manages the organisation) sees the code")
@blp.alt_response(404, description="No such activity for the caller")
def check_in_code(activity_id):
    """The code the organiser's screen shows now (changes every 30 seconds)."""
    item = _visible(activity_id)
    if item is None:
        return problem(404, detail=_("No such activity."))
    account = current_api_account()
    if item.organiser_account_id != account.id and not activities.may_manage(account, item):
        return problem(403, detail=_("Only the organiser sees the check-in code."))
    code, expires_at = checkin.current_code(item)
    response = {"code": code, "expires_at": expires_at, "open": activities.open_for_check_in(item)}
    return response


@blp.route("/activities/<int:activity_id>/check-ins", methods=["POST"])
@auth_required(blp)
@limiter.limit(checkin.ATTEMPTS, key_func=checkin.attempt_key)
@blp.arguments(CheckInSchema)
@blp.response(201, CheckInResultSchema)
@blp.alt_response(200, schema=CheckInResultSchema, description="Checked in before: nothing changed")
@blp.alt_response(404, description="No such activity for the caller")
@blp.alt_response(422, description="A wrong or expired code, or check-in not open")
def check_in(data, activity_id):
    """Check the caller in with the code on the organiser's screen: 201 the first time, 200 after."""
    member, error = caller_member()
    if error:
        return error
    item = _visible(activity_id)
    if item is None:
        return problem(404, detail=_("No such activity."))
    try:
        attendance, created = checkin.check_in_with_code(item, member, data["code"])
    except activities.OrgLifeError as exc:
        return _refused(exc)
    db.session.commit()
    return {"activity_id": item.id, "member_id": member.id, "method": attendance.method.value, "at": attendance.at,
            "created": created}, 201 if created else 200


@blp.route("/devices/check-ins", methods=["POST"])
@limiter.limit("600 per minute")
@blp.response(200, SwipeResultsSchema)
@blp.alt_response(401, description="Missing or wrong signature, unknown or revoked reader, timestamp off by 5 minutes")
@blp.alt_response(422, description="Not a batch of swipes; nothing was stored")
@blp.doc(
    description="A card reader's swipes. Headers: `X-Device-Id`, `X-Device-Timestamp` (Unix seconds) and "
    "`X-Device-Signature` (`sha256=` + hex HMAC-SHA256(device secret, timestamp + '.' + raw body)). Each swipe "
    "is kept; a swipe sent again is answered as the first time.",
    requestBody={"content": {"application/json": {"schema": SwipeBatchSchema}}},
)
def device_check_ins():
    """Swipes of e通卡 cards: each member checked in once to the activity open at that time."""
    body = request.get_data(cache=True)
    try:
        device = devices.authenticate(request.headers.get("X-Device-Id"), request.headers.get("X-Device-Timestamp"),
                                      request.headers.get("X-Device-Signature"), body)
    except devices.DeviceAuthError as exc:
        db.session.rollback()
        return problem(401, detail=str(exc))
    payload = request.get_json(silent=True)
    if payload is None:
        return problem(400, detail=_("The body is not JSON."))
    try:
        batch = SwipeBatchSchema().load(payload)
    except ValidationError as exc:
        return problem(422, detail=_("The swipes are not well formed; nothing was stored."),
                       errors=flatten_validation_errors(exc.messages))
    if any(has_control(text) for _where, text in json_strings(payload, "swipes")):
        return problem(422, detail=_("Control characters are not allowed."))
    results = devices.receive(device, batch["swipes"])
    db.session.commit()
    return {"results": [vars(r) for r in results]}


@blp.route("/notices", methods=["GET"])
@auth_required(blp)
@blp.arguments(NoticeArgsSchema, location="query")
@blp.response(200, NoticePageSchema)
def list_notices(args):
    """The caller's notices, newest first, with their read receipt."""
    member, error = caller_member()
    if error:
        return error
    pagination = org_queries.paginate(notices.for_member(member), args["page"], args["per_page"])
    read = notices.read_times(member, [n.id for n in pagination.items])
    return {"items": [{"id": n.id, "kind": n.kind.value, "title": n.title, "body": n.body,
                       "organisation": n.organisation.name, "published_at": n.published_at, "read_at": read.get(n.id),
                       "activity_id": n.activity_id} for n in pagination.items],
            "page": pagination.page, "pages": pagination.pages, "total": pagination.total}


@blp.route("/notices/<int:notice_id>/read", methods=["POST"])
@auth_required(blp)
@blp.response(200, ReadSchema)
@blp.alt_response(404, description="No such notice for the caller")
def read_notice(notice_id):
    """The caller's read receipt (again: nothing changes)."""
    member, error = caller_member()
    if error:
        return error
    item = db.session.get(Notice, notice_id)
    receipt = notices.receipt(notice_id, member.id) if item is not None else None
    if receipt is None:
        return problem(404, detail=_("No such notice."))
    first = notices.mark_read(item, member)
    db.session.commit()
    receipt = notices.receipt(notice_id, member.id)
    return {"notice_id": item.id, "read_at": receipt.read_at, "first_time": first}
