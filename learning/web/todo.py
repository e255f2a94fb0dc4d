"""What needs doing: the items an administrator's home leads with (disputes and approvals waiting, leave to
decide, members behind on hours, notices not read, this week's activities).

Features register a provider ``provider(account) -> list[Todo]``; the home page shows them in order and
imports no feature.  A provider returns nothing the account may not see (it asks the scope itself).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from learning.web.hooks import Providers

_providers = Providers()


@dataclass
class Todo:
    key: str  # a stable name (tests and the page's ids)
    count: int
    text: str  # in the reader's language, already worded
    link: str  # where to go to do it
    urgent: bool = True  # waiting on this account (False: for information)
    action: dict | None = field(default=None)  # {"url": …, "label": …, "confirm": …}: a one-click POST


def register_todo(provider: Callable, order: int = 50) -> None:
    _providers.add(provider, order)


def todos(account) -> list[Todo]:
    found: list[Todo] = []
    for provider in _providers:
        found.extend(provider(account) or [])
    return found
