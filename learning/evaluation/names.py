"""How the appraisal year's values read, in the user's language (this feature owns its words)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

REPORT_STATES = {
    "submitted": _l("Submitted on time"),
    "late": _l("Submitted late"),
    "draft": _l("Draft, not submitted"),
    "missing": _l("Not started"),
}


def report_state(value: str) -> str:
    return str(REPORT_STATES[value])
