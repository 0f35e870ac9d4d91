"""From an error answer of Graph to one typed exception, by one table.

The table is data so that a test can check it covers every class of ``b2c_policy_keys.errors``. Codes win over
statuses because the service is inconsistent about statuses (AADB2C90073 arrives as 400 or 404; the status of
AADB2C95028 is undocumented).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from b2c_policy_keys.errors import (
    AlreadyExistsError,
    AuthenticationError,
    GraphError,
    NotFoundError,
    PermissionDeniedError,
    ThrottledError,
)
from b2c_policy_keys.graph.scrub import scrub

#: B2C codes meaning "slow down" or "transient, try again": retried like 429/503/504.
RETRYABLE_CODES = frozenset({"AADB2C95043", "AADB2C90229", "AADB2C90063", "AADB2C95053"})
RETRYABLE_STATUSES = frozenset({429, 503, 504})

PERMISSION_HINT = (
    "The application needs the Microsoft Graph application permission TrustFrameworkKeySet.ReadWrite.All "
    "(TrustFrameworkKeySet.Read.All for reads), granted with admin consent, and must be registered in the B2C "
    "tenant itself."
)
AUTHENTICATION_HINT = (
    "Check b2c:tenantId, b2c:clientId and the credential; the application must be registered in the B2C tenant."
)
ALREADY_EXISTS_HINT = (
    "To manage the existing key set, set adopt_existing=True on the resource "
    "(dynamic resources cannot be brought in with `pulumi import`)."
)
THROTTLED_HINT = "The service kept throttling or failing transiently until the retry budget (b2c:retryTimeout) ran out."

#: code -> class; looked up first.
BY_CODE: dict[str, type[GraphError]] = {
    "AADB2C90073": NotFoundError,
    "AADB2C95028": AlreadyExistsError,
    **{code: ThrottledError for code in RETRYABLE_CODES},
}
#: status -> class; looked up when the code says nothing more specific.
BY_STATUS: dict[int, type[GraphError]] = {
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    **{status: ThrottledError for status in RETRYABLE_STATUSES},
}
HINTS: dict[type[GraphError], str] = {
    AuthenticationError: AUTHENTICATION_HINT,
    PermissionDeniedError: PERMISSION_HINT,
    AlreadyExistsError: ALREADY_EXISTS_HINT,
    ThrottledError: THROTTLED_HINT,
}


@dataclass(frozen=True)
class ErrorAnswer:
    """What an error answer said, read defensively (HTML pages, empty or truncated bodies happen)."""

    status: int
    code: str | None
    message: str
    request_id: str | None
    client_request_id: str | None


def is_retryable(status: int, code: str | None) -> bool:
    return status in RETRYABLE_STATUSES or code in RETRYABLE_CODES


def exception_class(status: int | None, code: str | None) -> type[GraphError]:
    if code is not None and code in BY_CODE:
        return BY_CODE[code]
    if status is not None and status in BY_STATUS:
        return BY_STATUS[status]
    return GraphError


def _scrub(text: str, secrets: Iterable[str]) -> str:
    return scrub(text, secrets)  # every spelling, not only the exact value (issue 11, B11)


def _shorten(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


def read_error_answer(
    status: int,
    body: bytes,
    content_type: str,
    headers: Mapping[str, str],
    client_request_id: str | None,
) -> ErrorAnswer:
    """Code and message from the Graph envelope; a plain description when the body is not one."""
    request_id = headers.get("request-id")
    code: str | None = None
    message = ""
    parsed: Any = None
    if body:
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if isinstance(error, dict):
        code = error.get("code") if isinstance(error.get("code"), str) else None
        raw = error.get("message")
        message = raw if isinstance(raw, str) else ""
        inner = error.get("innerError")
        if isinstance(inner, dict):
            request_id = request_id or _str_or_none(inner.get("request-id"))
            client_request_id = _str_or_none(inner.get("client-request-id")) or client_request_id
    elif not body:
        message = "the service answered with an empty body"
    elif parsed is None:
        kind = content_type.split(";")[0].strip() or "unknown content type"
        message = f"the service answered with a body that is not JSON ({kind})"
    else:
        message = "the service answered with JSON that is not a Graph error envelope"
    return ErrorAnswer(status, code, message or "no message", request_id, client_request_id)


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def to_exception(answer: ErrorAnswer, *, secrets: Iterable[str] = ()) -> GraphError:
    cls = exception_class(answer.status, answer.code)
    return cls(
        _shorten(_scrub(answer.message, secrets)),
        status=answer.status,
        code=answer.code,
        request_id=answer.request_id,
        client_request_id=answer.client_request_id,
        hint=HINTS.get(cls),
    )
