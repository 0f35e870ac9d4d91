"""The record of one probe run: one entry per call, plus what the run could not do. Stable JSON, diffable."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

#: Bumped when an entry's meaning changes; ``diff`` refuses records of another format.
FORMAT = "b2c-keys-conformance/1"
#: The fields of an entry ``diff`` compares (``step`` aligns the entries).
COMPARED = ("method", "path", "status", "code", "message", "headers", "body")


@dataclass(frozen=True)
class Entry:
    """One call as the service answered it, with everything run- or tenant-specific replaced."""

    step: str
    method: str
    path: str
    status: int
    code: str | None = None
    message: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None

    def compared(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in COMPARED}


@dataclass
class Record:
    """``target`` is ``emulator`` or ``tenant``; ``not_done`` names each step that did not run and why; ``notes``
    what happened on the way (a throttled call waited out)."""

    target: str
    read_only_app: bool = False
    complete: bool = False
    entries: list[Entry] = field(default_factory=list)
    not_done: list[dict[str, str]] = field(default_factory=list)
    notes: list[dict[str, str]] = field(default_factory=list)
    cleanup: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "target": self.target,
            "read_only_app": self.read_only_app,
            "complete": self.complete,
            "not_done": self.not_done,
            "notes": self.notes,
            "cleanup": self.cleanup,
            "entries": [asdict(entry) for entry in self.entries],
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=False, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, data: Any, source: str = "the record") -> Record:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            found = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise ValueError(f"{source} is not a conformance record of format {FORMAT} (found {found!r})")
        try:
            entries = [Entry(**entry) for entry in data["entries"]]
        except (KeyError, TypeError) as error:
            raise ValueError(f"{source} has a malformed entry ({error}): re-run b2c-keys conformance") from None
        return cls(
            target=str(data.get("target", "unknown")),
            read_only_app=bool(data.get("read_only_app", False)),
            complete=bool(data.get("complete", False)),
            entries=entries,
            not_done=list(data.get("not_done", [])),
            notes=list(data.get("notes", [])),
            cleanup=dict(data.get("cleanup", {})),
        )

    @classmethod
    def load(cls, path: str | Path) -> Record:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as error:
            raise ValueError(f"cannot read the record {path} ({error.strerror})") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path} is not JSON ({error.msg} at line {error.lineno})") from None
        return cls.from_json(data, str(path))

    def write(self, path: str | Path) -> None:
        Path(path).write_text(self.dumps(), encoding="utf-8")
