"""Injected failures: throttling, lost requests, lost answers and slowness, for retry and recovery tests.

Two throttlings exist because the service has two layers: ``status`` 429 is B2C's (``AADB2C95043`` in the B2C
envelope), ``graph_throttle`` is the Graph gateway's (``TooManyRequests``, innerError ``code``/``status`` "429",
``Retry-After`` possibly fractional such as ``2.128``: doc, Microsoft Graph throttling guidance).

Faults apply in the order they were added to every request whose method and path match, the token endpoint
included (the admin API never matches, so a test cannot lock itself out).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

FaultKind = Literal["status", "graph_throttle", "drop_before", "drop_after", "latency"]
KINDS: tuple[str, ...] = ("status", "graph_throttle", "drop_before", "drop_after", "latency")
#: What a ``graph_throttle`` fault answers (doc: Microsoft Graph throttling guidance, its sample 429).
GRAPH_THROTTLE_CODE = "TooManyRequests"
GRAPH_THROTTLE_MESSAGE = "Please retry again later."
GRAPH_THROTTLE_INNER: Mapping[str, str] = {"code": "429", "message": "Please retry after", "status": "429"}

#: The Graph error code a ``status`` fault answers with when the fault names none.
DEFAULT_CODES: Mapping[int, str] = {
    400: "BadRequest",
    401: "InvalidAuthenticationToken",
    403: "AADB2C",
    404: "AADB2C90073",
    409: "AADB2C95053",
    429: "AADB2C95043",
    500: "AADB2C90063",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}

DEFAULT_MESSAGES: Mapping[str, str] = {
    "AADB2C95043": "There are too many requests at this moment. Please wait for some time and try again.",
    "AADB2C90063": "There is a problem with the service.",
    "AADB2C95053": "Multiple concurrent writes to the same object detected. "
    "Please perform update operations on the same object sequentially.",
}


@dataclass
class Fault:
    kind: FaultKind
    path_regex: re.Pattern[str]
    method: str | None = None
    status: int = 500
    code: str = ""
    message: str = ""
    retry_after: float | None = None  # seconds; fractional ones are sent as written (2.128)
    latency_ms: int = 0
    remaining: int | None = None  # None: every matching request
    id: int = 0
    hits: int = field(default=0)

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> Fault:
        """Validate an admin-API fault; ValueError names the first problem."""
        kind = spec.get("kind")
        if kind not in KINDS:
            raise ValueError(f"'kind' must be one of {', '.join(KINDS)}")
        regex = spec.get("path_regex", "")
        if not isinstance(regex, str):
            raise ValueError("'path_regex' must be a string")
        try:
            pattern = re.compile(regex)
        except re.error as error:
            raise ValueError(f"'path_regex' is not a valid regular expression: {error}") from error
        method = spec.get("method")
        if method is not None and not isinstance(method, str):
            raise ValueError("'method' must be a string")
        status = 429 if kind == "graph_throttle" else _int(spec, "status", 500)
        if kind == "status" and not 400 <= status <= 599:
            raise ValueError("'status' must be an HTTP error status (400-599)")
        if kind == "graph_throttle":
            code = GRAPH_THROTTLE_CODE
        else:
            code = spec.get("code") or DEFAULT_CODES.get(status, "UnknownError")
        count = spec.get("count")
        if count is not None and (not isinstance(count, int) or count < 1):
            raise ValueError("'count' must be a positive integer")
        retry_after = spec.get("retry_after")
        if retry_after is not None and (
            isinstance(retry_after, bool) or not isinstance(retry_after, int | float) or not 0 <= retry_after < 10**6
        ):
            raise ValueError("'retry_after' must be a non-negative number of seconds (fractions allowed: 2.128)")
        default_message = GRAPH_THROTTLE_MESSAGE if kind == "graph_throttle" else None
        return cls(
            kind=kind,
            path_regex=pattern,
            method=method.upper() if method else None,
            status=status,
            code=str(code),
            message=str(
                spec.get("message") or default_message or DEFAULT_MESSAGES.get(str(code), f"Injected fault ({status}).")
            ),
            retry_after=retry_after,
            latency_ms=_int(spec, "latency_ms", 0),
            remaining=count,
        )

    def retry_after_header(self) -> str | None:
        """``Retry-After`` as sent: whole seconds as an integer, fractions as written (``2.128``)."""
        if self.retry_after is None:
            return None
        return str(int(self.retry_after)) if float(self.retry_after).is_integer() else f"{self.retry_after:g}"

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "method": self.method,
            "path_regex": self.path_regex.pattern,
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "retry_after": self.retry_after,
            "latency_ms": self.latency_ms,
            "count": self.remaining,
            "hits": self.hits,
        }


def _int(spec: Mapping[str, Any], name: str, default: int) -> int:
    value = spec.get(name, default)
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"'{name}' must be a non-negative integer")
    return value


class FaultBook:
    """The active faults; thread-safe, each hit consumes one of a fault's ``count``."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._next_id = 1

    def add(self, spec: Mapping[str, Any]) -> Fault:
        fault = Fault.from_spec(spec)
        with self._lock:
            fault.id = self._next_id
            self._next_id += 1
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def remove(self, fault_id: int) -> None:
        """Drop one fault, leaving the others (tests running cells side by side clear only their own)."""
        with self._lock:
            self._faults = [fault for fault in self._faults if fault.id != fault_id]

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [fault.describe() for fault in self._faults]

    def take(self, method: str, path: str) -> tuple[int, Fault | None]:
        """Consume the faults this request meets: total injected latency, then the first failing fault."""
        latency_ms = 0
        with self._lock:
            for fault in list(self._faults):
                if fault.method is not None and fault.method != method:
                    continue
                if not fault.path_regex.search(path):
                    continue
                fault.hits += 1
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                if fault.kind == "latency":
                    latency_ms += fault.latency_ms
                    continue
                return latency_ms, fault
        return latency_ms, None
