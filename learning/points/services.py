"""The points ledger's operations.  :func:`award` is the only way points are created.

Every function leaves its changes in the caller's transaction; the caller commits once.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path

import yaml
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from learning.db import insert_for
from learning.extensions import db
from learning.orgs.models import Member, Organisation
from learning.points import periods, totals
from learning.points.models import (
    ActorKind,
    CapCounter,
    LedgerEntry,
    Period,
    PointRule,
    RuleSetting,
    Subject,
)


class PointsError(ValueError):
    """A refused points operation; ``message`` is for the user, ``field`` names the input to blame."""

    def __init__(self, message, field: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field


@dataclass
class AwardResult:
    entry: LedgerEntry | None
    created: bool
    points: int
    requested: int
    capped: bool


# -- rules ---------------------------------------------------------------------------------
def load_rules(path: str | Path) -> int:
    """Create the rules of ``rules.yaml`` that do not exist yet, each with a default setting.

    Existing rules keep their settings: administrators' changes are never overwritten by a
    re-import.  Returns the number of rules created.
    """
    created = 0
    for spec in yaml.safe_load(Path(path).read_text(encoding="utf-8")):
        rule = rule_by_code(spec["code"])
        if rule is None:
            rule = PointRule(
                code=spec["code"],
                subject=Subject(spec["subject"]),
                name=spec["name"],
                name_en=spec.get("name_en", spec["name"]),
                unit=spec.get("unit"),
                manual=bool(spec.get("manual", False)),
                sign=int(spec.get("sign", 1)),
                variants=spec.get("variants"),
            )
            db.session.add(rule)
            db.session.flush()
            db.session.add(
                RuleSetting(
                    rule_id=rule.id,
                    points=int(spec["points"]),
                    daily_cap=spec.get("daily_cap"),
                    period_cap=spec.get("period_cap"),
                    cap_period=spec.get("cap_period", "month"),
                    review_above=spec.get("review_above"),
                    review_total=spec.get("review_total"),
                    note="rules.yaml",
                )
            )
            created += 1
    db.session.flush()
    return created


def rule_by_code(code: str) -> PointRule | None:
    return db.session.scalar(select(PointRule).where(PointRule.code == code))


def effective_setting(rule: PointRule, organisation: Organisation | None, on: date) -> RuleSetting | None:
    """The newest valid setting of the deepest organisation on ``organisation``'s path."""
    ancestors = organisation.ancestor_ids() if organisation is not None else []
    rows = db.session.scalars(
        select(RuleSetting)
        .where(
            RuleSetting.rule_id == rule.id,
            (RuleSetting.organisation_id.is_(None)) | (RuleSetting.organisation_id.in_(ancestors or [-1])),
            (RuleSetting.starts_on.is_(None)) | (RuleSetting.starts_on <= on),
            (RuleSetting.ends_on.is_(None)) | (RuleSetting.ends_on >= on),
        )
        .order_by(RuleSetting.id.desc())
    ).all()
    if not rows:
        return None
    depth = {org_id: i for i, org_id in enumerate(ancestors)}
    return max(rows, key=lambda s: (depth.get(s.organisation_id, -1), s.id))


def change_setting(
    rule: PointRule,
    *,
    actor,
    organisation: Organisation | None,
    points: int,
    daily_cap: int | None = None,
    period_cap: int | None = None,
    cap_period: str = "month",
    active: bool = True,
    starts_on: date | None = None,
    ends_on: date | None = None,
    note: str | None = None,
    review_above: int | None = None,
    review_total: int | None = None,
) -> RuleSetting:
    """Add a new version of a rule's values for a subtree (None: everyone).  A manual rule has no
    points of its own: its values are the review limits (see :mod:`learning.points.manual`)."""
    if rule.manual:
        points, daily_cap, period_cap = 0, None, None
    elif review_above is not None or review_total is not None:
        raise PointsError(_l("Only manual rules have review limits."), field="review_above")
    for limit, field in ((review_above, "review_above"), (review_total, "review_total")):
        if limit is not None and limit < 0:
            raise PointsError(_l("A limit must not be negative."), field=field)
    if points < 0 and rule.sign > 0:
        raise PointsError(_l("Points must not be negative."), field="points")
    for cap, field in ((daily_cap, "daily_cap"), (period_cap, "period_cap")):
        if cap is not None and cap < 0:
            raise PointsError(_l("A cap must not be negative."), field=field)
    if cap_period not in ("month", "quarter", "year"):
        raise PointsError(_l("Choose month, quarter or year."), field="cap_period")
    if starts_on and ends_on and ends_on < starts_on:
        raise PointsError(_l("The end date is before the start date."), field="ends_on")
    setting = RuleSetting(
        rule_id=rule.id,
        organisation_id=organisation.id if organisation else None,
        points=points,
        daily_cap=daily_cap,
        period_cap=period_cap,
        cap_period=cap_period,
        active=active,
        starts_on=starts_on,
        ends_on=ends_on,
        note=note,
        review_above=review_above,
        review_total=review_total,
        created_by_id=actor.id if actor is not None else None,
    )
    db.session.add(setting)
    db.session.flush()
    from learning.audit.services import record

    record("points.rule_changed", actor=actor, target=f"rule:{rule.code}", organisation_id=setting.organisation_id,
           detail={k: v for k, v in dict(points=points, daily_cap=daily_cap, period_cap=period_cap, cap_period=cap_period,
                                         active=active, review_above=review_above, review_total=review_total).items()
                   if v is not None})
    return setting


# -- the award -------------------------------------------------------------------------------
def award(
    rule_code: str,
    *,
    source_key: str,
    member: Member | None = None,
    organisation: Organisation | None = None,
    occurred_at: datetime | None = None,
    quantity: float | Decimal | None = None,
    variant: str | None = None,
    points: int | None = None,
    title: str | None = None,
    reason: str | None = None,
    actor=None,
    actor_kind: ActorKind = ActorKind.SYSTEM,
) -> AwardResult:
    """Award the points of ``rule_code`` once per (rule, subject, ``source_key``).

    Safe to call again for the same source (a retry, a double click, a redelivered event):
    the existing entry comes back with ``created=False``.  Daily and period caps hold under
    concurrency because the cap counters are locked before they are read.
    """
    rule = rule_by_code(rule_code)
    if rule is None:
        raise PointsError(f"unknown point rule {rule_code!r}")
    source_key = (source_key or "").strip()
    if not source_key or len(source_key) > 200:
        raise PointsError("a source key of 1 to 200 characters is required")
    if rule.subject == Subject.MEMBER:
        if member is None:
            raise PointsError(f"rule {rule_code} awards a member")
        subject_key, home = f"m:{member.id}", member.organisation
    else:
        if organisation is None:
            raise PointsError(f"rule {rule_code} awards an organisation")
        subject_key, home = f"o:{organisation.id}", organisation

    existing = _existing(rule.id, subject_key, source_key)
    if existing is not None:
        return AwardResult(existing, False, existing.points, existing.requested_points, existing.capped)

    occurred_on = periods.local_date(occurred_at) if occurred_at else periods.local_today()
    counted_on = _counting_day(occurred_on)
    setting = effective_setting(rule, home, occurred_on)
    if setting is None or not setting.active:
        return AwardResult(None, False, 0, 0, False)

    requested = _requested_points(rule, setting, quantity, variant, points, reason, actor)
    granted = requested
    windows = []
    if requested > 0:
        if setting.daily_cap is not None:
            windows.append((f"d:{occurred_on.isoformat()}", setting.daily_cap))
        if setting.period_cap is not None:
            windows.append((f"p:{periods.key_of_kind(counted_on, setting.cap_period)}", setting.period_cap))
        for window_key, cap in windows:
            already = _lock_counter(rule.id, subject_key, window_key)
            granted = min(granted, max(0, cap - already))

    entry = LedgerEntry(
        rule_id=rule.id,
        subject=rule.subject,
        subject_key=subject_key,
        member_id=member.id if member is not None else None,
        organisation_id=home.id,
        source_key=source_key,
        title=(title or None) and title[:200],
        points=granted,
        requested_points=requested,
        capped=granted < requested,
        occurred_on=occurred_on,
        **_counted(counted_on),
        actor_kind=ActorKind(actor_kind) if actor is None else ActorKind.ADMIN,
        actor_account_id=actor.id if actor is not None else None,
        reason=reason,
    )
    try:
        with db.session.begin_nested():
            db.session.add(entry)
            db.session.flush()
    except IntegrityError:
        # Another transaction recorded the same award first; theirs counts.
        existing = _existing(rule.id, subject_key, source_key)
        if existing is None:
            raise
        return AwardResult(existing, False, existing.points, existing.requested_points, existing.capped)

    for window_key, _cap in windows:
        _add_to_counter(rule.id, subject_key, window_key, granted)
    totals.add_to_totals(entry, rule.code)
    return AwardResult(entry, True, granted, requested, entry.capped)


def _counted(counted_on: date) -> dict:
    """The day an entry counts on and the period keys that follow from it."""
    month, quarter, year = periods.keys_for(counted_on)
    return dict(counted_on=counted_on, month_key=month, quarter_key=quarter, year_key=year)


def _existing(rule_id: int, subject_key: str, source_key: str) -> LedgerEntry | None:
    return db.session.scalar(
        select(LedgerEntry).where(
            LedgerEntry.rule_id == rule_id,
            LedgerEntry.subject_key == subject_key,
            LedgerEntry.source_key == source_key,
        )
    )


def _requested_points(rule, setting, quantity, variant, points, reason, actor) -> int:
    if rule.manual:
        if actor is None:
            raise PointsError(_l("Manual points need the administrator who gives them."))
        if not reason or not reason.strip():
            raise PointsError(_l("Give a reason."), field="reason")
        if points is None or int(points) <= 0:
            raise PointsError(_l("Enter a positive number of points."), field="points")
        return rule.sign * int(points)
    if points is not None:
        raise PointsError("only manual rules take their points from the caller")
    base = Decimal(setting.points)
    if rule.variants:
        if variant not in rule.variants:
            raise PointsError(f"rule {rule.code} needs a variant: {sorted(rule.variants)}")
        base = Decimal(rule.variants[variant]) * Decimal(setting.points) / Decimal(max(rule.variants.values()))
    if rule.unit:
        if quantity is None or Decimal(str(quantity)) < 0:
            raise PointsError(f"rule {rule.code} awards per {rule.unit}: give a quantity")
        base = base * Decimal(str(quantity))
    return rule.sign * int(base.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _counting_day(occurred_on: date) -> date:
    """The day whose periods count an award: late awards into a closed period count today.

    The quarter's period row is locked for share on PostgreSQL, so that closing a period
    (which locks it for update) waits for awards in flight and they wait for it.
    """
    for candidate in (occurred_on, periods.local_today()):
        quarter = periods.parse(periods.quarter_key(candidate))
        ensure_period(quarter)
        query = select(Period.closed_at).where(Period.key == quarter.key)
        if db.engine.dialect.name == "postgresql":
            query = query.with_for_update(read=True)
        if db.session.scalar(query) is None:
            return candidate
    raise PointsError("the current period is closed; open a new one before awarding points")


def ensure_period(span: periods.PeriodSpan) -> None:
    """Create the period's row if it is missing (its row is what awards and closing lock)."""
    db.session.connection().execute(
        _period_insert(db.engine.dialect.name),
        dict(key=span.key, kind=span.kind, starts_on=span.starts_on, ends_on=span.ends_on),
    )


@lru_cache(maxsize=4)
def _period_insert(dialect: str):
    return insert_for(Period, dialect).values(
        key=bindparam("key"), kind=bindparam("kind"), starts_on=bindparam("starts_on"), ends_on=bindparam("ends_on"),
    ).on_conflict_do_nothing(index_elements=["key"])


def _lock_counter(rule_id: int, subject_key: str, window_key: str) -> int:
    """Create or lock the counter row and return what it holds (a write, so it serialises)."""
    params = dict(rule_id=rule_id, subject_key=subject_key, window_key=window_key)
    return db.session.connection().execute(_counter_upsert(db.engine.dialect.name), params).scalar_one()


@lru_cache(maxsize=4)
def _counter_upsert(dialect: str):
    stmt = insert_for(CapCounter, dialect).values(
        rule_id=bindparam("rule_id"), subject_key=bindparam("subject_key"), window_key=bindparam("window_key"), granted=0,
    )
    return stmt.on_conflict_do_update(
        index_elements=["rule_id", "subject_key", "window_key"], set_={"granted": stmt.table.c.granted}
    ).returning(CapCounter.granted)


def _add_to_counter(rule_id: int, subject_key: str, window_key: str, points: int) -> None:
    if points:
        db.session.execute(
            CapCounter.__table__.update()
            .where(
                CapCounter.rule_id == rule_id,
                CapCounter.subject_key == subject_key,
                CapCounter.window_key == window_key,
            )
            .values(granted=CapCounter.granted + points)
        )


# -- corrections (manual entries: points.manual; disputes: points.disputes) -------------------
def correct(entry: LedgerEntry, *, actor, reason: str) -> LedgerEntry:
    """Cancel ``entry`` with a compensating entry (once); caps are not given back."""
    if not reason or not reason.strip():
        raise PointsError(_l("Give a reason."), field="reason")
    if entry.corrects_id is not None:
        raise PointsError(_l("A correction cannot itself be corrected."))
    if db.session.scalar(select(LedgerEntry.id).where(LedgerEntry.corrects_id == entry.id)) is not None:
        raise PointsError(_l("This entry has already been corrected."))
    counted_on = _counting_day(periods.local_today())
    compensation = LedgerEntry(
        rule_id=entry.rule_id,
        subject=entry.subject,
        subject_key=entry.subject_key,
        member_id=entry.member_id,
        organisation_id=entry.organisation_id,
        source_key=f"correction:{entry.id}",
        title=entry.title,
        points=-entry.points,
        requested_points=-entry.points,
        capped=False,
        occurred_on=counted_on,
        **_counted(counted_on),
        actor_kind=ActorKind.ADMIN if actor is not None else ActorKind.SYSTEM,
        actor_account_id=actor.id if actor is not None else None,
        reason=reason,
        corrects_id=entry.id,
    )
    try:
        with db.session.begin_nested():
            db.session.add(compensation)
            db.session.flush()
    except IntegrityError:
        raise PointsError(_l("This entry has already been corrected.")) from None
    totals.add_to_totals(compensation, entry.rule.code)
    return compensation


def caps_left_today(member: Member) -> list[tuple[PointRule, int, int]]:
    """(rule, granted today, daily cap) for the member's rules with a daily cap."""
    today = periods.local_today()
    granted_today = dict(db.session.execute(
        select(CapCounter.rule_id, CapCounter.granted).where(
            CapCounter.subject_key == f"m:{member.id}", CapCounter.window_key == f"d:{today.isoformat()}"
        )
    ).all())
    result = []
    for rule in db.session.scalars(select(PointRule).where(PointRule.subject == Subject.MEMBER).order_by(PointRule.id)):
        setting = effective_setting(rule, member.organisation, today)
        if setting is None or not setting.active or setting.daily_cap is None:
            continue
        result.append((rule, granted_today.get(rule.id, 0), setting.daily_cap))
    return result


# Reading and proving the cached totals lives in points.totals; the ledger's callers find them here too.
member_points, ledger_sum, verify_totals = totals.member_points, totals.ledger_sum, totals.verify_totals
