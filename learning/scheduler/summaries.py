"""What a job run did, in the reader's language (the stored summary is data for machines)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

LABELS = {
    "closed": lazy_pgettext("period", "Closed"), "already_closed": _l("Already closed"), "empty": _l("Nothing to close"),
    "snapshots": _l("Snapshots"), "changed": _l("Campaigns whose state changed"),
    "graded": _l("Abandoned attempts graded"), "connections": _l("Registry connections"),
    "applied": _l("Events applied"), "still_failing": _l("Events still failing"),
    "differences": _l("Totals that differ from the ledger"), "examples": _l("Examples"),
    "today": _l("Day"), "due": _l("Reminders due"), "behind": _l("Members behind"),
    "notified": _l("Messages sent"), "emailed": _l("E-mails sent"),
    "runs_deleted": _l("Old run records deleted"), "heartbeats_deleted": _l("Old heartbeats deleted"),
    "members": _l("members"), "organisations": _l("organisations"), "ledger_rows": _l("ledger rows"),
    "status": _l("state"), "error": _l("error"), "sync_run": _l("sync run"),
}


def _value(value) -> str:
    if isinstance(value, bool):
        return str(_l("yes") if value else _l("no"))
    if isinstance(value, list):
        return "、".join(_value(v) for v in value) if value else "—"
    if isinstance(value, dict):
        parts = [f"{k}：{_value(v)}" if str(k) not in LABELS else f"{LABELS[str(k)]} {_value(v)}"
                 for k, v in value.items() if v is not None]
        return "；".join(parts) if parts else "—"
    return "—" if value is None else str(value)


def describe(summary: dict | None) -> list[tuple[str, str]]:
    """(label, value) lines of a run's summary; unknown keys keep their name."""
    if not summary:
        return []
    return [(str(LABELS.get(key, key)), _value(value)) for key, value in summary.items()]
