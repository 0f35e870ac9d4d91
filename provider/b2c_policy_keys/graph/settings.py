"""Turn stack configuration and the environment into one validated ``Settings``, before any network call.

One resolver serves the provider (``configure()`` hands it the stack config), the CLI and the program-side lookups,
so that every entry point reads the same keys, the same environment variables and fails with the same message.

Precedence: for every value the ``b2c:`` stack config wins over the environment. The credential *kind* (secret,
certificate, federation, managed identity) is chosen from one source only: when the stack config names any
credential, credentials found in the environment are ignored, so an ``ARM_CLIENT_SECRET`` left over from another tool
cannot contradict a certificate configured on the stack.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from b2c_policy_keys.errors import ConfigurationError

CredentialKind = Literal["secret", "certificate", "oidc", "msi"]


@dataclass(frozen=True)
class Cloud:
    """The endpoints of one national cloud; the token scope follows the cloud, not ``graphUrl``."""

    graph_url: str
    authority_host: str

    @property
    def scope(self) -> str:
        return f"{self.graph_url}/.default"


CLOUDS: dict[str, Cloud] = {
    "public": Cloud("https://graph.microsoft.com", "https://login.microsoftonline.com"),
    "usgovernment": Cloud("https://graph.microsoft.us", "https://login.microsoftonline.us"),
    "china": Cloud("https://microsoftgraph.chinacloudapi.cn", "https://login.chinacloudapi.cn"),
}

DEFAULT_REQUEST_TIMEOUT = 60.0
DEFAULT_RETRY_TIMEOUT = 180.0

#: config key -> environment variables tried in order when the stack config has no value.
ENV_FALLBACKS: dict[str, tuple[str, ...]] = {
    "b2c:tenantId": ("ARM_TENANT_ID", "AZURE_TENANT_ID"),
    "b2c:clientId": ("ARM_CLIENT_ID", "AZURE_CLIENT_ID"),
    "b2c:clientSecret": ("ARM_CLIENT_SECRET", "AZURE_CLIENT_SECRET"),
    "b2c:clientCertificatePath": ("ARM_CLIENT_CERTIFICATE_PATH", "AZURE_CLIENT_CERTIFICATE_PATH"),
    "b2c:clientCertificatePassword": ("ARM_CLIENT_CERTIFICATE_PASSWORD", "AZURE_CLIENT_CERTIFICATE_PASSWORD"),
    "b2c:useOidc": ("ARM_USE_OIDC",),
    "b2c:oidcTokenFilePath": ("ARM_OIDC_TOKEN_FILE_PATH", "AZURE_FEDERATED_TOKEN_FILE"),
    "b2c:useMsi": ("ARM_USE_MSI",),
    "b2c:environment": ("ARM_ENVIRONMENT",),
    "b2c:graphUrl": ("B2C_GRAPH_URL",),
    "b2c:authorityHost": ("B2C_AUTHORITY_HOST", "AZURE_AUTHORITY_HOST"),
    "b2c:caBundle": ("B2C_CA_BUNDLE",),
    "b2c:requestTimeout": ("B2C_REQUEST_TIMEOUT",),
    "b2c:retryTimeout": ("B2C_RETRY_TIMEOUT",),
}

SECRET_KEYS = frozenset({"b2c:clientSecret", "b2c:clientCertificatePassword"})
_CREDENTIAL_SELECTORS = ("b2c:clientSecret", "b2c:clientCertificatePath", "b2c:useOidc", "b2c:useMsi")
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off", ""})
_TENANT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]*$")


@dataclass(frozen=True)
class Settings:
    """Everything needed to reach Graph for one tenant with one credential. Hashable: it keys the client cache."""

    tenant_id: str
    credential_kind: CredentialKind
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    client_certificate_path: str | None = None
    client_certificate_password: str | None = field(default=None, repr=False)
    oidc_token_file_path: str | None = None
    environment: str = "public"
    graph_url: str = CLOUDS["public"].graph_url
    authority_host: str = CLOUDS["public"].authority_host
    ca_bundle: str | None = None
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    retry_timeout: float = DEFAULT_RETRY_TIMEOUT

    @property
    def scope(self) -> str:
        """The token scope: Graph of the configured cloud (the emulator accepts the public one)."""
        return CLOUDS[self.environment].scope

    @property
    def authority(self) -> str:
        return f"{self.authority_host}/{self.tenant_id}"

    @property
    def custom_authority(self) -> bool:
        """An authority host msal does not know (the emulator): instance discovery must be off."""
        return self.authority_host not in {c.authority_host for c in CLOUDS.values()}


def _fix(key: str, placeholder: str) -> str:
    secret = "--secret " if key in SECRET_KEYS else ""
    envs = ENV_FALLBACKS.get(key, ())
    via_env = f" (or set {envs[0]})" if envs else ""
    return f"`pulumi config set {secret}{key} {placeholder}`{via_env}"


class _Sources:
    """Looks a key up in the stack config, then in its environment variables; remembers where it was found."""

    def __init__(self, get_config: Callable[[str], object | None] | None, env: Mapping[str, str]) -> None:
        self._get_config = get_config
        self._env = env

    def config(self, key: str) -> str | None:
        value = self._get_config(key) if self._get_config is not None else None
        return None if value is None or str(value).strip() == "" else str(value).strip()

    def environ(self, key: str) -> str | None:
        for name in ENV_FALLBACKS.get(key, ()):
            value = self._env.get(name)
            if value is not None and value.strip():
                return value.strip()
        return None

    def get(self, key: str) -> str | None:
        return self.config(key) or self.environ(key)


def _flag(value: str | None, key: str, problems: list[str]) -> bool:
    if value is None:
        return False
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered not in _FALSE:
        problems.append(f"{key} must be true or false, got {value!r}: {_fix(key, 'true')}")
    return False


def _seconds(value: str | None, key: str, default: float, problems: list[str]) -> float:
    if value is None:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not (0 < seconds <= 3600):
        problems.append(f"{key} must be a number of seconds between 0 and 3600, got {value!r}: {_fix(key, '60')}")
        return default
    return seconds


def _https_root(value: str, key: str, problems: list[str], *, strip_beta: bool = False) -> str:
    root = value.rstrip("/")
    if strip_beta and root.endswith("/beta"):
        root = root[: -len("/beta")]
    if not root.startswith("https://") or len(root) <= len("https://"):
        problems.append(f"{key} must be an https:// URL (TLS is always verified), got {value!r}")
    return root


def _credential_source(sources: _Sources) -> Callable[[str], str | None]:
    """The stack config when it names any credential, else the environment (see the module docstring)."""

    def names_one(key: str) -> bool:
        value = sources.config(key)
        if value is None:
            return False
        return key not in ("b2c:useOidc", "b2c:useMsi") or value.lower() not in _FALSE

    config_names_one = any(names_one(k) for k in _CREDENTIAL_SELECTORS)
    return sources.config if config_names_one else sources.environ


@dataclass(frozen=True)
class _Credential:
    kind: CredentialKind = "secret"
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    certificate_path: str | None = None
    certificate_password: str | None = field(default=None, repr=False)
    token_file: str | None = None


def _resolve_credential(sources: _Sources, problems: list[str]) -> _Credential:
    pick = _credential_source(sources)
    secret = pick("b2c:clientSecret")
    cert_path = pick("b2c:clientCertificatePath")
    use_oidc = _flag(pick("b2c:useOidc"), "b2c:useOidc", problems)
    use_msi = _flag(pick("b2c:useMsi"), "b2c:useMsi", problems)
    client_id = sources.get("b2c:clientId")
    cert_password = sources.get("b2c:clientCertificatePassword")
    token_file = sources.get("b2c:oidcTokenFilePath")

    chosen = [
        name
        for name, on in (
            ("b2c:clientSecret", secret is not None),
            ("b2c:clientCertificatePath", cert_path is not None),
            ("b2c:useOidc=true", use_oidc),
            ("b2c:useMsi=true", use_msi),
        )
        if on
    ]
    if len(chosen) > 1:
        problems.append(
            f"more than one credential is configured ({', '.join(chosen)}): keep exactly one, "
            f"for example `pulumi config rm {chosen[1].split('=')[0]}`"
        )
        return _Credential()
    if not chosen:
        problems.append(
            "no credential is configured: set one of "
            f"{_fix('b2c:clientSecret', '<secret>')}, "
            f"{_fix('b2c:clientCertificatePath', '<path.pem|path.pfx>')}, "
            f"`pulumi config set b2c:useOidc true` with {_fix('b2c:oidcTokenFilePath', '<token-file>')}, "
            f"or `pulumi config set b2c:useMsi true` (or ARM_USE_MSI=true)"
        )
        return _Credential()

    kind: CredentialKind
    if secret is not None:
        kind = "secret"
    elif cert_path is not None:
        kind = "certificate"
        if not os.path.isfile(cert_path):
            problems.append(
                f"b2c:clientCertificatePath {cert_path!r} is not a readable file: "
                f"{_fix('b2c:clientCertificatePath', '<path.pem|path.pfx>')}"
            )
    elif use_oidc:
        kind = "oidc"
        if token_file is None:
            problems.append(f"b2c:useOidc is true but no token file is set: {_fix('b2c:oidcTokenFilePath', '<path>')}")
        elif not os.path.isfile(token_file):
            problems.append(
                f"b2c:oidcTokenFilePath {token_file!r} is not a readable file: "
                f"{_fix('b2c:oidcTokenFilePath', '<path>')}"
            )
    else:
        kind = "msi"
    if kind != "msi" and client_id is None:
        problems.append(f"b2c:clientId is missing: {_fix('b2c:clientId', '<application-id>')}")
    if cert_password is not None and kind != "certificate":
        problems.append(
            "b2c:clientCertificatePassword is set but no certificate is used: "
            "`pulumi config rm b2c:clientCertificatePassword` or set b2c:clientCertificatePath"
        )
    return _Credential(
        kind=kind,
        client_id=client_id,
        client_secret=secret,
        certificate_path=cert_path if kind == "certificate" else None,
        certificate_password=cert_password if kind == "certificate" else None,
        token_file=token_file if kind == "oidc" else None,
    )


def resolve_settings(
    get_config: Callable[[str], object | None] | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Read ``b2c:*`` from ``get_config`` then the environment; raise ``ConfigurationError`` listing every problem."""
    sources = _Sources(get_config, os.environ if env is None else env)
    problems: list[str] = []

    tenant_id = sources.get("b2c:tenantId")
    if tenant_id is None:
        problems.append(f"b2c:tenantId is missing: {_fix('b2c:tenantId', '<tenant-id>')}")
    elif not _TENANT_RE.match(tenant_id):
        problems.append(
            f"b2c:tenantId must be a tenant GUID or a domain like contoso.onmicrosoft.com, got {tenant_id!r}: "
            f"{_fix('b2c:tenantId', '<tenant-id>')}"
        )

    credential = _resolve_credential(sources, problems)

    environment = (sources.get("b2c:environment") or "public").lower()
    if environment not in CLOUDS:
        problems.append(
            f"b2c:environment must be one of {', '.join(CLOUDS)}, got {environment!r}: "
            f"{_fix('b2c:environment', 'public')}"
        )
        environment = "public"
    cloud = CLOUDS[environment]
    graph_url = _https_root(sources.get("b2c:graphUrl") or cloud.graph_url, "b2c:graphUrl", problems, strip_beta=True)
    authority = sources.get("b2c:authorityHost") or cloud.authority_host
    authority_host = _https_root(authority, "b2c:authorityHost", problems)

    ca_bundle = sources.get("b2c:caBundle")
    if ca_bundle is not None and not os.path.isfile(ca_bundle):
        problems.append(
            f"b2c:caBundle {ca_bundle!r} is not a readable file: {_fix('b2c:caBundle', '<path-to-ca.pem>')}"
        )

    request_timeout = _seconds(
        sources.get("b2c:requestTimeout"), "b2c:requestTimeout", DEFAULT_REQUEST_TIMEOUT, problems
    )
    retry_timeout = _seconds(sources.get("b2c:retryTimeout"), "b2c:retryTimeout", DEFAULT_RETRY_TIMEOUT, problems)

    if problems:
        raise ConfigurationError(
            "The B2C provider is not configured correctly:\n" + "\n".join(f"  - {p}" for p in problems)
        )
    return Settings(
        tenant_id=tenant_id or "",
        environment=environment,
        graph_url=graph_url,
        authority_host=authority_host,
        ca_bundle=ca_bundle,
        request_timeout=request_timeout,
        retry_timeout=retry_timeout,
        credential_kind=credential.kind,
        client_id=credential.client_id,
        client_secret=credential.client_secret,
        client_certificate_path=credential.certificate_path,
        client_certificate_password=credential.certificate_password,
        oidc_token_file_path=credential.token_file,
    )
