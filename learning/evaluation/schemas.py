"""JSON shapes of the appraisal-year API (/api/v1/evaluations…)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from learning.api.fields import Id, Text

MONTH = validate.Regexp(r"^(19|20|21)\d{2}-(0[1-9]|1[0-2])$", error="use a month as 2026-11")


class ReportArgsSchema(Schema):
    org = Id(metadata={"description": "Organisation id; default: the top of your scope"})
    month = fields.String(validate=MONTH, metadata={"description": "2026-11; default: last month"})


class ReportFiguresSchema(Schema):
    class Meta:
        unknown = "include"

    month = fields.String()
    members = fields.Integer()
    activities = fields.Dict(metadata={"description": "held, by_kind, expected, present, attendance_rate"})
    study = fields.Dict(metadata={"description": "period (the quarter), members, on_track, rate"})
    quizzes = fields.Dict(metadata={"description": "members who finished a quiz in the month, rate"})
    points = fields.Dict(metadata={"description": "members' points, the branch's own, per member"})
    disputes = fields.Dict(metadata={"description": "opened, decided in the month"})


class ReportSchema(Schema):
    branch_id = fields.Integer()
    branch = fields.String()
    month = fields.String()
    state = fields.String(metadata={"description": "submitted, late (submitted after the deadline), draft, missing"})
    due = fields.Date()
    overdue = fields.Boolean()
    submitted_at = fields.AwareDateTime(allow_none=True)
    account = fields.String(allow_none=True, metadata={"description": "the branch's account of the month"})
    figures = fields.Nested(ReportFiguresSchema, allow_none=True,
                            metadata={"description": "frozen when submitted; as of now otherwise"})


class ReportListSchema(Schema):
    org = fields.Integer()
    month = fields.String()
    due = fields.Date()
    items = fields.List(fields.Nested(ReportSchema))


class ReportWriteSchema(Schema):
    account = Text(required=True, validate_with=[validate.Length(max=2000)])
    submit = fields.Boolean(load_default=False, metadata={"description": "true: submit (final); false: keep a draft"})


class BallotCandidateSchema(Schema):
    member_id = fields.Integer()
    name = fields.String()
    my_grade = fields.String(allow_none=True, metadata={"description": "the grade you gave (only you see it)"})


class BallotSchema(Schema):
    window_id = fields.Integer()
    organisation = fields.String()
    year = fields.Integer()
    closes_at = fields.AwareDateTime()
    branch = fields.String()
    submitted = fields.Boolean()
    self_assessment = fields.String(allow_none=True)
    candidates = fields.List(fields.Nested(BallotCandidateSchema))


class VoteSchema(Schema):
    member_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=2**31 - 1))
    grade = fields.String(required=True, validate=validate.OneOf(["excellent", "qualified", "basically_qualified",
                                                                  "unqualified"]))


class BallotWriteSchema(Schema):
    self_assessment = Text(load_default="", validate_with=[validate.Length(max=2000)])
    votes = fields.List(fields.Nested(VoteSchema), required=True, validate=validate.Length(max=500))


class TurnoutSchema(Schema):
    branch_id = fields.Integer()
    branch = fields.String()
    voters = fields.Integer()
    voted = fields.Integer()


class ResultSchema(Schema):
    member_id = fields.Integer()
    name = fields.String()
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())
    ballot_score = fields.Float(allow_none=True)
    percentile = fields.Float()
    eligible = fields.Boolean(allow_none=True)
    combined = fields.Float(allow_none=True)
    grade = fields.String(allow_none=True)


class WindowSchema(Schema):
    id = fields.Integer()
    organisation_id = fields.Integer()
    organisation = fields.String()
    year = fields.Integer()
    opens_at = fields.AwareDateTime()
    closes_at = fields.AwareDateTime()
    state = fields.String(metadata={"description": "scheduled, open or closed"})
    turnout = fields.List(fields.Nested(TurnoutSchema))


class WindowListSchema(Schema):
    items = fields.List(fields.Nested(WindowSchema))


class ResultArgsSchema(Schema):
    branch = fields.Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1))


class ResultListSchema(Schema):
    window_id = fields.Integer()
    branch_id = fields.Integer()
    items = fields.List(fields.Nested(ResultSchema))


QUARTER = validate.Regexp(r"^(19|20|21)\d{2}Q[1-4]$", error="use a quarter as 2026Q4")


class InspectionArgsSchema(Schema):
    org = Id(metadata={"description": "Organisation id; default: the top of your scope"})
    quarter = fields.String(validate=QUARTER, metadata={"description": "2026Q4; default: this quarter"})


class InspectionItemSchema(Schema):
    code = fields.String()
    name = fields.String()
    max_points = fields.Integer()
    computed = fields.Boolean()
    figure = fields.Float(allow_none=True, metadata={"description": "the computed share of the quarter, 0–1"})
    score = fields.Float(allow_none=True)
    comment = fields.String()
    dispute_reason = fields.String(allow_none=True)
    dispute_state = fields.Function(lambda item: item.dispute_state.value if item.dispute_state else None,
                                    metadata={"description": "open, accepted, rejected; null: not disputed"})
    dispute_reply = fields.String(allow_none=True)


class InspectionSchema(Schema):
    branch_id = fields.Integer()
    branch = fields.String()
    quarter = fields.String()
    status = fields.String(allow_none=True, metadata={"description": "draft, published; null: not inspected"})
    total = fields.Float(allow_none=True)
    maximum = fields.Integer(allow_none=True)
    frozen = fields.Boolean()
    items = fields.List(fields.Nested(InspectionItemSchema))


class InspectionListSchema(Schema):
    org = fields.Integer()
    quarter = fields.String()
    items = fields.List(fields.Nested(InspectionSchema))


CODE = validate.Regexp(r"^[a-z][a-z_]{0,39}$", error="a code of the checklist or of a title, as ledger_quality")


class EntrySchema(Schema):
    code = fields.String(required=True, validate=CODE)
    score = fields.Float(allow_none=True, load_default=None)
    comment = Text(load_default="", validate_with=[validate.Length(max=500)])


class InspectionWriteSchema(Schema):
    entries = fields.List(fields.Nested(EntrySchema), load_default=list, validate=validate.Length(max=50))
    publish = fields.Boolean(load_default=False)


class DisputeWriteSchema(Schema):
    reason = Text(required=True, validate_with=[validate.Length(max=500)])


class YearArgsSchema(Schema):
    org = Id(metadata={"description": "Organisation id; default: the top of your scope"})
    year = fields.Integer(validate=validate.Range(min=2000, max=2099), metadata={"description": "default: last year"})


class YearRowSchema(Schema):
    rank = fields.Integer()
    branch_id = fields.Integer()
    branch = fields.String()
    points_part = fields.Float()
    inspections_part = fields.Float()
    reports_part = fields.Float()
    score = fields.Float(metadata={"description": "of 110"})
    stars = fields.Integer()
    ranking_score = fields.Float()
    inspection_points = fields.Float()
    reports_on_time = fields.Integer()


class YearSchema(Schema):
    org = fields.Integer()
    year = fields.Integer()
    confirmed = fields.Boolean()
    checksum = fields.String(allow_none=True)
    verified = fields.Boolean(allow_none=True, metadata={"description": "a recomputation matches the frozen rows"})
    rows = fields.List(fields.Nested(YearRowSchema))


class HonourArgsSchema(Schema):
    year = fields.Integer(validate=validate.Range(min=2000, max=2099), metadata={"description": "default: this year"})


class NominationSchema(Schema):
    id = fields.Integer()
    year = fields.Integer()
    title = fields.String()
    title_name = fields.String()
    member_id = fields.Integer(allow_none=True)
    organisation_id = fields.Integer(allow_none=True)
    nominee = fields.String()
    nominated_by = fields.String()
    reason = fields.String()
    status = fields.String(metadata={"description": "nominated, approved, refused"})


class NominationListSchema(Schema):
    year = fields.Integer()
    items = fields.List(fields.Nested(NominationSchema))


class NominateSchema(Schema):
    year = fields.Integer(required=True, validate=validate.Range(min=2000, max=2099))
    title = fields.String(required=True, validate=CODE)
    member_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    organisation_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    reason = Text(required=True, validate_with=[validate.Length(max=1000)])


class DecisionSchema(Schema):
    approve = fields.Boolean(required=True)
    note = Text(load_default="", validate_with=[validate.Length(max=500)])
