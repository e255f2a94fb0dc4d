"""POST /registry/v1/events: signed event batches from the membership registry."""
from __future__ import annotations

from flask import request
from flask_babel import gettext as _
from flask_smorest import Blueprint
from marshmallow import ValidationError

from learning.api.problems import flatten_validation_errors, problem
from learning.extensions import db, limiter
from learning.registry import services
from learning.registry.schemas import BatchDocSchema, BatchResultSchema, BatchSchema, EventSchema
from learning.web.inputs import has_control, json_strings

blp = Blueprint("registry_api", __name__, url_prefix="/registry/v1", description="Signed events from the membership registry")


@blp.route("/events", methods=["POST"])
@limiter.limit("600 per minute")
@blp.response(200, BatchResultSchema)
@blp.alt_response(401, description="Missing or wrong signature, or a timestamp more than 5 minutes off")
@blp.alt_response(422, description="The body is not a batch (no list of 1 to 1,000 events); nothing was stored. "
                                   "A malformed event within a batch is answered `refused` on its own.")
@blp.doc(
    description="Headers: `X-Registry-Timestamp` (Unix seconds) and `X-Registry-Signature` "
    "(`sha256=` + hex HMAC-SHA256(secret, timestamp + '.' + raw body)). See docs/REGISTRY.md.",
    requestBody={"content": {"application/json": {"schema": BatchDocSchema}}},
)
def receive_events():
    """Store each new event of the batch, then apply it; redelivered events change nothing."""
    body = request.get_data(cache=True)
    try:
        connection = services.authenticate(
            request.headers.get("X-Registry-Timestamp"), request.headers.get("X-Registry-Signature"), body
        )
    except services.RegistryError as exc:
        db.session.rollback()
        return problem(401, detail=str(exc))
    payload = request.get_json(silent=True)
    if payload is None:
        return problem(400, detail=_("The body is not JSON."))
    try:
        batch = BatchSchema().load(payload)
    except ValidationError as exc:
        return problem(422, detail=_("The batch is not well formed; nothing was stored."),
                       errors=flatten_validation_errors(exc.messages))
    checked = [_check_event(item) for item in batch["events"]]
    applied = iter(services.receive(connection, [event for event, _refusal in checked if event is not None]))
    return {"results": [next(applied) if event is not None else refusal for event, refusal in checked]}


def _check_event(item) -> tuple[dict | None, services.EventResult | None]:
    """(the event, None) when it is well formed, else (None, its refusal with the reason)."""
    event_id = item.get("id") if isinstance(item, dict) else None
    shown = escaped(event_id) if isinstance(event_id, str) else None
    try:
        if not isinstance(item, dict):
            raise ValidationError("an event is a JSON object")
        event = EventSchema().load(item)
        bad = [where for where, text in json_strings(item, "event") if has_control(text)]
        if bad:
            raise ValidationError(f"control characters are not allowed: {', '.join(bad[:5])}")
    except ValidationError as exc:
        messages = flatten_validation_errors(exc.messages) if isinstance(exc.messages, dict) else {"event": exc.messages}
        detail = "; ".join(f"{field}: {' '.join(map(str, errors))}" for field, errors in messages.items())
        return None, services.EventResult(shown, "refused", detail[:500])
    return event, None


def escaped(text: str) -> str:
    """An id as it can be shown back: control characters written as escapes."""
    return "".join(ch.encode("unicode_escape").decode() if has_control(ch) else ch for ch in text)[:100]
