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
    # GitHub Actions' ID-token request (a job with `permissions: id-token: write`); the ARM_ names first, as the
    # azurerm provider reads them: https://registry.terraform.io/providers/hashicorp/azurerm/latest/docs/guides/service_principal_oidc
    "b2c:oidcRequestUrl": ("ARM_OIDC_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_URL"),
    "b2c:oidcRequestToken": ("ARM_OIDC_REQUEST_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
    "b2c:useMsi": ("ARM_USE_MSI",),
    "b2c:environment": ("ARM_ENVIRONMENT",),
    "b2c:graphUrl": ("B2C_GRAPH_URL",),
    "b2c:authorityHost": ("B2C_AUTHORITY_HOST", "AZURE_AUTHORITY_HOST"),
    "b2c:caBundle": ("B2C_CA_BUNDLE",),
    "b2c:requestTimeout": ("B2C_REQUEST_TIMEOUT",),
    "b2c:retryTimeout": ("B2C_RETRY_TIMEOUT",),
}

SECRET_KEYS = frozenset({"b2c:clientSecret", "b2c:clientCertificatePassword", "b2c:oidcRequestToken"})
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
    oidc_request_url: str | None = None
    oidc_request_token: str | None = field(default=None, repr=False)
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


class Vocabulary:
    """How the reader of an error names and sets a value that is not from the environment.

    The provider's reader sets ``b2c:`` stack config; the CLI passes the same values as flags and gives its own
    vocabulary, so each message names the source the bad value came from and that source's fix.
    """

    def name(self, key: str) -> str:
        return key

    def option(self, key: str, placeholder: str) -> str | None:
        """What sets ``key``, without a verb (one of a list of choices); None when only the environment can."""
        secret = "--secret " if key in SECRET_KEYS else ""
        return f"`pulumi config set {secret}{key} {placeholder}`"

    def set_fix(self, key: str, placeholder: str) -> str | None:
        return self.option(key, placeholder)

    def remove_fix(self, key: str) -> str:
        return f"`pulumi config rm {key}`"


STACK_CONFIG = Vocabulary()


class SettingsError(ConfigurationError):
    """The settings cannot be resolved; ``problems`` holds each one as ``<cause>: <fix>``."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("The B2C provider is not configured correctly:\n" + "\n".join(f"  - {p}" for p in problems))


class _Sources:
    """Looks a key up in the stack config, then in its environment variables; remembers where it was found."""

    def __init__(
        self,
        get_config: Callable[[str], object | None] | None,
        env: Mapping[str, str],
        vocabulary: Vocabulary,
    ) -> None:
        self._get_config = get_config
        self._env = env
        self.vocabulary = vocabulary

    def config(self, key: str) -> str | None:
        value = self._get_config(key) if self._get_config is not None else None
        return None if value is None or str(value).strip() == "" else str(value).strip()

    def _env_name(self, key: str) -> str | None:
        for name in ENV_FALLBACKS.get(key, ()):
            value = self._env.get(name)
            if value is not None and value.strip():
                return name
        return None

    def environ(self, key: str) -> str | None:
        name = self._env_name(key)
        return None if name is None else self._env[name].strip()

    def get(self, key: str) -> str | None:
        return self.config(key) or self.environ(key)

    def _from_env(self, key: str) -> str | None:
        """The environment variable ``key``'s value came from, or None when it came from the stack (or nowhere)."""
        return None if self.config(key) is not None else self._env_name(key)

    def name(self, key: str) -> str:
        """The name the user knows the value by: the environment variable it came from, or the config key/flag."""
        return self._from_env(key) or self.vocabulary.name(key)

    def fix_value(self, key: str, placeholder: str) -> str:
        """How to change a value that is set, where it was set."""
        env_name = self._from_env(key)
        if env_name is not None:
            return f"set {env_name}={placeholder}"
        return self.vocabulary.set_fix(key, placeholder) or f"set {ENV_FALLBACKS[key][0]}={placeholder}"

    def fix_missing(self, key: str, placeholder: str, *, as_option: bool = False) -> str:
        """How to set a value that is missing: the config key or flag, and the environment variable."""
        envs = ENV_FALLBACKS.get(key, ())
        direct = (self.vocabulary.option if as_option else self.vocabulary.set_fix)(key, placeholder)
        if direct is None:
            return f"set {envs[0]}={placeholder}"
        return f"{direct} (or set {envs[0]})" if envs else direct

    def fix_remove(self, key: str) -> str:
        env_name = self._from_env(key)
        return f"unset {env_name}" if env_name is not None else self.vocabulary.remove_fix(key)


def _flag(sources: _Sources, value: str | None, key: str, problems: list[str]) -> bool:
    if value is None:
        return False
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered not in _FALSE:
        problems.append(f"{sources.name(key)} must be true or false, got {value!r}: {sources.fix_value(key, 'true')}")
    return False


def _seconds(sources: _Sources, key: str, default: float, problems: list[str]) -> float:
    value = sources.get(key)
    if value is None:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not (0 < seconds <= 3600):
        problems.append(
            f"{sources.name(key)} must be a number of seconds between 0 and 3600, got {value!r}: "
            f"{sources.fix_value(key, '60')}"
        )
        return default
    return seconds


def _https_root(sources: _Sources, value: str, key: str, problems: list[str], *, strip_beta: bool = False) -> str:
    root = value.rstrip("/")
    if strip_beta and root.endswith("/beta"):
        root = root[: -len("/beta")]
    if not root.startswith("https://") or len(root) <= len("https://"):
        problems.append(
            f"{sources.name(key)} must be an https:// URL (TLS is always verified), got {value!r}: "
            f"{sources.fix_value(key, 'https://...')}"
        )
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
    request_url: str | None = None
    request_token: str | None = field(default=None, repr=False)


def _readable(sources: _Sources, key: str, path: str, placeholder: str, problems: list[str]) -> None:
    # Only os.path.isfile: the declaration check calls this offline and must stay free of side effects.
    if not os.path.isfile(path):
        problems.append(f"{sources.name(key)} {path!r} is not a readable file: {sources.fix_value(key, placeholder)}")


def _resolve_oidc(sources: _Sources, problems: list[str]) -> tuple[str | None, str | None, str | None]:
    """A token file, else GitHub Actions' token request (URL and request token): the azurerm provider's order."""
    token_file = sources.get("b2c:oidcTokenFilePath")
    if token_file is not None:
        _readable(sources, "b2c:oidcTokenFilePath", token_file, "<path>", problems)
        return token_file, None, None
    url = sources.get("b2c:oidcRequestUrl")
    request_token = sources.get("b2c:oidcRequestToken")
    use = sources.name("b2c:useOidc")
    if url is None and request_token is None:
        problems.append(
            f"{use} is true but neither a token file nor a token request is set: "
            f"{sources.fix_missing('b2c:oidcTokenFilePath', '<path>')}, or on GitHub Actions give the job "
            "`permissions: id-token: write` (which sets ACTIONS_ID_TOKEN_REQUEST_URL and _TOKEN)"
        )
    elif url is None:
        problems.append(
            f"{sources.name('b2c:oidcRequestToken')} is set but no token request URL: "
            f"{sources.fix_missing('b2c:oidcRequestUrl', '<url>')}"
        )
    elif request_token is None:
        problems.append(
            f"{sources.name('b2c:oidcRequestUrl')} is set but no request token: "
            f"{sources.fix_missing('b2c:oidcRequestToken', '<token>')}"
        )
    elif not url.startswith(("https://", "http://")):
        problems.append(
            f"{sources.name('b2c:oidcRequestUrl')} must be an http(s) URL, got {url[:60]!r}: "
            f"{sources.fix_value('b2c:oidcRequestUrl', '<url>')}"
        )
    return None, url, request_token


def _resolve_credential(sources: _Sources, problems: list[str]) -> _Credential:
    pick = _credential_source(sources)
    secret = pick("b2c:clientSecret")
    cert_path = pick("b2c:clientCertificatePath")
    use_oidc = _flag(sources, pick("b2c:useOidc"), "b2c:useOidc", problems)
    use_msi = _flag(sources, pick("b2c:useMsi"), "b2c:useMsi", problems)
    client_id = sources.get("b2c:clientId")
    cert_password = sources.get("b2c:clientCertificatePassword")

    chosen = [
        (name, shown)
        for name, shown, on in (
            ("b2c:clientSecret", sources.name("b2c:clientSecret"), secret is not None),
            ("b2c:clientCertificatePath", sources.name("b2c:clientCertificatePath"), cert_path is not None),
            ("b2c:useOidc", f"{sources.name('b2c:useOidc')}=true", use_oidc),
            ("b2c:useMsi", f"{sources.name('b2c:useMsi')}=true", use_msi),
        )
        if on
    ]
    if len(chosen) > 1:
        problems.append(
            f"more than one credential is configured ({', '.join(shown for _, shown in chosen)}): keep exactly one, "
            f"for example {sources.fix_remove(chosen[1][0])}"
        )
        return _Credential()
    if not chosen:
        problems.append(
            "no credential is configured: set one of "
            f"{sources.fix_missing('b2c:clientSecret', '<secret>', as_option=True)}, "
            f"{sources.fix_missing('b2c:clientCertificatePath', '<path.pem|path.pfx>', as_option=True)}, "
            f"{sources.fix_missing('b2c:useOidc', 'true', as_option=True)} with a token file or GitHub Actions' "
            f"token request, or {sources.fix_missing('b2c:useMsi', 'true', as_option=True)}"
        )
        return _Credential()

    kind: CredentialKind
    token_file = url = request_token = None
    if secret is not None:
        kind = "secret"
    elif cert_path is not None:
        kind = "certificate"
        _readable(sources, "b2c:clientCertificatePath", cert_path, "<path.pem|path.pfx>", problems)
    elif use_oidc:
        kind = "oidc"
        token_file, url, request_token = _resolve_oidc(sources, problems)
    else:
        kind = "msi"
    if kind != "msi" and client_id is None:
        problems.append(
            f"{sources.vocabulary.name('b2c:clientId')} is missing: "
            f"{sources.fix_missing('b2c:clientId', '<application-id>')}"
        )
    if cert_password is not None and kind != "certificate":
        problems.append(
            f"{sources.name('b2c:clientCertificatePassword')} is set but no certificate is used: "
            f"{sources.fix_remove('b2c:clientCertificatePassword')}, "
            f"or set {sources.vocabulary.name('b2c:clientCertificatePath')}"
        )
    return _Credential(
        kind=kind,
        client_id=client_id,
        client_secret=secret,
        certificate_path=cert_path if kind == "certificate" else None,
        certificate_password=cert_password if kind == "certificate" else None,
        token_file=token_file,
        request_url=url,
        request_token=request_token,
    )


def resolve_settings(
    get_config: Callable[[str], object | None] | None = None,
    env: Mapping[str, str] | None = None,
    *,
    vocabulary: Vocabulary = STACK_CONFIG,
) -> Settings:
    """Read ``b2c:*`` from ``get_config`` then the environment; raise ``SettingsError`` listing every problem.

    No network and no writes: the declaration check calls this offline at preview.
    """
    sources = _Sources(get_config, os.environ if env is None else env, vocabulary)
    problems: list[str] = []

    tenant_id = sources.get("b2c:tenantId")
    if tenant_id is None:
        problems.append(
            f"{vocabulary.name('b2c:tenantId')} is missing: {sources.fix_missing('b2c:tenantId', '<tenant-id>')}"
        )
    elif not _TENANT_RE.match(tenant_id):
        problems.append(
            f"{sources.name('b2c:tenantId')} must be a tenant GUID or a domain like contoso.onmicrosoft.com, "
            f"got {tenant_id!r}: {sources.fix_value('b2c:tenantId', '<tenant-id>')}"
        )

    credential = _resolve_credential(sources, problems)

    environment = (sources.get("b2c:environment") or "public").lower()
    if environment not in CLOUDS:
        problems.append(
            f"{sources.name('b2c:environment')} must be one of {', '.join(CLOUDS)}, got {environment!r}: "
            f"{sources.fix_value('b2c:environment', 'public')}"
        )
        environment = "public"
    cloud = CLOUDS[environment]
    graph_url = _https_root(
        sources, sources.get("b2c:graphUrl") or cloud.graph_url, "b2c:graphUrl", problems, strip_beta=True
    )
    authority = sources.get("b2c:authorityHost") or cloud.authority_host
    authority_host = _https_root(sources, authority, "b2c:authorityHost", problems)

    ca_bundle = sources.get("b2c:caBundle")
    if ca_bundle is not None:
        _readable(sources, "b2c:caBundle", ca_bundle, "<path-to-ca.pem>", problems)

    request_timeout = _seconds(sources, "b2c:requestTimeout", DEFAULT_REQUEST_TIMEOUT, problems)
    retry_timeout = _seconds(sources, "b2c:retryTimeout", DEFAULT_RETRY_TIMEOUT, problems)

    if problems:
        raise SettingsError(problems)
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
        oidc_request_url=credential.request_url,
        oidc_request_token=credential.request_token,
    )
