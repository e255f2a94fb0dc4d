"""The branch's figures on an administrator's home: a few numbers with their trend (points by month,
members on track with their hours, campaign participation), for the organisation at the top of the
account's scope.

Features register a provider ``provider(org) -> list[Figure]``; the home page imports no feature.
Figures are shown for organisations of up to :data:`LIMIT` active members: above that (a committee
of a whole city) a home page would wait on city-wide aggregates, and the rankings, 学时 and campaign
pages are the place for them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from markupsafe import Markup

from learning.web.hooks import Providers

LIMIT = 5000
_providers = Providers()


@dataclass
class Figure:
    key: str  # a stable name (tests and the page's ids)
    label: str  # in the reader's language
    value: str  # already formatted, with its unit
    link: str | None = None
    note: str = ""  # e.g. "比上月多 12 分"
    trend: Markup | None = field(default=None)  # a small chart of the last months


def register_figure(provider: Callable, order: int = 50) -> None:
    _providers.add(provider, order)


def home_figures(account):
    """(organisation, figures) for ``account``'s home, or (None, []) when it has no small scope."""
    from learning.orgs.queries import active_member_count
    from learning.orgs.scoping import Permission, scope_for

    org = scope_for(account).first_root(Permission.VIEW_MEMBERS)
    if org is None:
        return None, []
    members = active_member_count(org)
    if not members or members > LIMIT:
        return org, []
    found: list[Figure] = []
    for provider in _providers:
        found.extend(provider(org) or [])
    return org, found
