"""JSON shapes of the organisational-life API (clients and card readers build on these)."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

from learning.api.fields import Id, Page, PerPage, Text
from learning.orglife import setup
from learning.orglife.models import ActivityKind

KINDS = [k.value for k in ActivityKind]


def plausible_year(value) -> None:
    """Years 2000–2099 only (read off the value itself: converting year 1 or 9999 to UTC overflows)."""
    if not 2000 <= value.year <= 2099:
        raise ValidationError("a time between the years 2000 and 2099")


def Moment(**kwargs) -> fields.AwareDateTime:  # noqa: N802
    return fields.AwareDateTime(validate=plausible_year, **kwargs)


class ActivityCreateSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    title = Text(required=True, validate_with=[validate.Length(min=1, max=200)])
    organisation_id = Id(required=True)
    starts_at = Moment(required=True, metadata={"description": "ISO 8601 with its offset"})
    ends_at = Moment(required=True)
    place = Text(validate_with=[validate.Length(max=200)], load_default=None)
    description = Text(validate_with=[validate.Length(max=5000)], load_default=None)
    points_rule = fields.String(load_default=None, validate=validate.OneOf(setup.load().choosable_rules),
                                metadata={"description": "the attendance rule; default: the kind's (activities.yaml)"})
    group_ids = fields.List(Id(), load_default=None, validate=validate.Length(max=200),
                            metadata={"description": "expect only these groups of the organisation"})
    member_ids = fields.List(Id(), load_default=None, validate=validate.Length(max=5000),
                             metadata={"description": "expect only these members of the organisation"})
    publish_notice = fields.Boolean(load_default=False)


class ActivitySchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    title = fields.String()
    organisation_id = fields.Integer()
    organisation = fields.String()
    starts_at = fields.DateTime()
    ends_at = fields.DateTime()
    place = fields.String(allow_none=True)
    points_rule = fields.String()
    cancelled = fields.Boolean()
    expected = fields.Integer()
    present = fields.Integer()
    checked_in = fields.Boolean(allow_none=True, metadata={"description": "whether the caller is checked in"})


class ActivityListArgsSchema(Schema):
    scope = fields.String(load_default="mine", validate=validate.OneOf(["mine", "organisation"]),
                          metadata={"description": "mine: the caller's activities; organisation: those the caller "
                                                   "may see as an administrator"})
    upcoming = fields.Boolean(load_default=True)
    page = Page()
    per_page = PerPage()


class ActivityPageSchema(Schema):
    items = fields.List(fields.Nested(ActivitySchema))
    page = fields.Integer()
    pages = fields.Integer()
    total = fields.Integer()


class CodeSchema(Schema):
    code = fields.String(metadata={"description": "6 digits; changes every 30 seconds"})
    expires_at = fields.DateTime()
    open = fields.Boolean(metadata={"description": "check-in is open (30 minutes before the start to the end)"})


class CheckInSchema(Schema):
    code = fields.String(required=True, validate=validate.Regexp(r"^[0-9]{6}$", error="the code is 6 digits"))


class CheckInResultSchema(Schema):
    activity_id = fields.Integer()
    member_id = fields.Integer()
    method = fields.String()
    at = fields.DateTime()
    created = fields.Boolean()


class SwipeSchema(Schema):
    card = Text(required=True, validate_with=[validate.Length(min=1, max=64)])
    swiped_at = Moment(required=True)


class SwipeBatchSchema(Schema):
    swipes = fields.List(fields.Nested(SwipeSchema), required=True, validate=validate.Length(min=1, max=500))


class SwipeResultSchema(Schema):
    card = fields.String()
    swiped_at = fields.DateTime()
    status = fields.String(metadata={"description": "checked_in, already, unknown_card (kept) or no_activity (kept)"})
    member_id = fields.Integer(allow_none=True)
    activity_id = fields.Integer(allow_none=True)


class SwipeResultsSchema(Schema):
    results = fields.List(fields.Nested(SwipeResultSchema))


class NoticeSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    title = fields.String()
    body = fields.String()
    organisation = fields.String()
    published_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)
    activity_id = fields.Integer(allow_none=True)


class NoticeArgsSchema(Schema):
    page = Page()
    per_page = PerPage()


class NoticePageSchema(Schema):
    items = fields.List(fields.Nested(NoticeSchema))
    page = fields.Integer()
    pages = fields.Integer()
    total = fields.Integer()


class ReadSchema(Schema):
    notice_id = fields.Integer()
    read_at = fields.DateTime()
    first_time = fields.Boolean()
