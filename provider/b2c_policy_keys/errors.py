"""Every error the package raises, rooted in one class.

    B2CKeysError
    ├── ConfigurationError        settings missing or contradictory; raised before any network call
    ├── TransportError            no answer from the service (TLS failure, connection refused, timeouts)
    │   └── OutcomeUnknownError   a non-idempotent request may have reached the service: reconcile by reading
    │       └── UncertainKeyError a lost add left keys that may be its own: candidates listed, none adopted
    └── GraphError                the service answered with an error (status, code, message, request ids)
        ├── NotFoundError         404, or any status carrying AADB2C90073
        ├── AlreadyExistsError    AADB2C95028
        ├── ThrottledError        429/503/504 or a B2C throttling/transient code, still failing after retries
        ├── AuthenticationError   401, or the token endpoint refused the credentials
        └── PermissionDeniedError 403

Messages never contain request bodies, secret values or tokens: they are shown to users and stored in logs.
"""

from __future__ import annotations


class B2CKeysError(Exception):
    """Base of every error this package raises."""


class ConfigurationError(B2CKeysError):
    """Configuration is missing or contradictory. The message lists each problem and the command that fixes it."""


class TransportError(B2CKeysError):
    """The service could not be reached or did not answer. Safe to retry only for idempotent requests."""


class OutcomeUnknownError(TransportError):
    """A POST may have reached the service but its answer was lost. Not safe to retry blindly: read first."""

    #: True when the answer did not come in time: the service may still be doing the work, so a read made at once
    #: can miss its result (a connection the service closed means it is done with the request).
    timed_out: bool = False


class GraphError(B2CKeysError):
    """The service answered with an error."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        client_request_id: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.graph_message = message
        self.request_id = request_id
        self.client_request_id = client_request_id
        self.hint = hint
        super().__init__(self._render())

    def _render(self) -> str:
        head = " ".join(p for p in (str(self.status or ""), self.code or "") if p)
        text = f"{head}: {self.graph_message}" if head else self.graph_message
        if self.hint:
            text += f" {self.hint}"
        ids = [f"request-id {self.request_id}"] if self.request_id else []
        if self.client_request_id:
            ids.append(f"client-request-id {self.client_request_id}")
        return f"{text} ({', '.join(ids)})" if ids else text


class NotFoundError(GraphError):
    """The key set or key does not exist (404, or AADB2C90073 with any status)."""


class AlreadyExistsError(GraphError):
    """A key set with this id already exists (AADB2C95028)."""


class ThrottledError(GraphError):
    """Throttled or transiently failing, and still so when the retry budget ran out."""


class AuthenticationError(GraphError):
    """The credentials were refused or the token is invalid (401)."""


class PermissionDeniedError(GraphError):
    """The application lacks TrustFrameworkKeySet.ReadWrite.All (or Read.All) in the B2C tenant (403)."""


class UncertainKeyError(OutcomeUnknownError):
    """A key-adding request's answer was lost and nothing proves which key, if any, it made; nothing was adopted.

    The message lists the candidate kids and the ``b2c-keys`` commands that resolve it.
    """
