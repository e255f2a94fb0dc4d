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


WEEKDAYS = {"0": _l("Sunday"), "1": _l("Monday"), "2": _l("Tuesday"), "3": _l("Wednesday"), "4": _l("Thursday"),
            "5": _l("Friday"), "6": _l("Saturday"), "7": _l("Sunday")}


def describe_schedule(cron: str) -> str:
    """A job's crontab schedule in words for the common shapes; the expression itself otherwise."""
    parts = cron.split()
    if len(parts) != 5:
        return cron
    minute, hour, day, month, weekday = parts
    if parts == ["*"] * 5:
        return str(_l("every minute"))
    if minute.startswith("*/") and minute[2:].isdigit() and parts[1:] == ["*"] * 4:
        return str(_l("every %(n)s minutes", n=minute[2:]))
    if not (minute.isdigit() and hour.isdigit()) or month != "*":
        return cron
    at = f"{int(hour):02d}:{int(minute):02d}"
    if day == "*" and weekday == "*":
        return str(_l("every day at %(time)s", time=at))
    if day == "*" and weekday in WEEKDAYS:
        return str(_l("every %(weekday)s at %(time)s", weekday=WEEKDAYS[weekday], time=at))
    if day == "*" and weekday == "1-5":
        return str(_l("Monday to Friday at %(time)s", time=at))
    if day.isdigit() and weekday == "*":
        return str(_l("on day %(day)s of each month at %(time)s", day=day, time=at))
    return cron
