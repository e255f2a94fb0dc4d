"""Panels other features add to an administrator's member page (points, study hours, quizzes) and to an
organisation's page (its honours), so that the organisation pages show a record without importing those features.

A feature registers ``(template, provider)``; the member page renders each panel whose provider
returns a context (None: nothing to show, or not allowed).  Providers run in the viewer's request,
after the page has checked the member is in the viewer's scope.
"""
from __future__ import annotations

from typing import Callable

from learning.web.hooks import Providers

_member_panels = Providers()
_org_panels = Providers()


def register_member_panel(template: str, provider: Callable, order: int = 50) -> None:
    """``provider(member, viewer)`` returns the template's context, or None to show nothing."""
    _member_panels.add((template, provider), order, key=template)


def register_org_panel(template: str, provider: Callable, order: int = 50) -> None:
    """``provider(organisation, viewer)`` returns the template's context, or None to show nothing."""
    _org_panels.add((template, provider), order, key=template)


def _shown(panels: Providers, subject, viewer) -> list[tuple[str, dict]]:
    shown = []
    for template, provider in panels:
        context = provider(subject, viewer)
        if context is not None:
            shown.append((template, context))
    return shown


def member_panels(member, viewer) -> list[tuple[str, dict]]:
    return _shown(_member_panels, member, viewer)


def org_panels(org, viewer) -> list[tuple[str, dict]]:
    return _shown(_org_panels, org, viewer)
