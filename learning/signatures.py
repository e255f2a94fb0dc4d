"""Signed posts from machines (the registry's event batches, card readers' swipes): HMAC-SHA256 over
``timestamp + "." + raw body``, sent as ``sha256=<hex>``, with a timestamp within five minutes."""
from __future__ import annotations

import hashlib
import hmac
import time

MAX_SKEW_SECONDS = 300


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def fresh(sent: int, now: float | None = None) -> bool:
    """Whether a timestamp (Unix seconds) is within the allowed skew: older is a replay or a wrong clock."""
    return abs((now if now is not None else time.time()) - sent) <= MAX_SKEW_SECONDS
