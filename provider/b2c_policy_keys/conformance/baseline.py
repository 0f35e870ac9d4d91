"""The baseline: a real tenant's record the emulator's record is held to, and the allow-list of known differences.

In a directory (the repository's ``tests/conformance``): ``emulator-record.json`` (regenerated from the emulator),
``tenant-record.json`` (the baseline, contributed from a real tenant) and ``allowed-differences.json`` (each known
difference between the two with the reason it is kept). ``make_baseline`` installs a contributed record and brings
the allow-list up to date: reasons of differences that remain are kept, allowances nothing needs are dropped, and
new differences are added marked unreviewed, for the contributor to explain or for the emulator to fix.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from pathlib import Path
from typing import Any

from b2c_policy_keys.conformance.diff import Allowance, Difference, differences
from b2c_policy_keys.conformance.record import FORMAT, Record

EMULATOR_RECORD = "emulator-record.json"
TENANT_RECORD = "tenant-record.json"
ALLOWED = "allowed-differences.json"
UNREVIEWED = "unreviewed: the emulator answers otherwise; fix the emulator or say here why the difference stays"

#: What may never be in a committed record: a GUID (tenant or client id, request id) or a JWT.
_FORBIDDEN = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"
)


def load_allowed(path: Path) -> list[Allowance]:
    if not path.exists():
        return []
    data = json.loads(path.read_text(encoding="utf-8"))
    return [Allowance(**item) for item in data.get("allowed", [])]


def write_allowed(path: Path, allowed: list[Allowance]) -> None:
    data: dict[str, Any] = {"format": FORMAT, "allowed": [asdict(item) for item in allowed]}
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def check_redacted(text: str, source: str) -> None:
    if _FORBIDDEN.search(text):
        raise ValueError(f"{source} holds a GUID or a token: it is not a record b2c-keys conformance wrote; re-run it")


def make_baseline(contributed: Path, directory: Path) -> tuple[list[Difference], list[Allowance]]:
    """Install ``contributed`` as the baseline; the new differences (unreviewed) and the allowances dropped."""
    text = contributed.read_text(encoding="utf-8")
    check_redacted(text, str(contributed))
    record = Record.load(contributed)
    if record.target != "tenant":
        raise ValueError(f"{contributed} is a record of {record.target!r}: a baseline comes from a real tenant")
    emulator = Record.load(directory / EMULATOR_RECORD)
    found = differences(emulator, record)
    previous = load_allowed(directory / ALLOWED)
    kept: list[Allowance] = []
    added: list[Difference] = []
    for difference in found:
        rule = next((item for item in previous + kept if item.covers(difference)), None)
        if rule is None:
            kept.append(Allowance(difference.step, difference.field, UNREVIEWED))
            added.append(difference)
        elif rule not in kept:
            kept.append(rule)
    dropped = [rule for rule in previous if rule not in kept]
    (directory / TENANT_RECORD).write_text(text, encoding="utf-8")
    write_allowed(directory / ALLOWED, kept)
    return added, dropped
