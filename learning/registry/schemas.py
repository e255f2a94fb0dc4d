"""The envelope of a registry event batch (each type's data is checked by its handler)."""
from marshmallow import Schema, fields, validate


class EventSchema(Schema):
    id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    type = fields.String(required=True, validate=validate.Length(min=1, max=50))
    occurred_at = fields.AwareDateTime(required=True)
    data = fields.Dict(load_default=dict)


class BatchSchema(Schema):
    """The envelope only: each event is checked on its own (:class:`EventSchema`), so that one bad
    event is refused with its error while the rest of the batch is applied."""

    events = fields.List(fields.Raw(), required=True, validate=validate.Length(min=1, max=1000))


class BatchDocSchema(Schema):
    """What a batch looks like, for the OpenAPI document."""

    events = fields.List(fields.Nested(EventSchema), required=True, validate=validate.Length(min=1, max=1000))


class EventResultSchema(Schema):
    id = fields.String(attribute="event_id")
    status = fields.String()
    detail = fields.String(allow_none=True)


class BatchResultSchema(Schema):
    results = fields.List(fields.Nested(EventResultSchema))
