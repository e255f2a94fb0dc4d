"""Period keys and local dates.

Times are stored in UTC; days and periods are those of the configured time zone
(Asia/Shanghai by default), so a lesson finished at 23:30 on 31 March in Beijing
counts in Q1 even though it is 15:30 UTC.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l

from learning.db import utcnow

ALL_TIME = "all"
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")


class PeriodError(ValueError):
    pass


def zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def local_today(now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(zone()).date()


def local_date(moment: datetime) -> date:
    return moment.astimezone(zone()).date()


def month_key(d: date) -> str:
    return f"{d.year}-{d.month:02d}"


def quarter_key(d: date) -> str:
    return f"{d.year}Q{(d.month - 1) // 3 + 1}"


def year_key(d: date) -> str:
    return str(d.year)


def keys_for(d: date) -> tuple[str, str, str]:
    return month_key(d), quarter_key(d), year_key(d)


@dataclass(frozen=True)
class PeriodSpan:
    key: str
    kind: str  # month, quarter, year, all
    starts_on: date | None
    ends_on: date | None  # inclusive

    def contains(self, d: date) -> bool:
        return self.kind == "all" or (self.starts_on <= d <= self.ends_on)


def parse(key: str) -> PeriodSpan:
    """'2026-11', '2026Q4', '2026' or 'all'; anything else is a PeriodError."""
    key = (key or "").strip()
    if key == ALL_TIME:
        return PeriodSpan(ALL_TIME, "all", None, None)
    if key[:4].isdigit() and not 1900 <= int(key[:4]) <= 2199:
        raise PeriodError(_l("%(key)s: the year must be between 1900 and 2199.", key=key))
    if m := _MONTH.match(key):
        year, month = int(m.group(1)), int(m.group(2))
        if not 1 <= month <= 12:
            raise PeriodError(_l("%(key)s: there is no month %(month)d.", key=key, month=month))
        start = date(year, month, 1)
        end = (date(year + (month == 12), month % 12 + 1, 1)) - timedelta(days=1)
        return PeriodSpan(key, "month", start, end)
    if m := _QUARTER.match(key):
        year, quarter = int(m.group(1)), int(m.group(2))
        start = date(year, 3 * quarter - 2, 1)
        end = (date(year + (quarter == 4), (3 * quarter) % 12 + 1, 1)) - timedelta(days=1)
        return PeriodSpan(key, "quarter", start, end)
    if m := _YEAR.match(key):
        year = int(m.group(1))
        return PeriodSpan(key, "year", date(year, 1, 1), date(year, 12, 31))
    raise PeriodError(_l("%(key)s is not a period: write 2026-11, 2026Q4, 2026 or all.", key=key))


def key_of_kind(d: date, kind: str) -> str:
    return {"month": month_key, "quarter": quarter_key, "year": year_key}[kind](d)


def current_quarter() -> str:
    return quarter_key(local_today())


def recent_keys(quarters: int = 5, *, all_time: bool = True) -> list[str]:
    """The period filter's choices: the current and the previous quarters, this year and last,
    and (for points) all time."""
    today = local_today()
    keys, year, q = [], today.year, (today.month - 1) // 3 + 1
    for _i in range(quarters):
        keys.append(f"{year}Q{q}")
        year, q = (year, q - 1) if q > 1 else (year - 1, 4)
    keys += [str(today.year), str(today.year - 1)]
    return keys + [ALL_TIME] if all_time else keys


def utc_bounds(span: PeriodSpan) -> tuple[datetime, datetime]:
    """The period as a half-open range of UTC moments: local midnight of its first day to that after its last."""
    start = datetime.combine(span.starts_on, datetime.min.time(), tzinfo=zone()).astimezone(timezone.utc)
    end = datetime.combine(span.ends_on + timedelta(days=1), datetime.min.time(), tzinfo=zone()).astimezone(timezone.utc)
    return start, end


def label(key: str) -> str:
    """'2026Q4' → 2026年第4季度 (or "Q4 2026"), '2026-11' → 2026年11月, '2026' → 2026年, 'all' → 全部."""
    try:
        span = parse(key)
    except PeriodError:
        return key
    if span.kind == "quarter":
        return str(_l("Q%(q)d %(year)d", q=int(key[-1]), year=span.starts_on.year))
    if span.kind == "month":
        return str(_l("%(month)d/%(year)d", month=span.starts_on.month, year=span.starts_on.year))
    if span.kind == "year":
        return str(_l("Year %(year)d", year=span.starts_on.year))
    return str(_l("All time"))
