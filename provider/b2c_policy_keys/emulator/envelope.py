"""The Graph error envelope, shared by every part of the emulator that answers with an error."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class RequestIds:
    """The ids Graph puts on every answer: its own ``request-id`` and the caller's ``client-request-id``."""

    request_id: str
    client_request_id: str

    @classmethod
    def for_request(cls, client_request_id: str | None) -> RequestIds:
        own = str(uuid.uuid4())
        return cls(request_id=own, client_request_id=client_request_id or own)


def error_body(code: str, message: str, ids: RequestIds) -> dict[str, Any]:
    """``{"error": {"code", "message", "innerError": {...}}}`` exactly as Graph shapes it."""
    return {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": datetime.now(tz=UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": ids.request_id,
                "client-request-id": ids.client_request_id,
                "correlationId": ids.request_id,
            },
        }
    }
