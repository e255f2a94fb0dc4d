"""POST /registry/v1/events: signed event batches from the membership registry."""
from __future__ import annotations

from flask import request
from flask_smorest import Blueprint
from marshmallow import ValidationError

from learning.api.problems import flatten_validation_errors, problem
from learning.extensions import db, limiter
from learning.registry import services
from learning.registry.schemas import BatchResultSchema, BatchSchema

blp = Blueprint("registry_api", __name__, url_prefix="/registry/v1", description="Signed events from the membership registry")


@blp.route("/events", methods=["POST"])
@limiter.limit("600 per minute")
@blp.response(200, BatchResultSchema)
@blp.alt_response(401, description="Missing or wrong signature, or a timestamp more than 5 minutes off")
@blp.alt_response(422, description="The batch is not well formed; nothing was stored")
@blp.doc(
    description="Headers: `X-Registry-Timestamp` (Unix seconds) and `X-Registry-Signature` "
    "(`sha256=` + hex HMAC-SHA256(secret, timestamp + '.' + raw body)). See docs/REGISTRY.md.",
    requestBody={"content": {"application/json": {"schema": BatchSchema}}},
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
        return problem(401, "Unauthorized", str(exc))
    payload = request.get_json(silent=True)
    if payload is None:
        return problem(400, "Bad Request", "The body is not JSON.")
    try:
        batch = BatchSchema().load(payload)
    except ValidationError as exc:
        return problem(422, "Unprocessable Entity", "The batch is not well formed; nothing was stored.",
                       errors=flatten_validation_errors(exc.messages))
    results = services.receive(connection, batch["events"])
    return {"results": results}
