"""Panels other features add to an administrator's member page (points, study hours, quizzes) and to an
organisation's page (its honours), so that the organisation pages show a record without importing those features.

A feature registers ``(template, provider)``; the member page renders each panel whose provider
returns a context (None: nothing to show, or not allowed).  Providers run in the viewer's request,
after the page has checked the member is in the viewer's scope.
"""
from __future__ import annotations

from typing import Callable

_panels: list[tuple[int, str, Callable]] = []


def register_member_panel(template: str, provider: Callable, order: int = 50) -> None:
    """``provider(member, viewer)`` returns the template's context, or None to show nothing."""
    if all(existing != template for _, existing, _ in _panels):
        _panels.append((order, template, provider))
        _panels.sort(key=lambda panel: panel[0])


def member_panels(member, viewer) -> list[tuple[str, dict]]:
    shown = []
    for _order, template, provider in _panels:
        context = provider(member, viewer)
        if context is not None:
            shown.append((template, context))
    return shown


_org_panels: list[tuple[int, str, Callable]] = []


def register_org_panel(template: str, provider: Callable, order: int = 50) -> None:
    """``provider(organisation, viewer)`` returns the template's context, or None to show nothing."""
    if all(existing != template for _, existing, _ in _org_panels):
        _org_panels.append((order, template, provider))
        _org_panels.sort(key=lambda panel: panel[0])


def org_panels(org, viewer) -> list[tuple[str, dict]]:
    shown = []
    for _order, template, provider in _org_panels:
        context = provider(org, viewer)
        if context is not None:
            shown.append((template, context))
    return shown
