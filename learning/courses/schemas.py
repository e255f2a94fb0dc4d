"""JSON shapes of the courses API (the mobile client)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate
from learning.api.fields import Count, Text

from learning.points.schemas import PeriodArgsSchema


class CatalogueArgsSchema(Schema):
    q = Text(load_default="", validate_with=[validate.Length(max=100)])
    show = fields.String(load_default="", validate=validate.OneOf(["", "required", "elective", "in_progress", "done"]))
    category = Text(load_default="", validate_with=[validate.Length(max=50)])


class CourseSummarySchema(Schema):
    id = fields.Integer()
    slug = fields.String()
    title = fields.String()
    summary = fields.String()
    category = fields.String()
    tags = fields.List(fields.String())
    credit_hours = fields.Float()
    required = fields.Boolean(metadata={"description": "required (必修) for the caller this period"})
    state = fields.String(metadata={"description": "new, in_progress or done"})


class CatalogueSchema(Schema):
    items = fields.List(fields.Nested(CourseSummarySchema))


class LessonSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    kind = fields.String()
    min_seconds = fields.Integer()
    media_url = fields.String(allow_none=True)
    media_seconds = fields.Integer(allow_none=True)
    studied_seconds = fields.Integer()
    completed = fields.Boolean()
    retired = fields.Boolean()


class CourseDetailSchema(CourseSummarySchema):
    lessons = fields.List(fields.Nested(LessonSchema))
    completed_at = fields.DateTime(allow_none=True)


class SessionSchema(Schema):
    token = fields.String(metadata={"description": "send it with each heartbeat"})
    heartbeat_seconds = fields.Integer()
    lesson = fields.Nested(LessonSchema)
    body_html = fields.String(metadata={"description": "the lesson text, rendered"})


class HeartbeatSchema(Schema):
    """What a heartbeat may say.  Anything else (a duration, a score) is refused with 422."""

    seq = Count(required=True, strict=True, metadata={"description": "1, 2, 3 … per session"})
    visible = fields.Boolean(load_default=True)
    playing = fields.Boolean(load_default=None, allow_none=True)
    position = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=0, max=86_400),
                            metadata={"description": "media position in seconds"})


class BeatResultSchema(Schema):
    credited = fields.Integer(metadata={"description": "seconds credited by this heartbeat"})
    lesson_seconds = fields.Integer()
    lesson_completed = fields.Boolean()
    course_completed = fields.Boolean()
    note = fields.String(metadata={"description": "accepted, late, hidden or paused"})


class HoursSchema(Schema):
    period = fields.String()
    required = fields.Float()
    elective = fields.Float()
    quota_required = fields.Float()
    quota_elective = fields.Float()
    quota_period = fields.String(metadata={"description": "quarter or year"})


HoursArgsSchema = PeriodArgsSchema
