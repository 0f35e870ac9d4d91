"""The Graph error envelope, shared by every part of the emulator that answers with an error."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

#: Codes the B2C backend raises; only their envelopes carry a ``correlationId``. Graph's own gateway errors (401
#: ``InvalidAuthenticationToken``, the ``UnknownError`` wrap of getActiveKey by POST, ``TooManyRequests``) have none
#: (observed: microsoft-graph-docs PR 9963 and the B2C answers pasted in public issues, reference "What independent
#: evidence says").
B2C_CODE_PREFIX = "AADB2C"


@dataclass(frozen=True)
class RequestIds:
    """The ids Graph puts on every answer: its own ``request-id`` and the caller's ``client-request-id``."""

    request_id: str
    client_request_id: str

    @classmethod
    def for_request(cls, client_request_id: str | None) -> RequestIds:
        own = str(uuid.uuid4())
        return cls(request_id=own, client_request_id=client_request_id or own)


def error_date() -> str:
    """``YYYY-MM-DDTHH:MM:SS`` in UTC, no fraction and no zone, as the real envelopes show it."""
    return datetime.now(tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")


def error_body(code: str, message: str, ids: RequestIds, *, inner: dict[str, Any] | None = None) -> dict[str, Any]:
    """``{"error": {"code", "message", "innerError": {...}}}`` exactly as Graph shapes it.

    A B2C error's ``correlationId`` is its own id, distinct from ``request-id`` (observed in real B2C envelopes).
    ``inner`` adds fields Graph puts there for some errors (``code``/``status`` of its 429).
    """
    inner_error: dict[str, Any] = {**(inner or {}), "date": error_date(), "request-id": ids.request_id}
    inner_error["client-request-id"] = ids.client_request_id
    if code.startswith(B2C_CODE_PREFIX):
        inner_error["correlationId"] = str(uuid.uuid4())
    return {"error": {"code": code, "message": message, "innerError": inner_error}}
