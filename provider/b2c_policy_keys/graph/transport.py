"""One Graph request: token, request ids, TLS options, retries, and the translation of every failure.

Nothing above this module sees ``requests``/``urllib3`` exceptions or raw error answers: it gets parsed JSON or one
of the exceptions of ``b2c_policy_keys.errors``.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.parse
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import requests
from requests.structures import CaseInsensitiveDict

from b2c_policy_keys.errors import GraphError, OutcomeUnknownError
from b2c_policy_keys.graph.credentials import TokenSource
from b2c_policy_keys.graph.http import (
    USER_AGENT,
    MsalHttpClient,
    RequestOptions,
    never_sent,
    shared_session,
    transport_error,
)
from b2c_policy_keys.graph.mapping import is_retryable, read_error_answer, to_exception
from b2c_policy_keys.graph.retry import RetryableAnswer, RetryableConnection, RetryPolicy, parse_retry_after
from b2c_policy_keys.graph.settings import Settings

logger = logging.getLogger("b2c_policy_keys.graph")

#: Methods whose repetition cannot add a key: retried after a lost connection.
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "PATCH"})


@dataclass(frozen=True)
class Answer:
    """A successful answer: its JSON (None when empty) and the ids to quote if its content turns out unusable."""

    status: int
    body: Any
    request_id: str | None
    client_request_id: str

    def malformed(self, reason: str) -> GraphError:
        return GraphError(
            f"the service answered with an unexpected body: {reason}",
            status=self.status,
            request_id=self.request_id,
            client_request_id=self.client_request_id,
        )


class Transport:
    def __init__(
        self,
        settings: Settings,
        session: requests.Session | None = None,
        tokens: TokenSource | None = None,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.settings = settings
        self._session = session or shared_session()
        options = RequestOptions.for_settings(settings)
        self._send_options = options.as_kwargs()
        self.policy = policy or RetryPolicy(settings.retry_timeout)
        self.tokens = tokens or TokenSource(settings, MsalHttpClient(self._session, options), policy=self.policy)
        self.base_url = settings.graph_url + "/beta"

    def request(self, method: str, path: str, *, body: Any = None, secrets: Iterable[str] = ()) -> Answer:
        """Send ``method path`` (relative to ``/beta``, or an absolute URL under it), retrying per ``RetryPolicy``."""
        url = path if path.startswith("https://") else self.base_url + path
        payload = None if body is None else json.dumps(body).encode()
        hidden = tuple(secrets)
        try:
            answer = self.policy.call(lambda: self._send(method, url, payload, hidden))
        except RetryableAnswer as exhausted:
            raise exhausted.error from None
        except RetryableConnection as exhausted:
            raise exhausted.error from None
        return answer

    def _send(self, method: str, url: str, payload: bytes | None, secrets: tuple[str, ...]) -> Answer:
        response, client_request_id = self._exchange(method, url, payload)
        if response.status_code == 401:
            # A token we believed valid was refused (revoked, signing key rolled): one fresh token, one more try.
            self.tokens.invalidate(response.request.headers["Authorization"][len("Bearer ") :])
            response, client_request_id = self._exchange(method, url, payload)
        status = response.status_code
        if 200 <= status < 300:
            return self._success(response, client_request_id)
        answer = read_error_answer(
            status, response.content, response.headers.get("Content-Type", ""), response.headers, client_request_id
        )
        error = to_exception(answer, secrets=secrets)
        if is_retryable(status, answer.code):
            raise RetryableAnswer(error, parse_retry_after(response.headers.get("Retry-After")))
        raise error

    def _exchange(self, method: str, url: str, payload: bytes | None) -> tuple[requests.Response, str]:
        client_request_id = str(uuid.uuid4())
        headers = {
            "Authorization": "Bearer " + self.tokens.token(),
            "User-Agent": USER_AGENT,
            "client-request-id": client_request_id,
        }
        if payload is not None:
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        try:
            response = self._deliver(method, url, payload, headers)
        except requests.RequestException as error:
            self._log(method, url, "no answer", started, None, client_request_id)
            raise self._connection_failure(method, url, error, client_request_id) from None
        self._log(method, url, response.status_code, started, response.headers.get("request-id"), client_request_id)
        return response, client_request_id

    def _deliver(self, method: str, url: str, payload: bytes | None, headers: dict[str, str]) -> requests.Response:
        """The request, straight to the session's transport adapter.

        ``Session.request`` would add a cookie jar, environment and hook merging and redirect handling on every call
        (about 0.2 ms of CPU in the provider host, a fifth of a loopback request): Graph sets no cookies and
        answers these calls without redirects, ``trust_env`` is off and the options are computed once. The
        session's own headers, its mounted adapters and the adapter's exception translation still apply.
        """
        merged = CaseInsensitiveDict(self._session.headers)
        merged.update(headers)
        prepared = requests.PreparedRequest()
        prepared.prepare(method=method, url=url, headers=merged, data=payload)
        response = self._session.get_adapter(url).send(prepared, **self._send_options)
        response.content  # noqa: B018 - read the body now, as Session.send does, so the connection is released
        return response

    def _connection_failure(
        self, method: str, url: str, error: requests.RequestException, client_request_id: str
    ) -> Exception:
        failure = transport_error(error, url, self.settings)
        if isinstance(error, requests.exceptions.SSLError):
            return failure
        if method in IDEMPOTENT or never_sent(error):
            return RetryableConnection(failure)
        path = urllib.parse.urlsplit(url).path
        lost = OutcomeUnknownError(
            f"{method} {path}: {failure}; the request may have reached the service, so it was not repeated. "
            f"Read the key set to learn whether it took effect (client-request-id {client_request_id})."
        )
        lost.timed_out = isinstance(error, requests.exceptions.ReadTimeout)
        return lost

    @staticmethod
    def _success(response: requests.Response, client_request_id: str) -> Answer:
        request_id = response.headers.get("request-id")
        content = response.content
        if response.status_code == 204 or not content.strip():
            return Answer(response.status_code, None, request_id, client_request_id)
        try:
            body = json.loads(content)
        except ValueError:
            kind = response.headers.get("Content-Type", "").split(";")[0] or "unknown content type"
            raise Answer(response.status_code, None, request_id, client_request_id).malformed(
                f"not JSON ({kind})"
            ) from None
        return Answer(response.status_code, body, request_id, client_request_id)

    @staticmethod
    def _log(
        method: str, url: str, status: int | str, started: float, request_id: str | None, client_request_id: str
    ) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s -> %s in %.1f ms (request-id %s, client-request-id %s)",
                method,
                urllib.parse.urlsplit(url).path,
                status,
                (time.perf_counter() - started) * 1000,
                request_id,
                client_request_id,
            )
