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
