"""What members are told about their points: a dispute decided, a manual entry approved or refused."""
from __future__ import annotations

from flask_babel import gettext as _

from learning.notifications.services import Message, notify, wording

DISPUTE_DECIDED = "dispute_decided"
MANUAL_DECIDED = "manual_decided"
MANUAL_RECEIVED = "manual_received"


def _signed(points: int) -> str:
    return f"{points:+d}"


def dispute_decided(dispute) -> None:
    entry = dispute.entry
    notify(DISPUTE_DECIDED, f"dispute:{dispute.id}", {dispute.member_id: {
        "accepted": dispute.status.value == "accepted", "points": entry.points,
        "what": entry.title or entry.reason or "", "resolution": dispute.resolution or ""}})


def manual_decided(manual) -> None:
    """Tell the giver (when their account is a member's) and, when approved, the member who gets them."""
    params = {"approved": manual.status.value == "approved", "points": manual.points, "what": manual.reason,
              "who": manual.member.name if manual.member is not None else manual.organisation.name,
              "note": manual.review_note or ""}
    giver = manual.given_by.member_id
    if giver is not None:
        notify(MANUAL_DECIDED, f"manual:{manual.id}:decided", {giver: params})
    if params["approved"] and manual.member_id is not None:
        notify(MANUAL_RECEIVED, f"manual:{manual.id}:received", {manual.member_id: params})


@wording(DISPUTE_DECIDED)
def _dispute_words(p: dict) -> Message:
    if p["accepted"]:
        body = _("Your objection to %(points)s points (%(what)s) was accepted: the entry is cancelled. %(resolution)s",
                 points=_signed(p["points"]), what=p["what"], resolution=p["resolution"])
    else:
        body = _("Your objection to %(points)s points (%(what)s) was rejected: the entry stays. %(resolution)s",
                 points=_signed(p["points"]), what=p["what"], resolution=p["resolution"])
    return Message(_("Your objection has been decided"), body, "points.my_points")


@wording(MANUAL_DECIDED)
def _manual_words(p: dict) -> Message:
    if p["approved"]:
        body = _("Your entry of %(points)s points for %(who)s (%(what)s) was approved and counts now.",
                 points=_signed(p["points"]), who=p["who"], what=p["what"])
    else:
        body = _("Your entry of %(points)s points for %(who)s (%(what)s) was refused: %(note)s",
                 points=_signed(p["points"]), who=p["who"], what=p["what"], note=p["note"])
    return Message(_("A manual entry has been reviewed"), body, None)


@wording(MANUAL_RECEIVED)
def _received_words(p: dict) -> Message:
    return Message(_("Points entered by hand"),
                   _("%(points)s points: %(what)s.", points=_signed(p["points"]), what=p["what"]), "points.my_points")
