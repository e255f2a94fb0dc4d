"""Request fields bounded to what the database holds (PostgreSQL integers are 32-bit): one place,
used by every feature's API schemas, so that no id, page or counter from a client can reach a
query it would break."""
from __future__ import annotations

from marshmallow import fields, validate

from learning.web import INT_MAX, PAGE_MAX


def Id(**kwargs) -> fields.Integer:  # noqa: N802  (a field factory reads like a field class)
    """A database id: 1 to 2^31 − 1."""
    return fields.Integer(validate=validate.Range(min=1, max=INT_MAX), **kwargs)


def Count(**kwargs) -> fields.Integer:  # noqa: N802
    """A counter from a client (a heartbeat's sequence number): 1 to 2^31 − 1."""
    return fields.Integer(validate=validate.Range(min=1, max=INT_MAX), **kwargs)


def Page() -> fields.Integer:  # noqa: N802
    return fields.Integer(load_default=1, validate=validate.Range(min=1, max=PAGE_MAX))


def PerPage() -> fields.Integer:  # noqa: N802
    return fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


# Text a client may send: no NUL and no other control characters (tab, newline and carriage return
# are text).  The pattern is in the OpenAPI document, so clients and generated tests know it; the
# input guard of learning.web.inputs refuses such text before any view with the same rule.
NO_CONTROL_PATTERN = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f]*$"


def Text(*, validate_with=(), **kwargs) -> fields.String:  # noqa: N802
    validators = [validate.Regexp(NO_CONTROL_PATTERN, error="control characters are not allowed"),
                  *validate_with]
    return fields.String(validate=validators, **kwargs)


# A period key: empty (the default: this quarter), all, a year, a quarter or a month.
PERIOD_PATTERN = r"^(|all|(19|20|21)\d{2}|(19|20|21)\d{2}Q[1-4]|(19|20|21)\d{2}-(0[1-9]|1[0-2]))$"


def Period(**kwargs) -> fields.String:  # noqa: N802
    kwargs.setdefault("metadata", {"description": "2026Q4, 2026-11, 2026 or all; empty or absent: this quarter"})
    return fields.String(validate=validate.Regexp(PERIOD_PATTERN, error="use 2026-11, 2026Q4, 2026 or all"), **kwargs)
