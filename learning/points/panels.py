"""The member page's points panel (registered with learning.web.panels)."""
from __future__ import annotations

from learning.extensions import db
from learning.orgs.scoping import Permission, scope_for
from learning.points import queries


def points_panel(member, viewer):
    if not scope_for(viewer).can_member(Permission.VIEW_SCORES, member):
        return None
    entries = db.session.scalars(queries.member_entries(member).limit(10)).all()
    return {"summary": queries.member_summary(member), "entries": entries}


def register() -> None:
    from learning.web.panels import register_member_panel

    register_member_panel("points/_member_panel.html", points_panel, order=10)
