"""Which tenant the inspection commands talk to: flags, then an emulator's JSON line, then the environment.

The same resolver as the provider (``b2c_policy_keys.graph.resolve_settings``) does the work: flags are handed to it
as if they were ``b2c:`` stack configuration, so the precedence, the environment variables and the error messages are
those users already know from ``pulumi up``. Secrets given here are never printed.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Mapping
from pathlib import Path

from b2c_policy_keys.errors import ConfigurationError
from b2c_policy_keys.graph import GraphClient, Settings, client_for, resolve_settings

#: flag destination -> the ``b2c:`` configuration key it stands for.
_FLAG_CONFIG = {
    "tenant_id": "b2c:tenantId",
    "client_id": "b2c:clientId",
    "client_secret": "b2c:clientSecret",
    "client_certificate_path": "b2c:clientCertificatePath",
    "environment": "b2c:environment",
    "graph_url": "b2c:graphUrl",
    "authority_host": "b2c:authorityHost",
    "ca_bundle": "b2c:caBundle",
}

#: fields of the emulator's JSON line that fill the ``b2c:`` configuration key of the flag of the same name.
_EMULATOR_FIELDS = ("tenant_id", "client_id", "client_secret", "graph_url", "authority_host", "ca_bundle")

#: Where a running ``b2c-keys emulator --data DIR`` leaves its JSON line, for ``--emulator DIR``.
EMULATOR_INFO_FILE = "running.json"


def add_output_and_target(
    parser: argparse.ArgumentParser,
    run: Callable[[argparse.Namespace], int],
    json_help: str = "print JSON for machines instead of a table",
) -> None:
    """What every inspection command ends with: ``--json``, the tenant flags, and the function that runs it."""
    parser.add_argument("--json", action="store_true", help=json_help)
    add_target_arguments(parser)
    parser.set_defaults(func=run)


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "tenant", "default: the b2c provider's environment variables (ARM_TENANT_ID, ARM_CLIENT_ID, ...)"
    )
    group.add_argument("--tenant-id", metavar="ID", help="the B2C tenant id (env ARM_TENANT_ID)")
    group.add_argument("--client-id", metavar="ID", help="the application's client id (env ARM_CLIENT_ID)")
    group.add_argument(
        "--client-secret",
        metavar="SECRET",
        help="client secret; prefer env ARM_CLIENT_SECRET, since flags are visible to other local users",
    )
    group.add_argument("--client-certificate-path", metavar="FILE", help="client certificate (PEM or PFX)")
    group.add_argument("--environment", metavar="CLOUD", help="public, usgovernment or china")
    group.add_argument("--graph-url", metavar="URL", help="Graph root, for an emulator (env B2C_GRAPH_URL)")
    group.add_argument("--authority-host", metavar="URL", help="token authority, for an emulator")
    group.add_argument("--ca-bundle", metavar="FILE", help="CA certificate to trust, for an emulator")
    group.add_argument(
        "--emulator",
        metavar="PATH",
        help="target a local emulator: a file holding its JSON line, or its --data directory",
    )


def read_emulator_line(path: str | Path) -> dict[str, str]:
    """The emulator's JSON line from a file (its captured stdout) or from its data directory."""
    location = Path(path)
    source = location / EMULATOR_INFO_FILE if location.is_dir() else location
    if location.is_dir() and not source.is_file():
        raise ConfigurationError(
            f"no running emulator recorded in {location}: start one with `b2c-keys emulator --data {location}`"
        )
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigurationError(
            f"cannot read the emulator's JSON line from {source} ({error.strerror}): "
            "pass the file its stdout went to, or its --data directory"
        ) from None
    for line in reversed(text.splitlines()):
        if line.strip().startswith("{"):
            try:
                info = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(info, dict) and "graph_url" in info:
                return {str(k): str(v) for k, v in info.items() if v is not None}
    raise ConfigurationError(
        f"{source} holds no emulator JSON line (with graph_url): pass the file `b2c-keys emulator` printed to"
    )


def target_config(args: argparse.Namespace) -> dict[str, str]:
    """The ``b2c:`` configuration the flags amount to; flags win over the emulator's line."""
    config: dict[str, str] = {}
    emulator = getattr(args, "emulator", None)
    if emulator:
        info = read_emulator_line(emulator)
        config.update({_FLAG_CONFIG[field]: info[field] for field in _EMULATOR_FIELDS if info.get(field)})
    for dest, key in _FLAG_CONFIG.items():
        value = getattr(args, dest, None)
        if value:
            config[key] = str(value)
    return config


def settings_from(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> Settings:
    config = target_config(args)
    try:
        return resolve_settings(config.get, env)
    except ConfigurationError as error:
        raise ConfigurationError(
            f"{error}\n  b2c-keys takes the same settings as flags too: --tenant-id, --client-id, --client-secret, "
            "or --emulator PATH for a local emulator (see b2c-keys list --help)"
        ) from None


def client_from(args: argparse.Namespace) -> GraphClient:
    return client_for(settings_from(args))
