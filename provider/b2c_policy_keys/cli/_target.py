"""Which tenant the inspection commands talk to: flags, then an emulator's JSON line, then the environment.

The same resolver as the provider (``b2c_policy_keys.graph.resolve_settings``) does the work: flags are handed to it
as if they were ``b2c:`` stack configuration, with the CLI's vocabulary, so the precedence and the environment
variables are those users know from ``pulumi up`` while each error names the flag or the variable the user set.

Secrets never travel as flag values (they would land in shell history and in ``ps``): a secret comes from the
environment or from a file named by a ``...-file`` flag.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path

from b2c_policy_keys.cli._errors import CliError, remember_secret
from b2c_policy_keys.errors import ConfigurationError, TransportError
from b2c_policy_keys.graph import GraphClient, Settings, client_for, resolve_settings
from b2c_policy_keys.graph.settings import ENV_FALLBACKS, SECRET_KEYS, Vocabulary

#: flag destination -> the ``b2c:`` configuration key it stands for (values given on the command line).
_FLAG_CONFIG = {
    "tenant_id": "b2c:tenantId",
    "client_id": "b2c:clientId",
    "client_certificate_path": "b2c:clientCertificatePath",
    "oidc_token_file_path": "b2c:oidcTokenFilePath",
    "oidc_request_url": "b2c:oidcRequestUrl",
    "environment": "b2c:environment",
    "graph_url": "b2c:graphUrl",
    "authority_host": "b2c:authorityHost",
    "ca_bundle": "b2c:caBundle",
}
#: flag destination -> the secret ``b2c:`` key whose value the named file holds.
_SECRET_FILE_CONFIG = {
    "client_secret_file": "b2c:clientSecret",
    "client_certificate_password_file": "b2c:clientCertificatePassword",
}
#: switch destination -> the boolean ``b2c:`` key it sets to true.
_SWITCH_CONFIG = {"use_oidc": "b2c:useOidc", "use_msi": "b2c:useMsi"}

#: ``b2c:`` key -> the flag that sets it, for messages.
FLAGS: dict[str, str] = {
    **{key: "--" + dest.replace("_", "-") for dest, key in _FLAG_CONFIG.items()},
    **{key: "--" + dest.replace("_", "-") for dest, key in _SECRET_FILE_CONFIG.items()},
    **{key: "--" + dest.replace("_", "-") for dest, key in _SWITCH_CONFIG.items()},
}

#: fields of the emulator's JSON line that fill the ``b2c:`` configuration key of the flag of the same name.
_EMULATOR_FIELDS = {
    "tenant_id": "b2c:tenantId",
    "client_id": "b2c:clientId",
    "client_secret": "b2c:clientSecret",
    "graph_url": "b2c:graphUrl",
    "authority_host": "b2c:authorityHost",
    "ca_bundle": "b2c:caBundle",
}

#: Where a running ``b2c-keys emulator --data DIR`` leaves its JSON line, for ``--emulator DIR``.
EMULATOR_INFO_FILE = "running.json"


class CliVocabulary(Vocabulary):
    """Settings errors in the CLI's words: the flag that sets a value, or the emulator line it came from."""

    def __init__(self, from_emulator: Mapping[str, str] | None = None) -> None:
        self._from_emulator = dict(from_emulator or {})

    def name(self, key: str) -> str:
        if key in self._from_emulator:
            return _emulator_field_name(key, self._from_emulator[key])
        return FLAGS.get(key, key)

    def option(self, key: str, placeholder: str) -> str | None:
        flag = FLAGS.get(key)
        if flag is None:
            return None
        if key in _SWITCH_CONFIG.values():
            return flag
        if key in SECRET_KEYS:
            return f"{flag} <file holding it>"
        return f"{flag} {placeholder}"

    def set_fix(self, key: str, placeholder: str) -> str | None:
        option = self.option(key, placeholder)
        if key in self._from_emulator:
            return (
                "that emulator has stopped or moved: start it again (`b2c-keys emulator`) and pass its new line "
                f"to --emulator, or pass {option}"
            )
        return None if option is None else f"pass {option}"

    def remove_fix(self, key: str) -> str:
        return f"drop {FLAGS.get(key, key)}"


def _emulator_field_name(key: str, where: str) -> str:
    field = next(f for f, k in _EMULATOR_FIELDS.items() if k == key)
    return f"{field} of the emulator line in {where}"


def add_output_and_target(
    parser: argparse.ArgumentParser,
    run: Callable[[argparse.Namespace], int],
    json_help: str = "print JSON for machines instead of a table",
) -> None:
    """What every inspection command ends with: ``--json``, the tenant flags, and the function that runs it."""
    parser.add_argument("--json", action="store_true", help=json_help)
    add_target_arguments(parser)
    parser.set_defaults(func=run)


class RefuseSecretValue(argparse.Action):
    """``--client-secret VALUE`` would put the secret in shell history: refuse it and say what to do instead.

    ``const`` is the fix (default: the client secret's). Declaring the refused flag also stops argparse from taking
    it as an abbreviation of a longer ``...-file`` flag, which would treat the secret as a path and echo it.
    """

    def __call__(self, parser: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        fix = self.const or "set ARM_CLIENT_SECRET, or pass --client-secret-file FILE"
        parser.error(
            f"{self.option_strings[0]} takes no value on the command line (shell history and `ps` would keep it): {fix}"
        )


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "tenant", "default: the b2c provider's environment variables (ARM_TENANT_ID, ARM_CLIENT_ID, ...)"
    )
    group.add_argument("--tenant-id", metavar="ID", help="the B2C tenant id (env ARM_TENANT_ID)")
    group.add_argument("--client-id", metavar="ID", help="the application's client id (env ARM_CLIENT_ID)")
    group.add_argument("--environment", metavar="CLOUD", help="public, usgovernment or china (env ARM_ENVIRONMENT)")
    group.add_argument("--graph-url", metavar="URL", help="Graph root, for an emulator (env B2C_GRAPH_URL)")
    group.add_argument("--authority-host", metavar="URL", help="token authority, for an emulator")
    group.add_argument("--ca-bundle", metavar="FILE", help="CA certificate to trust, for an emulator")
    group.add_argument(
        "--emulator",
        metavar="PATH",
        help="target a local emulator: a file holding its JSON line, or its --data directory",
    )
    creds = parser.add_argument_group(
        "credential (one kind)",
        "secrets only from the environment or a file, never as a flag value (shell history); "
        "default: ARM_CLIENT_SECRET, ARM_CLIENT_CERTIFICATE_PATH, ARM_USE_OIDC or ARM_USE_MSI",
    )
    creds.add_argument("--client-secret-file", metavar="FILE", help="client secret from a file (env ARM_CLIENT_SECRET)")
    creds.add_argument("--client-secret", action=RefuseSecretValue, help=argparse.SUPPRESS)
    creds.add_argument(
        "--client-certificate-path", metavar="FILE", help="client certificate: PEM (key + certificate) or PFX"
    )
    creds.add_argument(
        "--client-certificate-password-file",
        metavar="FILE",
        help="password of the PFX or encrypted PEM, from a file (env ARM_CLIENT_CERTIFICATE_PASSWORD)",
    )
    creds.add_argument(
        "--use-oidc",
        action="store_true",
        default=None,
        help="workload identity federation: a token file, or GitHub Actions' token request (env ARM_USE_OIDC)",
    )
    creds.add_argument(
        "--oidc-token-file-path", metavar="FILE", help="federated token file (env AZURE_FEDERATED_TOKEN_FILE)"
    )
    creds.add_argument(
        "--oidc-request-url",
        metavar="URL",
        help="GitHub Actions' token request URL (env ACTIONS_ID_TOKEN_REQUEST_URL; its token: env only)",
    )
    creds.add_argument("--use-msi", action="store_true", default=None, help="managed identity (env ARM_USE_MSI)")


def read_emulator_line(path: str | Path) -> dict[str, str]:
    """The emulator's JSON line from a file (its captured stdout) or from its data directory."""
    from b2c_policy_keys.emulator.instance import data_dir_in_use  # the emulator package only for --emulator

    location = Path(path)
    source = location / EMULATOR_INFO_FILE if location.is_dir() else location
    start = f"start one with `b2c-keys emulator --data {location}`"
    if location.is_dir() and not source.is_file():
        raise CliError("emulator", f"no running emulator recorded in {location}", start)
    if location.is_dir() and not data_dir_in_use(location):
        raise CliError(
            "emulator", f"the emulator recorded in {location} is not running (it left {source.name} behind)", start
        )
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as error:
        raise CliError(
            "configuration",
            f"--emulator {str(path)!r} cannot be read ({error.strerror})",
            "pass the file `b2c-keys emulator` printed to, or its --data directory",
        ) from None
    for line in reversed(text.splitlines()):
        if line.strip().startswith("{"):
            try:
                info = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(info, dict) and "graph_url" in info:
                return {str(k): str(v) for k, v in info.items() if v is not None}
    raise CliError(
        "configuration",
        f"{source} holds no emulator JSON line (with graph_url)",
        "pass the file `b2c-keys emulator` printed to, or its --data directory",
    )


def _read_secret_file(flag: str, path: str) -> str:
    try:
        value = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise CliError(
            "configuration", f"{flag} {path!r} cannot be read ({reason})", f"pass {flag} a readable file"
        ) from None
    if not value:
        raise CliError("configuration", f"{flag} {path!r} is empty", "write the secret into it")
    remember_secret(value)
    return value


def _emulator_config(args: argparse.Namespace) -> tuple[dict[str, str], dict[str, str]]:
    """The ``b2c:`` values of ``--emulator``'s line, and where each came from."""
    emulator = getattr(args, "emulator", None)
    if not emulator:
        return {}, {}
    from b2c_policy_keys.emulator.clients import DEFAULT_CLIENT_SECRET, READONLY_CLIENT_SECRET

    info = read_emulator_line(emulator)
    # The emulator's own clients' secrets are published (README, docs/emulator.md) and not worth masking: their
    # 8-character prefix is the word "emulator", which every message about the emulator would lose.
    if info.get("client_secret") not in (DEFAULT_CLIENT_SECRET, READONLY_CLIENT_SECRET):
        remember_secret(info.get("client_secret"))
    config = {key: info[field] for field, key in _EMULATOR_FIELDS.items() if info.get(field)}
    return config, {key: str(emulator) for key in config}


def target_config(args: argparse.Namespace) -> dict[str, str]:
    """The ``b2c:`` configuration the flags amount to; flags win over the emulator's line."""
    config, _ = _emulator_config(args)
    config.update(_flag_config(args))
    return config


def _flag_config(args: argparse.Namespace) -> dict[str, str]:
    config: dict[str, str] = {}
    for dest, key in _FLAG_CONFIG.items():
        value = getattr(args, dest, None)
        if value:
            config[key] = str(value)
    programmatic = getattr(args, "client_secret", None)  # set by code only: the flag itself refuses any value
    if programmatic:
        remember_secret(str(programmatic))
        config["b2c:clientSecret"] = str(programmatic)
    for dest, key in _SECRET_FILE_CONFIG.items():
        path = getattr(args, dest, None)
        if path:
            config[key] = _read_secret_file(FLAGS[key], str(path))
    for dest, key in _SWITCH_CONFIG.items():
        if getattr(args, dest, None):
            config[key] = "true"
    return config


def _flag_keys(args: argparse.Namespace) -> set[str]:
    keys = {key for dest, key in _FLAG_CONFIG.items() if getattr(args, dest, None)}
    keys |= {key for dest, key in _SECRET_FILE_CONFIG.items() if getattr(args, dest, None)}
    keys |= {key for dest, key in _SWITCH_CONFIG.items() if getattr(args, dest, None)}
    return keys


def _remember_env_secrets(env: Mapping[str, str]) -> None:
    for key in SECRET_KEYS:
        for name in ENV_FALLBACKS.get(key, ()):
            remember_secret(env.get(name))


def settings_from(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> Settings:
    environ = os.environ if env is None else env
    _remember_env_secrets(environ)
    config, origins = _emulator_config(args)
    flags = _flag_config(args)
    config.update(flags)
    from_emulator = {key: where for key, where in origins.items() if key not in flags}
    return resolve_settings(config.get, environ, vocabulary=CliVocabulary(from_emulator))


def client_from(args: argparse.Namespace) -> GraphClient:
    return client_for(settings_from(args))


def source_name(args: argparse.Namespace, key: str, env: Mapping[str, str] | None = None) -> str:
    """What this user set for ``key``: the flag, the emulator line, the environment variable; else how to set it."""
    environ = os.environ if env is None else env
    flag = FLAGS.get(key)
    if key in _flag_keys(args) and flag:
        return flag
    emulator = getattr(args, "emulator", None)
    if emulator and key in _EMULATOR_FIELDS.values():
        return _emulator_field_name(key, str(emulator))
    for name in ENV_FALLBACKS.get(key, ()):
        if environ.get(name, "").strip():
            return name
    envs = ENV_FALLBACKS.get(key, ())
    options = [o for o in (flag, envs[0] if envs else None) if o]
    return " or ".join(options) if options else key


def connection_fix(args: argparse.Namespace, error: BaseException) -> str | None:
    """The fix a connection failure lacks: start the emulator, or check where the CLI points."""
    if not isinstance(error, TransportError) or isinstance(error, ConfigurationError):
        return None
    if "caBundle" in str(error):
        return None  # the TLS message already names the CA bundle to set
    emulator = getattr(args, "emulator", None)
    if emulator:
        where = emulator if Path(emulator).is_dir() else "DIR"
        return f"is the emulator running? start it with `b2c-keys emulator --data {where}`"
    return "check --graph-url/--authority-host (B2C_GRAPH_URL, B2C_AUTHORITY_HOST), the network and HTTPS_PROXY"
