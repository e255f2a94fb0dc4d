"""An ordered registry of what features contribute to shared pages (the home's to-do items and figures, the
member and organisation pages' panels): the shared page imports no feature, features register here."""
from __future__ import annotations

from typing import Any, Iterator


class Providers:
    def __init__(self) -> None:
        self._items: list[tuple[int, Any, Any]] = []  # (order, key, item)

    def add(self, item: Any, order: int = 50, key: Any = None) -> None:
        """Add ``item`` once (by ``key``, the item itself by default: registering again changes nothing)."""
        key = item if key is None else key
        if all(existing != key for _order, existing, _item in self._items):
            self._items.append((order, key, item))
            self._items.sort(key=lambda entry: entry[0])

    def __iter__(self) -> Iterator[Any]:
        return iter([item for _order, _key, item in self._items])
