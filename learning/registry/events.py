"""What each registry event type means here.  One handler per type; each validates its data
with a marshmallow schema and changes the tree or awards points through the services.

A handler raises :class:`EventError` for anything it cannot apply (unknown member, bad data);
the event is then kept with that message.
"""
from __future__ import annotations

from datetime import date, datetime, time, timezone

from marshmallow import Schema, ValidationError, fields, validate

from learning.orglife import volunteer
from learning.orglife.models import ActivityKind, VolunteerSource
from learning.orgs import services as orgs
from learning.orgs.models import MemberStatus, OrgKind
from learning.points import periods
from learning.points.models import ActorKind
from learning.points.services import PointsError, award

# The registry's meeting types, as kinds of activity (the kind decides the points: activities.yaml).
MEETING_TYPES = {
    "branch_general_meeting": ActivityKind.BRANCH_ASSEMBLY,  # 支部党员大会
    "committee_meeting": ActivityKind.COMMITTEE_MEETING,  # 支委会
    "group_meeting": ActivityKind.GROUP_MEETING,  # 党小组会
    "party_lecture": ActivityKind.PARTY_LECTURE,  # 党课
    "theme_party_day": ActivityKind.THEME_DAY,  # 主题党日
}


class EventError(ValueError):
    pass


class DuplicateEvent(Exception):
    """The event repeats one already applied under another id (its natural key): it changes nothing."""


class MemberData(Schema):
    external_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    name = fields.String(validate=validate.Length(min=1, max=100))
    organisation = fields.String(validate=validate.Length(min=1, max=64))
    status = fields.String(validate=validate.OneOf([s.value for s in MemberStatus]))
    joined_on = fields.Date()
    # The member's e通卡 number, when the registry issues cards: card readers check them in by it.
    card = fields.String(validate=validate.Length(min=1, max=64))


class MemberRef(Schema):
    external_id = fields.String(required=True, validate=validate.Length(min=1, max=64))


class TransferData(Schema):
    external_id = fields.String(required=True)
    to = fields.String(required=True, data_key="to")
    from_ = fields.String(data_key="from")
    effective_date = fields.Date()


class OrganisationData(Schema):
    external_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    name = fields.String(validate=validate.Length(min=1, max=200))
    kind = fields.String(validate=validate.OneOf([k.value for k in OrgKind]))
    parent = fields.String(allow_none=True)
    joint = fields.Boolean(load_default=False)


class MeetingData(Schema):
    organisation = fields.String(required=True)
    meeting_type = fields.String(required=True, validate=validate.OneOf(sorted(MEETING_TYPES)))
    date = fields.Date(required=True)
    title = fields.String(validate=validate.Length(max=200))
    attendees = fields.List(fields.String(), required=True)
    on_schedule = fields.Boolean(load_default=False)
    # The registry's own id of the meeting, when it has one; otherwise a meeting is its organisation,
    # type and day.
    meeting_id = fields.String(validate=validate.Length(min=1, max=64))


class DuesData(Schema):
    member = fields.String(required=True)
    month = fields.String(required=True, validate=validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$"))
    on_time = fields.Boolean(required=True)


class VolunteerData(Schema):
    member = fields.String(required=True)
    hours = fields.Decimal(required=True, validate=validate.Range(min=0, max=24), as_string=False)
    date = fields.Date(required=True)
    title = fields.String(validate=validate.Length(max=200))


class ElectionData(Schema):
    organisation = fields.String(required=True)
    date = fields.Date(required=True)  # the day the new committee was elected (换届选举)
    due = fields.Date(required=True)  # the day the old committee's term ended (届满)


def _load(schema: Schema, data) -> dict:
    try:
        return schema.load(data or {})
    except ValidationError as exc:
        raise EventError(f"invalid data: {exc.messages}") from None


def _member(external_id: str):
    member = orgs.member_by_external_id(external_id)
    if member is None:
        raise EventError(f"unknown member {external_id!r}")
    return member


def _org(external_id: str):
    org = orgs.org_by_external_id(external_id)
    if org is None:
        raise EventError(f"unknown organisation {external_id!r}")
    return org


def _noon(day: date) -> datetime:
    """A date from the registry, as noon of that day in the configured zone."""
    return datetime.combine(day, time(12), tzinfo=periods.zone()).astimezone(timezone.utc)


def _source(event) -> str:
    return f"registry:{event.connection_id}:{event.event_id}"


def member_joined(event, data) -> str:
    d = _load(MemberData(), data)
    if orgs.member_by_external_id(d["external_id"]) is not None:
        return member_updated(event, data)
    if "name" not in d or "organisation" not in d:
        raise EventError("a new member needs name and organisation")
    member = orgs.create_member(d["name"], _org(d["organisation"]), MemberStatus(d.get("status", "full")),
                                external_id=d["external_id"], joined_on=d.get("joined_on"))
    _card(member, d)
    return f"member {member.external_id} created"


def member_updated(event, data) -> str:
    d = _load(MemberData(), data)
    member = _member(d["external_id"])
    orgs.update_member(member, name=d.get("name"), status=d.get("status"), joined_on=d.get("joined_on"))
    if "organisation" in d and d["organisation"] != member.organisation.external_id:
        orgs.transfer_member(member, _org(d["organisation"]))
    _card(member, d)
    return f"member {member.external_id} updated"


def _card(member, d: dict) -> None:
    if d.get("card"):
        from learning.orglife.devices import assign_card

        assign_card(member, d["card"])


def member_left(event, data) -> str:
    d = _load(MemberRef(), data)
    orgs.deactivate_member(_member(d["external_id"]))
    return f"member {d['external_id']} deactivated (history and points kept)"


def member_transferred(event, data) -> str:
    d = _load(TransferData(), data)
    member = _member(d["external_id"])
    try:
        orgs.transfer_member(member, _org(d["to"]))
    except orgs.OrgError as exc:
        raise EventError(str(exc)) from None
    return f"member {member.external_id} transferred to {d['to']}"


def organisation_created(event, data) -> str:
    d = _load(OrganisationData(), data)
    if orgs.org_by_external_id(d["external_id"]) is not None:
        return organisation_updated(event, data)
    if "name" not in d or "kind" not in d:
        raise EventError("a new organisation needs name and kind")
    parent = _org(d["parent"]) if d.get("parent") else None
    try:
        org = orgs.create_organisation(d["name"], OrgKind(d["kind"]), parent, external_id=d["external_id"], joint=d["joint"])
    except orgs.OrgError as exc:
        raise EventError(str(exc)) from None
    return f"organisation {org.external_id} created"


def organisation_updated(event, data) -> str:
    d = _load(OrganisationData(), data)
    org = _org(d["external_id"])
    parent = _org(d["parent"]) if d.get("parent") else None
    try:
        orgs.update_organisation(org, name=d.get("name"), parent=parent, move="parent" in d)
    except orgs.OrgError as exc:
        raise EventError(str(exc)) from None
    return f"organisation {org.external_id} updated"


def organisation_dissolved(event, data) -> str:
    d = _load(MemberRef(), data)
    try:
        orgs.dissolve_organisation(_org(d["external_id"]))
    except orgs.OrgError as exc:
        raise EventError(str(exc)) from None
    return f"organisation {d['external_id']} dissolved"


def meeting_key(org, d: dict) -> str:
    """A meeting's natural key: the registry's meeting id, or its organisation, type and day.  Awards
    use it as their source, so a meeting redelivered under a new event id pays nobody twice."""
    if d.get("meeting_id"):
        return f"meeting:{org.id}:{d['meeting_id']}"
    return f"meeting:{org.id}:{d['meeting_type']}:{d['date'].isoformat()}"


def meeting_held(event, data) -> str:
    """三会一课 and 主题党日: the meeting lands in the organisation's activity record (see
    ``orglife.checkin.from_registry``); each attendee is checked in once and paid once, and the
    branch gets its on-schedule points for the kind's period (content/orglife/activities.yaml; the
    event's ``on_schedule`` is no longer needed)."""
    from learning.orglife.checkin import from_registry

    d = _load(MeetingData(), data)
    org = _org(d["organisation"])
    members = [_member(external_id) for external_id in dict.fromkeys(d["attendees"])]  # all known, or nothing
    new, awarded = from_registry(org, MEETING_TYPES[d["meeting_type"]], d["date"], d.get("title"), members,
                                 meeting_key(org, d), _noon(d["date"]))
    if not new and members:
        raise DuplicateEvent(f"meeting {meeting_key(org, d)} was recorded before: no points")
    return f"{len(members)} attendees, {awarded} points"


def dues_paid(event, data) -> str:
    d = _load(DuesData(), data)
    member = _member(d["member"])
    if not d["on_time"]:
        return "paid late: no points"
    year, month = map(int, d["month"].split("-"))
    # One award per member and month, whatever the registry's event ids.
    result = award("dues_paid_on_time", member=member, source_key=f"dues:{d['month']}",
                   occurred_at=_noon(date(year, month, 1)), actor_kind=ActorKind.REGISTRY)
    return f"{result.points} points"


def election_held(event, data) -> str:
    """按期换届: an organisation that elects its new committee by the end of the old one's term earns
    *election held on time*, once per election (its organisation and day), whatever the event ids."""
    d = _load(ElectionData(), data)
    org = _org(d["organisation"])
    if d["date"] > d["due"]:
        return f"held {(d['date'] - d['due']).days} days after the term ended: no points"
    result = award("election_on_time", organisation=org, source_key=f"election:{d['date'].isoformat()}",
                   occurred_at=_noon(d["date"]), actor_kind=ActorKind.REGISTRY)
    return f"{result.points} points"


def volunteer_service(event, data) -> str:
    d = _load(VolunteerData(), data)
    member = _member(d["member"])
    result = award("volunteer_service", member=member, source_key=_source(event), quantity=d["hours"],
                   occurred_at=_noon(d["date"]), title=d.get("title"), actor_kind=ActorKind.REGISTRY)
    volunteer.record(member, d["hours"], d["date"], VolunteerSource.REGISTRY, _source(event), title=d.get("title"))
    return f"{result.points} points" + (" (capped)" if result.capped else "")


HANDLERS = {
    "member.joined": member_joined,
    "member.updated": member_updated,
    "member.left": member_left,
    "member.transferred": member_transferred,
    "organisation.created": organisation_created,
    "organisation.updated": organisation_updated,
    "organisation.dissolved": organisation_dissolved,
    "meeting.held": meeting_held,
    "dues.paid": dues_paid,
    "volunteer.service": volunteer_service,
    "election.held": election_held,
}


def apply(event) -> str:
    handler = HANDLERS.get(event.type)
    if handler is None:
        raise EventError(f"unknown event type {event.type!r}; known: {', '.join(sorted(HANDLERS))}")
    try:
        return handler(event, event.payload.get("data"))
    except PointsError as exc:
        raise EventError(str(exc)) from None
