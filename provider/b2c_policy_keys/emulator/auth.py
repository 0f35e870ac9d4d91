"""OAuth2 for the emulated tenant: discovery, the token endpoint, JWKS, managed identity, federation, bearer checks.

Shaped like Entra ID closely enough that ``msal`` works unchanged: a client secret, a certificate-signed client
assertion (RS256 with ``x5t`` or PS256 with ``x5t#S256``), or a federated assertion from the emulator's own external
issuer. Errors carry the AAD shape (``error``, ``error_description`` starting with an ``AADSTS`` code,
``error_codes``, ``trace_id``, ``correlation_id``).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt

from b2c_policy_keys.emulator.clients import ANY_SUBJECT, MANAGED_IDENTITY_CLIENT_ID, Client, ClientRegistry
from b2c_policy_keys.emulator.principal import READ_WRITE_ROLE, Principal
from b2c_policy_keys.emulator.signing import SigningKey

GRAPH_RESOURCE = "https://graph.microsoft.com"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
GRAPH_SCOPES = frozenset({f"{GRAPH_RESOURCE}/.default", f"{GRAPH_APP_ID}/.default"})
#: Scopes msal or users add that the client-credentials grant ignores.
IGNORED_SCOPES = frozenset({"openid", "profile", "offline_access"})
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: The emulator's stand-in for an external OIDC issuer (GitHub Actions, Kubernetes...). Fixed, so that it does not
#: depend on the port and survives restarts.
EXTERNAL_ISSUER = "https://federation.b2c-emulator.invalid"
FEDERATION_AUDIENCE = "api://AzureADTokenExchange"
ASSERTION_ALGORITHMS = ["RS256", "PS256"]
_VERIFIED_CACHE_SIZE = 4096


class OAuthError(Exception):
    """A token-endpoint refusal in the AAD shape."""

    def __init__(self, status: int, error: str, aadsts: int, description: str) -> None:
        super().__init__(f"AADSTS{aadsts}: {description}")
        self.status = status
        self.error = error
        self.aadsts = aadsts
        self.description = description

    def body(self, correlation_id: str | None) -> dict[str, Any]:
        trace_id = str(uuid.uuid4())
        correlation = correlation_id or str(uuid.uuid4())
        stamp = datetime.now(tz=UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        return {
            "error": self.error,
            "error_description": f"AADSTS{self.aadsts}: {self.description} Trace ID: {trace_id} "
            f"Correlation ID: {correlation} Timestamp: {stamp}",
            "error_codes": [self.aadsts],
            "timestamp": stamp,
            "trace_id": trace_id,
            "correlation_id": correlation,
            "error_uri": f"https://login.microsoftonline.com/error?code={self.aadsts}",
        }


class BearerError(Exception):
    """Graph's 401 ``InvalidAuthenticationToken``; the message is Graph's wording."""


class ManagedIdentityError(Exception):
    """The App Service identity endpoint's refusal: ``{"statusCode", "message"}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_on: int
    lifetime_s: int


def unknown_tenant(tenant: str) -> OAuthError:
    return OAuthError(
        400,
        "invalid_tenant",
        90002,
        f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the "
        "correct cloud.",
    )


def _missing(parameter: str) -> OAuthError:
    return OAuthError(
        400, "invalid_request", 900144, f"The request body must contain the following parameter: '{parameter}'."
    )


class Authority:
    """Issues and checks the emulated tenant's tokens. Thread-safe."""

    def __init__(
        self,
        *,
        tenant_id: str,
        clients: ClientRegistry,
        signing_key: SigningKey,
        federation_key: SigningKey,
        token_lifetime_s: int,
    ) -> None:
        self.tenant_id = tenant_id
        self.clients = clients
        self.signing_key = signing_key
        self.federation_key = federation_key
        self.token_lifetime_s = token_lifetime_s
        self.token_issuer = f"https://sts.windows.net/{tenant_id}/"
        self._verified: dict[str, tuple[Principal, int]] = {}
        self._lock = threading.Lock()

    # --- discovery -------------------------------------------------------------------------------------------

    def knows_tenant(self, tenant: str) -> bool:
        return tenant.lower() == self.tenant_id.lower()

    def discovery(self, authority_host: str) -> dict[str, Any]:
        base = f"{authority_host}/{self.tenant_id}"
        return {
            "issuer": f"{base}/v2.0",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "response_modes_supported": ["query", "fragment", "form_post"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "tid", "roles", "appid", "azp"],
            "tenant_region_scope": "NA",
            "cloud_instance_name": "b2c-emulator.invalid",
            "msgraph_host": "graph.microsoft.com",
        }

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.signing_key.public_jwk()]}

    # --- issuing ---------------------------------------------------------------------------------------------

    def issue(self, client_id: str, roles: Collection[str], *, lifetime_s: int | None = None) -> IssuedToken:
        """An app-only Graph access token, shaped like Entra's v1 tokens for Graph."""
        lifetime = self.token_lifetime_s if lifetime_s is None else lifetime_s
        now = int(time.time())
        claims = {
            "aud": GRAPH_RESOURCE,
            "iss": self.token_issuer,
            "iat": now,
            "nbf": min(now, now + lifetime),
            "exp": now + lifetime,
            "appid": client_id,
            "azp": client_id,
            "appidacr": "1",
            "idtyp": "app",
            "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.tenant_id}/{client_id}")),
            "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.tenant_id}/{client_id}")),
            "tid": self.tenant_id,
            "roles": sorted(roles),
            "ver": "1.0",
            "uti": uuid.uuid4().hex,
        }
        token = jwt.encode(
            claims, self.signing_key.private_key, algorithm="RS256", headers={"kid": self.signing_key.kid}
        )
        return IssuedToken(token, now + lifetime, lifetime)

    def token_response(self, issued: IssuedToken) -> dict[str, Any]:
        return {
            "token_type": "Bearer",
            "expires_in": issued.lifetime_s,
            "ext_expires_in": issued.lifetime_s,
            "access_token": issued.access_token,
        }

    def token(self, tenant: str, form: Mapping[str, str], audiences: Collection[str]) -> IssuedToken:
        """The client-credentials grant. ``audiences``: URLs of this token endpoint a client assertion may name."""
        if not self.knows_tenant(tenant):
            raise unknown_tenant(tenant)
        grant = form.get("grant_type")
        if not grant:
            raise _missing("grant_type")
        if grant != "client_credentials":
            raise OAuthError(
                400,
                "unsupported_grant_type",
                70003,
                "The app requested an unsupported grant type "
                f"'{grant}'. The emulator supports client_credentials only.",
            )
        client_id = form.get("client_id", "")
        if not client_id:
            raise _missing("client_id")
        client = self.clients.get(client_id)
        if client is None:
            raise OAuthError(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory '{self.tenant_id}'.",
            )
        self._check_scope(form.get("scope", ""))
        if form.get("client_assertion"):
            self._check_assertion(client, form, audiences)
        elif form.get("client_secret"):
            if not client.secret_matches(form["client_secret"]):
                raise OAuthError(
                    401,
                    "invalid_client",
                    7000215,
                    "Invalid client secret provided. Ensure the secret "
                    "being sent in the request is the client secret value, not the client secret ID, for "
                    f"a secret added to app '{client.client_id}'.",
                )
        else:
            raise OAuthError(
                401,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            )
        return self.issue(client.client_id, client.roles)

    def _check_scope(self, scope: str) -> None:
        scopes = set(scope.split()) - IGNORED_SCOPES
        if not scopes:
            raise _missing("scope")
        for value in scopes:
            if not value.endswith("/.default"):
                raise OAuthError(
                    400,
                    "invalid_scope",
                    1002012,
                    f"The provided value for scope {value} is not valid. "
                    "Client credential flows must have a scope value with /.default suffixed to the "
                    "resource identifier (application ID URI).",
                )
            if value not in GRAPH_SCOPES:
                resource = value.removesuffix("/.default")
                raise OAuthError(
                    400,
                    "invalid_resource",
                    500011,
                    f"The resource principal named {resource} was not "
                    f"found in the tenant named {self.tenant_id}. The emulator serves "
                    f"{GRAPH_RESOURCE}/.default only.",
                )

    def _check_assertion(self, client: Client, form: Mapping[str, str], audiences: Collection[str]) -> None:
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise OAuthError(
                400,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: "
                f"'client_assertion_type' with value '{ASSERTION_TYPE}'.",
            )
        assertion = form["client_assertion"]
        try:
            header = jwt.get_unverified_header(assertion)
            unverified = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError as error:
            raise OAuthError(401, "invalid_client", 50027, "JWT token is invalid or malformed.") from error
        if unverified.get("iss") == EXTERNAL_ISSUER:
            self._check_federated(client, assertion)
        else:
            self._check_certificate_assertion(client, assertion, header, audiences)

    def _check_certificate_assertion(
        self, client: Client, assertion: str, header: Mapping[str, Any], audiences: Collection[str]
    ) -> None:
        thumbprint = str(header.get("x5t#S256") or header.get("x5t") or "").rstrip("=")  # msal pads
        public_key = client.certificates.get(str(thumbprint))
        if public_key is None:
            raise OAuthError(
                401,
                "invalid_client",
                700027,
                "Client assertion contains an invalid signature. "
                f"[Reason - The key was not found., Thumbprint of key used by client: '{thumbprint}', "
                f"Please visit the Azure Portal to verify the certificates of app '{client.client_id}'.]",
            )
        try:
            claims = jwt.decode(
                assertion,
                public_key,
                algorithms=ASSERTION_ALGORITHMS,
                options={"verify_aud": False, "require": ["exp", "aud", "iss"]},
            )
        except (jwt.ExpiredSignatureError, jwt.ImmatureSignatureError) as error:
            raise OAuthError(
                401, "invalid_client", 700024, "Client assertion is not within its valid time range."
            ) from error
        except jwt.PyJWTError as error:
            raise OAuthError(401, "invalid_client", 700027, "Client assertion failed signature validation.") from error
        if (
            claims.get("iss", "").lower() != client.client_id.lower()
            or claims.get("sub", "").lower() != client.client_id.lower()
        ):
            raise OAuthError(
                401,
                "invalid_client",
                700021,
                "Client assertion application identifier doesn't match "
                "'client_id' parameter: 'iss' and 'sub' must be the client id.",
            )
        if claims.get("aud") not in audiences:
            raise OAuthError(
                401,
                "invalid_client",
                700023,
                "Client assertion audience claim does not match Realm issuer: 'aud' must be this token endpoint.",
            )

    def _check_federated(self, client: Client, assertion: str) -> None:
        try:
            claims = jwt.decode(
                assertion,
                self.federation_key.public_key,
                algorithms=["RS256"],
                audience=FEDERATION_AUDIENCE,
                issuer=EXTERNAL_ISSUER,
                options={"require": ["exp", "aud", "iss", "sub"]},
            )
        except jwt.ExpiredSignatureError as error:
            raise OAuthError(
                400, "invalid_client", 700024, "Client assertion is not within its valid time range."
            ) from error
        except jwt.InvalidAudienceError as error:
            raise OAuthError(
                400,
                "invalid_client",
                700212,
                "No matching federated identity record found for "
                f"presented assertion audience. The emulator expects '{FEDERATION_AUDIENCE}'.",
            ) from error
        except jwt.PyJWTError as error:
            raise OAuthError(401, "invalid_client", 700027, "Client assertion failed signature validation.") from error
        subject = claims["sub"]
        if ANY_SUBJECT not in client.federated_subjects and subject not in client.federated_subjects:
            raise OAuthError(
                400,
                "invalid_client",
                700213,
                "No matching federated identity record found for "
                f"presented assertion subject '{subject}'. Check your federated identity credential "
                f"Subject, Audience and Issuer against the presented assertion.",
            )

    def federated_token(self, subject: str, *, client_id: str | None = None, lifetime_s: int = 600) -> str:
        """An assertion from the emulator's external issuer; with ``client_id``, that client now trusts ``subject``."""
        if client_id is not None:
            client = self.clients.get(client_id)
            if client is None:
                raise ValueError(f"no client '{client_id}' is registered")
            self.clients.add(client.client_id, federated_subject=subject, roles=client.roles)
        now = int(time.time())
        claims = {
            "iss": EXTERNAL_ISSUER,
            "sub": subject,
            "aud": FEDERATION_AUDIENCE,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime_s,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(
            claims, self.federation_key.private_key, algorithm="RS256", headers={"kid": self.federation_key.kid}
        )

    def managed_identity_token(
        self, query: Mapping[str, str], identity_header: str | None, expected: str
    ) -> IssuedToken:
        """App Service's identity endpoint (``IDENTITY_ENDPOINT``/``IDENTITY_HEADER``), as msal calls it."""
        if not identity_header or not _same(identity_header, expected):
            raise ManagedIdentityError(401, "The X-IDENTITY-HEADER is missing or does not match IDENTITY_HEADER.")
        resource = query.get("resource", "").rstrip("/")
        if resource not in {GRAPH_RESOURCE, GRAPH_APP_ID}:
            raise ManagedIdentityError(
                400, f"The resource '{resource}' is not served by the emulator; use '{GRAPH_RESOURCE}'."
            )
        for selector in ("client_id", "object_id", "mi_res_id"):
            if query.get(selector) and query[selector].lower() != MANAGED_IDENTITY_CLIENT_ID:
                raise ManagedIdentityError(
                    400,
                    f"No user-assigned identity '{query[selector]}': the emulator has one "
                    f"managed identity, '{MANAGED_IDENTITY_CLIENT_ID}'.",
                )
        return self.issue(MANAGED_IDENTITY_CLIENT_ID, (READ_WRITE_ROLE,))

    # --- checking --------------------------------------------------------------------------------------------

    def verify_bearer(self, authorization: str | None) -> Principal:
        """The caller of a Graph request, or BearerError with Graph's message."""
        scheme, _, token = (authorization or "").strip().partition(" ")
        token = token.strip()
        if not token or scheme.lower() != "bearer":
            raise BearerError("Access token is empty.")
        now = int(time.time())
        with self._lock:
            cached = self._verified.get(token)
        if cached is not None:
            principal, expires = cached
            if now < expires:
                return principal
            raise BearerError("Lifetime validation failed, the token is expired.")
        principal, expires = self._decode(token)
        with self._lock:
            if len(self._verified) >= _VERIFIED_CACHE_SIZE:
                self._verified.clear()
            self._verified[token] = (principal, expires)
        return principal

    def _decode(self, token: str) -> tuple[Principal, int]:
        try:
            jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise BearerError("CompactToken parsing failed with error code: 80049217") from error
        try:
            claims = jwt.decode(
                token,
                self.signing_key.public_key,
                algorithms=["RS256"],
                audience=[GRAPH_RESOURCE, GRAPH_APP_ID],
                issuer=self.token_issuer,
                options={"require": ["exp", "aud", "iss", "tid"]},
            )
        except jwt.ExpiredSignatureError as error:
            raise BearerError("Lifetime validation failed, the token is expired.") from error
        except jwt.ImmatureSignatureError as error:
            raise BearerError("Lifetime validation failed, the token is not yet valid.") from error
        except jwt.InvalidAudienceError as error:
            raise BearerError("Access token validation failure. Invalid audience.") from error
        except jwt.InvalidIssuerError as error:
            raise BearerError("Access token validation failure. Invalid issuer.") from error
        except jwt.InvalidSignatureError as error:
            raise BearerError("Access token validation failure. Invalid signature.") from error
        except jwt.PyJWTError as error:
            raise BearerError("Access token validation failure.") from error
        roles = claims.get("roles") or []
        return Principal(client_id=str(claims.get("appid", "")), roles=frozenset(str(r) for r in roles)), int(
            claims["exp"]
        )


def _same(left: str, right: str) -> bool:
    import hmac

    return hmac.compare_digest(left.encode(), right.encode())
