"""The data of organisational life (content/orglife/activities.yaml): which rule each kind of activity
pays by, how often a branch must hold it."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import yaml

from learning.config import PACKAGE_DIR
from learning.orglife.models import ActivityKind

PATH = PACKAGE_DIR / "content" / "orglife" / "activities.yaml"
FREQUENCIES = ("month", "quarter", "year")


@dataclass(frozen=True)
class KindSetup:
    attendance_rule: str
    required: str | None  # month | quarter | year
    groups_only: bool = False  # required only of a branch that has party groups


@dataclass(frozen=True)
class Setup:
    kinds: dict  # ActivityKind → KindSetup
    choosable_rules: tuple
    schedule_rule: str


@lru_cache(maxsize=1)
def load() -> Setup:
    data = yaml.safe_load(PATH.read_text(encoding="utf-8"))
    kinds = {}
    for kind in ActivityKind:
        spec = data["kinds"][kind.value]
        required = spec.get("required")
        if required is not None and required not in FREQUENCIES:
            raise ValueError(f"{PATH}: {kind.value}: required must be one of {FREQUENCIES}")
        where = spec.get("where")
        if where not in (None, "groups"):
            raise ValueError(f"{PATH}: {kind.value}: where must be groups or absent")
        kinds[kind] = KindSetup(spec["attendance_rule"], required, where == "groups")
    return Setup(kinds, tuple(data["choosable_rules"]), data["schedule_rule"])


def scheduled_kinds() -> list[ActivityKind]:
    return [kind for kind, spec in load().kinds.items() if spec.required]
