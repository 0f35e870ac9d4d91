"""Raw Graph requests with the package's token and TLS plumbing, and nothing of the client's interpretation.

The record must show the service's real answers, so this sends one request and hands back the response as it came:
no retries of error answers (except waiting out throttling, which would otherwise end the run), no mapping to
exceptions. Tokens come from the same ``TokenSource`` (msal) and ``RequestOptions`` (CA bundle, timeouts, proxies)
as the provider's, so a probe that runs is a provider that can connect.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
import requests

from b2c_policy_keys.graph.credentials import TokenSource
from b2c_policy_keys.graph.http import USER_AGENT, MsalHttpClient, RequestOptions, shared_session
from b2c_policy_keys.graph.retry import parse_retry_after
from b2c_policy_keys.graph.settings import Settings

#: The write permission (reference, "Where it lives"): a token without it runs only the read half.
WRITE_ROLE = "TrustFrameworkKeySet.ReadWrite.All"
#: Throttled answers are waited out this often, at most this long each, so the script's answers stay its own.
THROTTLE_ATTEMPTS = 3
THROTTLE_MAX_WAIT_S = 30.0


@dataclass(frozen=True)
class Reply:
    """One answer: status, headers, parsed JSON (None when empty or not JSON) and the waits it took."""

    status: int
    headers: dict[str, str]
    json: Any
    content_type: str
    throttled: int = 0


class Caller:
    """One credential's view of Graph: ``send(method, path, body)`` relative to ``/beta``."""

    def __init__(self, settings: Settings, session: requests.Session | None = None) -> None:
        self.settings = settings
        self._session = session or shared_session()
        options = RequestOptions.for_settings(settings)
        self._kwargs = options.as_kwargs()
        self.tokens = TokenSource(settings, MsalHttpClient(self._session, options))
        self.base_url = settings.graph_url.rstrip("/") + "/beta"
        #: The last bearer token sent: the probe keeps every token it used out of the record.
        self.last_token = ""

    def token(self) -> str:
        return self.tokens.token()

    def can_write(self) -> bool:
        """Whether the token carries the write role; a token that is not a readable JWT is taken as read-write.

        Only the claims are read (the signature is Graph's to check): this decides which half of the script runs.
        """
        try:
            claims = jwt.decode(self.token(), options={"verify_signature": False})
        except jwt.PyJWTError:
            return True
        roles = claims.get("roles")
        return not isinstance(roles, list) or WRITE_ROLE in roles

    def send(self, method: str, path: str, body: Any = None) -> Reply:
        throttled = 0
        while True:
            response = self._exchange(method, path, body)
            wait = parse_retry_after(response.headers.get("Retry-After"))
            if response.status_code != 429 or throttled + 1 >= THROTTLE_ATTEMPTS:
                break
            throttled += 1
            time.sleep(min(wait if wait is not None else 2.0 * throttled, THROTTLE_MAX_WAIT_S))
        content_type = response.headers.get("Content-Type", "")
        parsed: Any = None
        if response.content.strip():
            try:
                parsed = json.loads(response.content)
            except ValueError:
                parsed = None
        return Reply(response.status_code, dict(response.headers), parsed, content_type, throttled)

    def _exchange(self, method: str, path: str, body: Any) -> requests.Response:
        self.last_token = self.token()
        headers = {
            "Authorization": "Bearer " + self.last_token,
            "User-Agent": USER_AGENT + " conformance",
            "client-request-id": str(uuid.uuid4()),
        }
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body).encode()
        return self._session.request(
            method, self.base_url + path, data=data, headers=headers, allow_redirects=False, **self._kwargs
        )
