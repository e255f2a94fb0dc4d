"""marshmallow schemas of the points API."""
from marshmallow import Schema, ValidationError, fields, validate, validates
from learning.api.fields import Id, Page, PerPage, Period, Text



class PeriodArgsSchema(Schema):
    period = Period()


class CapSchema(Schema):
    rule = fields.String()
    granted_today = fields.Integer()
    daily_cap = fields.Integer()


class MyPointsSchema(Schema):
    period = fields.String()
    points = fields.Integer()
    today = fields.Integer()
    year = fields.Integer()
    all_time = fields.Integer()
    caps_today = fields.List(fields.Nested(CapSchema))


class LedgerEntrySchema(Schema):
    id = fields.Integer()
    rule = fields.Function(lambda e: e.rule.code)
    description = fields.String()
    title = fields.String(allow_none=True)
    points = fields.Integer()
    requested_points = fields.Integer()
    capped = fields.Boolean()
    occurred_on = fields.Date()
    period = fields.String(attribute="quarter_key")
    reason = fields.String(allow_none=True)
    corrects_id = fields.Integer(allow_none=True)
    given_by = fields.String(allow_none=True, metadata={"description": "Manual entries: the administrator who gave it"})
    approved_by = fields.String(allow_none=True, metadata={
        "description": "Manual entries that needed a second administrator: who approved it"})


class LedgerArgsSchema(Schema):
    page = Page()
    per_page = PerPage()


class LedgerPageSchema(Schema):
    items = fields.List(fields.Nested(LedgerEntrySchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
    pages = fields.Integer()


class RankingArgsSchema(LedgerArgsSchema):
    period = Period()
    org = Id(metadata={"description": "Organisation id; default: the top of your scope (your branch for members)"})
    kind = fields.String(load_default="member", validate=validate.OneOf(["member", "org"]))
    status = fields.String(validate=validate.OneOf(["full", "probationary", "activist", "candidate"]))


class RankingItemSchema(Schema):
    rank = fields.Integer()
    id = fields.Integer()
    name = fields.String()
    points = fields.Integer(allow_none=True)
    score = fields.Float(allow_none=True)
    percentile = fields.Float(allow_none=True)
    organisation = fields.String(allow_none=True)
    stars = fields.Integer(allow_none=True)


class RankingPageSchema(Schema):
    period = fields.String()
    org = fields.Integer()
    kind = fields.String()
    closed = fields.Boolean()
    tie_break = fields.String()
    items = fields.List(fields.Nested(RankingItemSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()


class AppraisalArgsSchema(LedgerArgsSchema):
    period = Period()
    org = Id(metadata={"description": "Organisation id; default: the top of your scope"})


class StudyHoursSchema(Schema):
    period = fields.String(attribute="period_key", metadata={"description": "the quarter or year whose hours decide"})
    required = fields.Float()
    elective = fields.Float()
    quota_required = fields.Float(attribute="need_required")
    quota_elective = fields.Float(attribute="need_elective")


class AppraisalItemSchema(Schema):
    rank = fields.Integer()
    id = fields.Integer()
    name = fields.String()
    organisation = fields.String()
    status = fields.String()
    points = fields.Integer()
    grade = fields.String(allow_none=True, metadata={"description": "suggested: excellent, qualified, "
                                                     "basically_qualified, unqualified; null: not graded"})
    eligible = fields.Boolean(allow_none=True, metadata={"description": "评先评优: the study-hours gate"})
    reason = fields.String(allow_none=True, metadata={"description": "why not eligible"})
    hours = fields.Nested(StudyHoursSchema, allow_none=True)
    volunteer_hours = fields.Float(allow_none=True, metadata={
        "description": "hours of volunteer service (志愿服务时长) in the period's year; null for all time"})


class AppraisalPageSchema(Schema):
    period = fields.String()
    org = fields.Integer()
    items = fields.List(fields.Nested(AppraisalItemSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()


class DisputeRequestSchema(Schema):
    reason = Text(required=True, validate_with=[validate.Length(min=5, max=2000)])

    @validates("reason")
    def _not_blank(self, value, **_kwargs):
        if not value.strip():
            raise ValidationError("must not be blank")


class DisputeSchema(Schema):
    id = fields.Integer()
    entry_id = fields.Integer()
    status = fields.Function(lambda d: d.status.value)
    reason = fields.String()
    resolution = fields.String(allow_none=True)
