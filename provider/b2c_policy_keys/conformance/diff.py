"""How two records differ, leaf by leaf, and which differences an allow-list accepts."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from b2c_policy_keys.conformance.record import COMPARED, Entry, Record

ABSENT = "(absent)"


@dataclass(frozen=True)
class Difference:
    """``field`` is a dotted path into the entry (``body.error.innerError.correlationId``); values as JSON text."""

    step: str
    field: str
    a: str
    b: str


_MISSING: Any = object()


def _text(value: Any) -> str:
    return ABSENT if value is _MISSING else json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _diff(a: Any, b: Any, path: str) -> Iterator[tuple[str, Any, Any]]:
    """Differing leaves; a subtree only one side has, or two non-empty objects sharing no key, is one difference."""
    if isinstance(a, dict) and isinstance(b, dict) and (set(a) & set(b) or not a or not b):
        for key in list(a) + [key for key in b if key not in a]:
            yield from _diff(a.get(key, _MISSING), b.get(key, _MISSING), f"{path}.{key}")
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for index, (item_a, item_b) in enumerate(zip(a, b, strict=True)):
            yield from _diff(item_a, item_b, f"{path}[{index}]")
    elif a is _MISSING or b is _MISSING or a != b:
        yield path, a, b


def _entry_differences(step: str, a: Entry, b: Entry) -> Iterator[Difference]:
    left, right = a.compared(), b.compared()
    for name in COMPARED:
        for path, value_a, value_b in _diff(left[name], right[name], name):
            yield Difference(step, path, _text(value_a), _text(value_b))


def differences(a: Record, b: Record) -> list[Difference]:
    """Every difference of the entries, in the script's order; a step only one record has is one difference."""
    by_step_a = {entry.step: entry for entry in a.entries}
    by_step_b = {entry.step: entry for entry in b.entries}
    steps = list(by_step_a) + [step for step in by_step_b if step not in by_step_a]
    found: list[Difference] = []
    for step in steps:
        entry_a, entry_b = by_step_a.get(step), by_step_b.get(step)
        if entry_a is None or entry_b is None:
            found.append(Difference(step, "step", "not run" if entry_a is None else "run",
                                    "not run" if entry_b is None else "run"))  # fmt: skip
            continue
        found.extend(_entry_differences(step, entry_a, entry_b))
    return found


@dataclass(frozen=True)
class Allowance:
    """A known, documented difference: ``step`` and ``field`` are shell patterns (``readonly.*``)."""

    step: str
    field: str
    reason: str

    def covers(self, difference: Difference) -> bool:
        return fnmatch.fnmatchcase(difference.step, self.step) and fnmatch.fnmatchcase(difference.field, self.field)


def unexplained(found: Iterable[Difference], allowed: Iterable[Allowance]) -> list[Difference]:
    rules = list(allowed)
    return [difference for difference in found if not any(rule.covers(difference) for rule in rules)]


def stale(found: Iterable[Difference], allowed: Iterable[Allowance]) -> list[Allowance]:
    """Allowances no difference needs any more: the emulator was fixed, so the allow-list must shrink."""
    differences_ = list(found)
    return [rule for rule in allowed if not any(rule.covers(difference) for difference in differences_)]
