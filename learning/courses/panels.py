"""The member page's study-hours panel (registered with learning.web.panels)."""
from __future__ import annotations

from learning.courses import services
from learning.orgs.scoping import Permission, scope_for


def hours_panel(member, viewer):
    if not scope_for(viewer).can_member(Permission.VIEW_MEMBERS, member):
        return None
    return {"hours": services.hours_against_quota(member)}


def register() -> None:
    from learning.web.panels import register_member_panel

    register_member_panel("courses/_member_panel.html", hours_panel, order=20)
