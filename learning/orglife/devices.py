"""Card readers (e通卡): registering them, the cards members hold, and the swipes readers send.

A reader signs each post like the registry does: ``X-Device-Signature: sha256=`` + hex
HMAC-SHA256(secret, timestamp + "." + raw body), with ``X-Device-Id`` and ``X-Device-Timestamp``
(Unix seconds, within five minutes).  Every swipe is kept (device, card, time is unique, so a
replayed post changes nothing); a swipe of an unknown card is kept and reported, and applied when
the card is later imported.
"""
from __future__ import annotations

import csv
import hmac
import io
import secrets
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from learning.audit import services as audit
from learning.db import utcnow
from learning.extensions import db
from learning.orglife.activities import EARLY_CHECK_IN, OrgLifeError
from learning.orglife.checkin import record
from learning.orglife.models import Activity, CheckInMethod, Device, Invitee, MemberCard, Swipe, SwipeStatus
from learning.orgs.models import Member, Organisation
from learning.orgs.scoping import in_subtree
from learning.signatures import fresh, sign

class DeviceAuthError(ValueError):
    pass


def register_device(organisation: Organisation, name: str, *, actor) -> Device:
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise OrgLifeError(_l("Give the reader a name of 1 to 100 characters."), field="name")
    device = Device(name=name, organisation_id=organisation.id, secret=secrets.token_urlsafe(32),
                    created_by_id=getattr(actor, "id", None))
    db.session.add(device)
    db.session.flush()
    audit.record("orglife.device_registered", actor=actor, target=f"device:{device.id}",
                 organisation_id=organisation.id, detail={"name": name})
    return device


def revoke_device(device: Device, *, actor) -> None:
    device.revoked_at = utcnow()
    audit.record("orglife.device_revoked", actor=actor, target=f"device:{device.id}",
                 organisation_id=device.organisation_id, detail={"name": device.name})


def authenticate(device_id: str | None, timestamp: str | None, signature: str | None, body: bytes,
                 now: float | None = None) -> Device:
    if not device_id or not timestamp or not signature:
        raise DeviceAuthError(_l("Send X-Device-Id, X-Device-Timestamp and X-Device-Signature."))
    try:
        sent, ident = int(timestamp), int(device_id)
    except ValueError:
        raise DeviceAuthError(_l("X-Device-Id and X-Device-Timestamp are numbers.")) from None
    if not fresh(sent, now):
        raise DeviceAuthError(_l("The timestamp is more than 5 minutes off: refused (clock skew or a replay)."))
    device = db.session.get(Device, ident) if 0 < ident < 2**31 else None
    expected = sign(device.secret if device is not None else "-", timestamp, body)
    if device is None or device.revoked_at is not None or not hmac.compare_digest(expected, signature):
        raise DeviceAuthError(_l("The signature does not match."))
    return device


@dataclass
class SwipeResult:
    card: str
    swiped_at: datetime
    status: str
    member_id: int | None = None
    activity_id: int | None = None


def _activity_for(device: Device, member: Member, at: datetime) -> Activity | None:
    """The activity open at ``at`` under the reader's organisation that the member belongs to
    (expected first, then held by one of their organisations)."""
    candidates = db.session.scalars(
        select(Activity).join(Activity.organisation)
        .where(Activity.cancelled_at.is_(None), Activity.starts_at <= at + EARLY_CHECK_IN, Activity.ends_at >= at,
               in_subtree(Organisation.path, device.organisation.path))
        .order_by(Activity.starts_at.desc(), Activity.id)).all()
    invited = [a for a in candidates if db.session.get(Invitee, (a.id, member.id)) is not None]
    holders = [a for a in candidates if member.organisation.path.startswith(a.organisation.path)]
    return (invited or holders or [None])[0]


def apply_swipe(swipe: Swipe, device: Device) -> None:
    card = db.session.get(MemberCard, swipe.card_number)
    member = db.session.get(Member, card.member_id) if card is not None else None
    if member is None or not member.active:
        swipe.status = SwipeStatus.UNKNOWN_CARD
        return
    swipe.member_id = member.id
    activity = _activity_for(device, member, swipe.swiped_at)
    if activity is None:
        swipe.status = SwipeStatus.NO_ACTIVITY
        return
    swipe.activity_id = activity.id
    _attendance, created = record(activity, member, CheckInMethod.CARD, at=swipe.swiped_at)
    swipe.status = SwipeStatus.CHECKED_IN if created else SwipeStatus.ALREADY


def receive(device: Device, swipes: list[dict]) -> list[SwipeResult]:
    """Keep and apply each new swipe; a swipe sent before (a replay, a reader retrying) is answered
    with what became of it the first time."""
    results = []
    for item in swipes:
        swipe = Swipe(device_id=device.id, card_number=item["card"], swiped_at=item["swiped_at"],
                      status=SwipeStatus.UNKNOWN_CARD)
        try:
            with db.session.begin_nested():
                db.session.add(swipe)
                db.session.flush()
                apply_swipe(swipe, device)
                db.session.flush()
        except IntegrityError:
            swipe = db.session.scalar(select(Swipe).where(
                Swipe.device_id == device.id, Swipe.card_number == item["card"], Swipe.swiped_at == item["swiped_at"]))
            if swipe is None:
                raise
        results.append(SwipeResult(swipe.card_number, swipe.swiped_at, swipe.status.value, swipe.member_id,
                                   swipe.activity_id))
    device.last_seen_at = utcnow()
    return results


# -- cards ---------------------------------------------------------------------------------------
@dataclass
class CardImport:
    assigned: int = 0
    problems: list = field(default_factory=list)  # (line, message)
    applied_swipes: int = 0


def import_cards(text: str, scope_clause, *, actor, organisation_id: int | None) -> CardImport:
    """CSV lines ``card_number,member`` (the member's external id or user name), within the actor's
    members; all or nothing.  Swipes kept for cards that were unknown are applied afterwards."""
    report = CardImport()
    rows = []
    for number, line in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not line or not "".join(line).strip():
            continue
        if number == 1 and line[0].strip().lower() in ("card", "card_number", "卡号"):
            continue
        if len(line) < 2 or not line[0].strip() or not line[1].strip():
            report.problems.append((number, str(_l("Write the card number and the member, separated by a comma."))))
            continue
        card, who = line[0].strip(), line[1].strip()
        if len(card) > 64 or not card.isprintable():
            report.problems.append((number, str(_l("The card number is too long or holds control characters."))))
            continue
        rows.append((number, card, who))
    known = _members_by_number({who for _number, _card, who in rows}, scope_clause)
    for number, _card, who in rows:
        if who not in known:
            report.problems.append((number, str(_l("No member %(who)s among yours.", who=who))))
    report.problems.sort(key=lambda problem: problem[0])
    rows = [(card, known[who]) for _number, card, who in rows if who in known]
    if report.problems:
        return report
    for card, member_id in rows:
        existing = db.session.get(MemberCard, card)
        if existing is None:
            db.session.add(MemberCard(card_number=card, member_id=member_id))
        else:
            existing.member_id = member_id
        report.assigned += 1
    db.session.flush()
    report.applied_swipes = reapply([card for card, _m in rows])
    audit.record("orglife.cards_imported", actor=actor, target=f"cards:{report.assigned}",
                 organisation_id=organisation_id, detail={"cards": report.assigned, "swipes": report.applied_swipes})
    return report


def _members_by_number(numbers: set[str], scope_clause) -> dict[str, int]:
    """Member number (external id) or login name → member id, among the actor's members, 1,000 at a time."""
    found: dict[str, int] = {}
    wanted = sorted(numbers)
    for start in range(0, len(wanted), 1000):
        chunk = wanted[start:start + 1000]
        for member_id, external_id, user_name in db.session.execute(
                select(Member.id, Member.external_id, Member.user_name).join(Member.organisation)
                .where(or_(Member.external_id.in_(chunk), Member.user_name.in_(chunk)), scope_clause)
                .order_by(Member.id)):
            for number in (external_id, user_name):
                if number in numbers:
                    found.setdefault(number, member_id)
    return found


def assign_card(member: Member, card: str) -> None:
    """A card number from the registry (member events carry ``card``)."""
    card = (card or "").strip()
    if not card:
        return
    existing = db.session.get(MemberCard, card)
    if existing is None:
        db.session.add(MemberCard(card_number=card, member_id=member.id))
    else:
        existing.member_id = member.id
    db.session.flush()
    reapply([card])


def reapply(cards: list[str]) -> int:
    """Apply the kept swipes of cards that were unknown when they were swiped."""
    applied = 0
    for start in range(0, len(cards), 500):
        for swipe in db.session.scalars(select(Swipe).where(Swipe.status == SwipeStatus.UNKNOWN_CARD,
                                                            Swipe.card_number.in_(cards[start:start + 500]))):
            apply_swipe(swipe, db.session.get(Device, swipe.device_id))
            applied += swipe.status is not SwipeStatus.UNKNOWN_CARD
    return applied


def unmatched(scope_clause, limit: int = 200) -> list[Swipe]:
    """Kept swipes that checked nobody in (unknown card, no open activity), newest first."""
    return db.session.scalars(
        select(Swipe).join(Device, Device.id == Swipe.device_id).join(Organisation, Organisation.id == Device.organisation_id)
        .where(Swipe.status.in_([SwipeStatus.UNKNOWN_CARD, SwipeStatus.NO_ACTIVITY]), scope_clause)
        .order_by(Swipe.id.desc()).limit(limit)).all()
