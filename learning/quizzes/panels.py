"""The member page's quiz panel (registered with learning.web.panels)."""
from __future__ import annotations

from learning.orgs.scoping import Permission, scope_for
from learning.quizzes import services


def quiz_panel(member, viewer):
    if not scope_for(viewer).can_member(Permission.VIEW_SCORES, member):
        return None
    return {"attempts": services.recent_attempts(member, limit=8)}


def register() -> None:
    from learning.web.panels import register_member_panel

    register_member_panel("quizzes/_member_panel.html", quiz_panel, order=30)
