"""What reached the emulator, in order: method, path, status and duration only.

Only the path is kept (no query, headers or body), so the log can never hold a secret, a token or a key value.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

#: Oldest entries fall off past this many, so a long benchmark cannot grow the emulator's memory.
MAX_ENTRIES = 100_000

#: The status logged for a request whose connection a fault dropped: the client never saw an answer.
DROPPED = 0


class RequestLog:
    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=max_entries)
        self._lock = threading.Lock()

    def record(self, method: str, path: str, status: int, duration_ms: float) -> None:
        entry = {
            "method": method,
            "path": path.split("?", 1)[0],
            "status": status,
            "duration_ms": round(duration_ms, 3),
        }
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(entry) for entry in self._entries]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
