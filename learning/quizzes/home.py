"""Campaigns on an administrator's home: how many of the organisation's members take part in each
campaign open now (its own or one run above it), with a link to who has not started."""
from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _
from learning.orgs.models import Organisation
from learning.quizzes import reach
from learning.web.figures import Figure

SHOWN = 3


def campaign_figures(org: Organisation) -> list[Figure]:
    figures = []
    for challenge in reach.open_for(org)[:SHOWN]:
        ours = reach.our_figures(challenge, org, limit=0)
        figures.append(Figure(
            f"campaign_{challenge.id}", _("Taking part in %(title)s", title=challenge.title),
            f"{round(ours['participation'] * 100)}%",
            link=url_for("quiz_admin.our_campaigns", org=org.id, challenge=challenge.id),
            note=_("%(playing)d of %(members)d members, %(finished)d finished every level",
                   playing=ours["playing"], members=ours["members"], finished=ours["finished"])))
    return figures


def register() -> None:
    from learning.web.figures import register_figure

    register_figure(campaign_figures, order=30)
