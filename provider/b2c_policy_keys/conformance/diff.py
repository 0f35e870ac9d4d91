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


def _flatten(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict) and value:
        for key in sorted(value):
            yield from _flatten(value[key], f"{path}.{key}")
    elif isinstance(value, list) and value:
        for index, item in enumerate(value):
            yield from _flatten(item, f"{path}[{index}]")
    else:
        yield path, value


def _text(value: Any) -> str:
    return ABSENT if value is _MISSING else json.dumps(value, ensure_ascii=False)


_MISSING: Any = object()


def _entry_differences(step: str, a: Entry, b: Entry) -> Iterator[Difference]:
    left, right = a.compared(), b.compared()
    for name in COMPARED:
        flat_a = dict(_flatten(left[name], name))
        flat_b = dict(_flatten(right[name], name))
        for path in list(flat_a) + [p for p in flat_b if p not in flat_a]:
            value_a, value_b = flat_a.get(path, _MISSING), flat_b.get(path, _MISSING)
            if value_a is _MISSING or value_b is _MISSING or value_a != value_b:
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
