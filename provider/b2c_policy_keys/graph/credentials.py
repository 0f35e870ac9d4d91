"""Access tokens for Graph through msal, one token request per process until the token nears its expiry.

The provider host runs four calls at once for every resource of a deployment, so the token is cached here, read
without a lock on the fast path and refreshed single-flight under a lock. msal keeps its own cache too; it is dropped
with the application when Graph rejects a token we still believed valid.
"""

from __future__ import annotations

import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msal
import requests

from b2c_policy_keys.errors import AuthenticationError, ConfigurationError, ThrottledError
from b2c_policy_keys.graph.http import MsalHttpClient, transport_error
from b2c_policy_keys.graph.mapping import AUTHENTICATION_HINT, THROTTLED_HINT
from b2c_policy_keys.graph.retry import RetryableAnswer, RetryableConnection, RetryPolicy
from b2c_policy_keys.graph.scrub import scrub
from b2c_policy_keys.graph.settings import CLOUDS, Settings

if TYPE_CHECKING:
    from cryptography import x509

#: OAuth errors meaning "try again later" (RFC 6749 section 5.2 and 4.1.2.1).
TRANSIENT_TOKEN_ERRORS = frozenset({"temporarily_unavailable", "server_error"})
#: Refresh this long before expiry (msal itself treats tokens within 5 minutes of expiry as expired).
REFRESH_MARGIN = 300.0
#: The audience Entra ID expects of a federated assertion; GitHub's OIDC token request takes it as ``audience``
#: (https://learn.microsoft.com/entra/workload-id/workload-identity-federation-create-trust , and
#: https://docs.github.com/actions/security-for-github-actions/security-hardening-your-deployments/configuring-openid-connect-in-cloud-providers).
FEDERATION_AUDIENCE = "api://AzureADTokenExchange"


@dataclass(frozen=True)
class _Token:
    value: str = ""
    refresh_at: float = 0.0


def _private_key_pem(key: Any) -> str:
    from cryptography.hazmat.primitives import serialization

    pem: bytes = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return pem.decode()


def load_certificate_credential(path: str, password: str | None) -> dict[str, str]:
    """msal's certificate credential from a PEM (key + certificate) or PFX file; clear errors, no secret in them."""
    # Imported here, not at module level: only certificate credentials need cryptography, and importing it costs
    # the provider host about 25 ms of its cold start (msal alone does not import it).
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise ConfigurationError(f"b2c:clientCertificatePath {path!r} cannot be read ({error.strerror})") from None
    secret = password.encode() if password else None
    key: Any
    certificate: x509.Certificate | None
    try:
        if b"-----BEGIN" in data:
            key = serialization.load_pem_private_key(data, secret)
            certificate = x509.load_pem_x509_certificate(data)
        else:
            key, certificate, _ = pkcs12.load_key_and_certificates(data, secret)
    except (ValueError, TypeError) as error:
        reason = "wrong or missing b2c:clientCertificatePassword, or not a PEM/PFX file"
        if "password" not in str(error).lower():
            reason = "the file must hold a private key and its certificate (PEM) or be a PFX file"
        raise ConfigurationError(f"b2c:clientCertificatePath {path!r} cannot be used: {reason}") from None
    if key is None or certificate is None:
        raise ConfigurationError(
            f"b2c:clientCertificatePath {path!r} must hold both the private key and its certificate"
        )
    return {
        "private_key": _private_key_pem(key),
        "public_certificate": certificate.public_bytes(serialization.Encoding.PEM).decode(),
    }


def _federated_assertion(path: str) -> Callable[[], str]:
    """Read the token file at each use: GitHub Actions and Kubernetes rotate it."""

    def read() -> str:
        try:
            return Path(path).read_text().strip()
        except OSError as error:
            raise ConfigurationError(f"b2c:oidcTokenFilePath {path!r} cannot be read ({error.strerror})") from None

    return read


def _requested_assertion(url: str, request_token: str, http_client: Any) -> Callable[[], str]:
    """GitHub Actions' ID token, requested afresh each time msal needs an assertion (it lives a few minutes).

    The protocol: ``GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=...`` with ``Authorization: bearer
    $ACTIONS_ID_TOKEN_REQUEST_TOKEN`` answers ``{"value": "<jwt>"}`` (GitHub's actions/toolkit ``core.getIDToken``,
    packages/core/src/oidc-utils.ts). The request token is a credential: never in a message, never sent on a redirect.
    """
    separator = "&" if urllib.parse.urlsplit(url).query else "?"
    target = f"{url}{separator}audience={urllib.parse.quote(FEDERATION_AUDIENCE, safe='')}"
    host = urllib.parse.urlsplit(url).netloc
    hint = (
        "On GitHub Actions give the job `permissions: id-token: write`; elsewhere check b2c:oidcRequestUrl "
        "(ARM_OIDC_REQUEST_URL) and b2c:oidcRequestToken (ARM_OIDC_REQUEST_TOKEN)."
    )

    def fetch() -> str:
        try:
            response = http_client.get(
                target, headers={"Authorization": f"bearer {request_token}", "Accept": "application/json"}
            )
        except requests.RequestException as error:
            raise AuthenticationError(
                f"the OIDC token request to {host} failed ({type(error).__name__})", hint=hint
            ) from None
        if response.status_code != 200:
            raise AuthenticationError(f"the OIDC token request to {host} answered {response.status_code}", hint=hint)
        try:
            value = response.json().get("value")
        except (ValueError, AttributeError):
            value = None
        if not isinstance(value, str) or not value:
            raise AuthenticationError(f'the OIDC token request to {host} answered without a "value"', hint=hint)
        return value

    return fetch


class NoRedirectHttpClient:
    """msal's ``http_client`` that never follows a redirect: the token request carries the client secret or an
    assertion, and ``requests`` would re-POST it to whatever host a 307/308 names (issue 11, B17)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def _checked(self, url: str, response: requests.Response) -> requests.Response:
        if response.is_redirect or 300 <= response.status_code < 400:
            origin = urllib.parse.urlsplit(url).netloc
            target = urllib.parse.urlsplit(response.headers.get("Location", "")).netloc or origin
            raise AuthenticationError(
                f"{origin} answered the token request with a redirect ({response.status_code}) to {target}; "
                "credentials are never sent on to a redirect",
                status=response.status_code,
                hint="Set b2c:authorityHost (B2C_AUTHORITY_HOST) to the host that answers token requests itself.",
            )
        return response

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        kwargs["allow_redirects"] = False
        return self._checked(url, self._inner.get(url, **kwargs))

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        kwargs["allow_redirects"] = False
        return self._checked(url, self._inner.post(url, **kwargs))

    def close(self) -> None:
        self._inner.close()


class TokenSource:
    """Bearer tokens for one ``Settings``; thread-safe, single-flight."""

    def __init__(
        self,
        settings: Settings,
        http_client: MsalHttpClient,
        clock: Callable[[], float] = time.time,
        policy: RetryPolicy | None = None,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._policy = policy or RetryPolicy(settings.retry_timeout)
        self._http_client = NoRedirectHttpClient(http_client)
        self._lock = threading.Lock()
        self._token = _Token()
        self._app: Any = None

    def token(self) -> str:
        token = self._token  # one attribute read: atomic, no lock on the fast path
        if token.value and self._clock() < token.refresh_at:
            return token.value
        with self._lock:
            token = self._token
            if token.value and self._clock() < token.refresh_at:
                return token.value
            self._token = self._acquire()
            return self._token.value

    def invalidate(self, value: str) -> None:
        """Forget ``value`` (Graph refused it) so the next call asks for a new token, bypassing msal's cache."""
        with self._lock:
            if self._token.value == value:
                self._token = _Token()
                self._app = None

    # --- msal ---------------------------------------------------------------------------------------------

    def _application(self) -> Any:
        if self._app is not None:
            return self._app
        s = self._settings
        if s.credential_kind == "msi":
            identity = (
                msal.UserAssignedManagedIdentity(client_id=s.client_id)
                if s.client_id
                else msal.SystemAssignedManagedIdentity()
            )
            self._app = msal.ManagedIdentityClient(identity, http_client=self._http_client)
            return self._app
        credential: Any
        if s.credential_kind == "secret":
            credential = s.client_secret
        elif s.credential_kind == "certificate":
            # The resolver guarantees a path for this kind.
            credential = load_certificate_credential(s.client_certificate_path or "", s.client_certificate_password)
        elif s.oidc_token_file_path:
            credential = {"client_assertion": _federated_assertion(s.oidc_token_file_path)}
        else:
            # The resolver guarantees the URL and the request token when there is no token file.
            assertion = _requested_assertion(s.oidc_request_url or "", s.oidc_request_token or "", self._http_client)
            credential = {"client_assertion": assertion}
        try:
            self._app = msal.ConfidentialClientApplication(
                s.client_id,
                client_credential=credential,
                authority=s.authority,
                http_client=self._http_client,
                instance_discovery=not s.custom_authority,
                validate_authority=not s.custom_authority,
            )
        except ValueError as error:
            # msal reads the tenant's OpenID configuration here; a wrong tenant or authority host fails this way.
            raise AuthenticationError(
                f"cannot read the OpenID configuration of {s.authority}: {str(error)[:200]}",
                hint="Check b2c:tenantId, b2c:environment and b2c:authorityHost.",
            ) from None
        return self._app

    def _acquire(self) -> _Token:
        """A new token; a throttled or unreachable token endpoint is retried like Graph (getting a token is safe
        to repeat). msal replays a throttled answer until its Retry-After passes, so a retry may cost no request."""
        try:
            return self._policy.call(self._acquire_once)
        except (RetryableAnswer, RetryableConnection) as exhausted:
            raise exhausted.error from None

    def _acquire_once(self) -> _Token:
        s = self._settings
        started = self._clock()
        try:
            app = self._application()
            if s.credential_kind == "msi":
                result = app.acquire_token_for_client(resource=CLOUDS[s.environment].graph_url)
            else:
                result = app.acquire_token_for_client(scopes=[s.scope])
        except requests.RequestException as error:
            failure = transport_error(error, s.authority_host, s)
            if isinstance(error, requests.exceptions.SSLError):
                raise failure from None
            raise RetryableConnection(failure) from None
        except msal.exceptions.MsalServiceError as error:
            # msal raises instead of answering for a 5xx from the token endpoint.
            busy = ThrottledError(f"the token endpoint failed ({str(error)[:60]})", hint=THROTTLED_HINT)
            raise RetryableAnswer(busy, None) from None
        except ValueError:
            # msal parses the answer as JSON; an HTML error page (a proxy, a wrong authority host) fails here.
            raise AuthenticationError(
                f"the token endpoint of {s.authority} answered with something that is not an OAuth answer",
                hint="Check b2c:authorityHost and b2c:environment.",
            ) from None
        if not isinstance(result, dict) or not result.get("access_token"):
            raise self._refused(result if isinstance(result, dict) else {})
        lifetime = float(result.get("expires_in") or 3600)
        margin = min(REFRESH_MARGIN, lifetime / 2)
        return _Token(str(result["access_token"]), started + lifetime - margin)

    def _settings_secrets(self) -> tuple[str, ...]:
        s = self._settings
        return tuple(v for v in (s.client_secret, s.client_certificate_password, s.oidc_request_token) if v)

    def _refused(self, result: dict[str, Any]) -> Exception:
        """The token endpoint said no: keep its AADSTS code and description, never the credential."""
        description = str(result.get("error_description") or result.get("error") or "no token was issued")
        first_line = description.splitlines()[0] if description else ""
        code = result.get("error")
        if first_line.startswith("AADSTS") and ":" in first_line:
            head, _, rest = first_line.partition(":")
            code, first_line = head.strip(), rest.strip()
        first_line = first_line.split(" Trace ID:")[0]
        first_line = scrub(first_line, self._settings_secrets())
        if result.get("error") in TRANSIENT_TOKEN_ERRORS:
            busy = ThrottledError(
                f"the token endpoint is busy or failing: {first_line[:300]}",
                code=str(code) if code else None,
                hint=THROTTLED_HINT,
            )
            return RetryableAnswer(busy, None)
        kind = {"secret": "client secret", "certificate": "client certificate", "oidc": "federated token"}
        return AuthenticationError(
            f"the token endpoint refused the {kind.get(self._settings.credential_kind, 'managed identity')}: "
            f"{first_line[:300]}",
            code=str(code) if code else None,
            hint=AUTHENTICATION_HINT,
        )
