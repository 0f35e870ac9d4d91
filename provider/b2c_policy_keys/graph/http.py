"""The one pooled ``requests.Session`` of the process, and the per-request options every call must carry.

``requests`` lets ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` override ``Session.verify`` and reads ``~/.netrc``
(whose credentials would replace our ``Authorization`` header) when ``trust_env`` is on. So the session has
``trust_env`` off and every request passes ``verify``, ``timeout`` and ``proxies`` explicitly, computed once per
settings: the configured CA bundle (``b2c:caBundle``) when there is one, else the variables above, else certifi.
Proxies still come from ``HTTPS_PROXY``/``NO_PROXY``.
"""

from __future__ import annotations

import os
import re
import threading
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter

from b2c_policy_keys._version import __version__
from b2c_policy_keys.errors import TransportError
from b2c_policy_keys.graph.settings import Settings

USER_AGENT = f"b2c-policy-keys/{__version__}"
POOL_SIZE = 16
CONNECT_TIMEOUT = 10.0

_session: requests.Session | None = None
_session_lock = threading.Lock()


def shared_session() -> requests.Session:
    """The process-wide session: pooled (connections are reused across resources and threads), no retries of its own."""
    global _session
    with _session_lock:
        if _session is None:
            session = requests.Session()
            session.trust_env = False
            adapter = HTTPAdapter(pool_connections=8, pool_maxsize=POOL_SIZE, max_retries=0)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            session.headers["User-Agent"] = USER_AGENT  # for msal's requests; Graph requests set it themselves
            _session = session
        return _session


def _verify_for(settings: Settings, env: Mapping[str, str]) -> str | bool:
    return settings.ca_bundle or env.get("REQUESTS_CA_BUNDLE") or env.get("CURL_CA_BUNDLE") or True


@dataclass(frozen=True)
class RequestOptions:
    """``verify``, ``timeout`` and ``proxies`` for every request made for one ``Settings``."""

    verify: str | bool
    timeout: tuple[float, float]
    proxies: dict[str, str] = field(default_factory=dict)

    @classmethod
    def for_settings(cls, settings: Settings, env: Mapping[str, str] | None = None) -> RequestOptions:
        environ = os.environ if env is None else env
        proxies: dict[str, str] = {}
        for url in (settings.graph_url, settings.authority_host):
            proxies.update(requests.utils.get_environ_proxies(url))
        return cls(
            verify=_verify_for(settings, environ),
            timeout=(min(CONNECT_TIMEOUT, settings.request_timeout), settings.request_timeout),
            proxies=proxies,
        )

    def as_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"verify": self.verify, "timeout": self.timeout}
        if self.proxies:  # an empty mapping still costs requests a merge on every call
            kwargs["proxies"] = self.proxies
        return kwargs


class MsalHttpClient:
    """The ``http_client`` handed to msal: the shared session, with our ``verify``/timeouts/proxies on each call.

    msal calls ``get``/``post`` with its own arguments; a bare session would let the environment's CA bundle win.
    """

    def __init__(self, session: requests.Session, options: RequestOptions) -> None:
        self._session = session
        self._options = options

    def _with_options(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        kwargs.update(self._options.as_kwargs())
        return kwargs

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self._session.get(url, **self._with_options(kwargs))

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        return self._session.post(url, **self._with_options(kwargs))

    def close(self) -> None:
        """The session is shared by the process: msal must not close it."""


# --- connection failures -------------------------------------------------------------------------------------

_SSL_REASON = re.compile(r"(certificate verify failed[^'\")]*|hostname [^'\")]*|wrong version number)")


def never_sent(error: requests.RequestException) -> bool:
    """Whether the request provably never reached the service (no connection was made), so any method may retry."""
    if isinstance(error, requests.exceptions.SSLError):
        return False
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(error, requests.exceptions.ConnectionError):
        reason: object = error.args[0] if error.args else None
        if isinstance(reason, urllib3.exceptions.MaxRetryError):
            reason = reason.reason
        return isinstance(reason, urllib3.exceptions.NewConnectionError | urllib3.exceptions.ConnectTimeoutError)
    return False


def transport_error(error: requests.RequestException, url: str, settings: Settings) -> TransportError:
    """A ``TransportError`` naming the cause and the setting that fixes it; never the request or its headers."""
    sent = getattr(error.request, "url", None)  # the URL really tried (msal's managed identity endpoint, ...)
    host = urllib.parse.urlsplit(sent or url).netloc or url
    if isinstance(error, requests.exceptions.SSLError):
        found = _SSL_REASON.search(str(error))
        reason = found.group(1).strip() if found else "the TLS handshake failed"
        trusted = f"the CA bundle {settings.ca_bundle!r}" if settings.ca_bundle else "the default CA bundle"
        return TransportError(
            f"TLS verification of {host} failed ({reason}) against {trusted}. Set b2c:caBundle "
            "(or B2C_CA_BUNDLE) to the CA certificate that signed the server's certificate "
            "(for the local emulator: the ca_bundle it prints)."
        )
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return TransportError(f"could not connect to {host} within {CONNECT_TIMEOUT:g} s")
    if isinstance(error, requests.exceptions.ReadTimeout):
        return TransportError(f"{host} did not answer within {settings.request_timeout:g} s (b2c:requestTimeout)")
    if never_sent(error):
        return TransportError(f"could not connect to {host} (connection refused or name not resolved)")
    return TransportError(f"the connection to {host} was lost before an answer arrived")
