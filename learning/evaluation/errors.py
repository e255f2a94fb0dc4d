"""The appraisal year's refusals: a message in the reader's language, the field it concerns (if any), and the
HTTP status an API answers with."""
from __future__ import annotations


class EvaluationError(ValueError):
    default_status = 422

    def __init__(self, message, field: str | None = None, status: int | None = None):
        super().__init__(str(message))
        self.message, self.field, self.status = message, field, status or self.default_status
