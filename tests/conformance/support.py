"""What the probe's tests share: an emulator's JSON line on disk, the key sets left in it, a record's text."""

from __future__ import annotations

import json
from pathlib import Path

from b2c_policy_keys.emulator import Emulator
from b2c_policy_keys.graph import GraphClient, client_for, resolve_settings
from b2c_policy_keys.testing.target import emulator_config

HERE = Path(__file__).parent
COMMITTED = HERE / "emulator-record.json"
PREFIX = "ConfProbe"


def write_line(emu: Emulator, directory: Path) -> Path:
    """The JSON line ``b2c-keys emulator`` prints, saved as a user would (``b2c-keys emulator > emu.json``)."""
    line = {
        "graph_url": emu.graph_url,
        "authority_host": emu.authority_host,
        "tenant_id": emu.tenant_id,
        "client_id": emu.client_id,
        "client_secret": emu.client_secret,
        "ca_bundle": str(emu.ca_bundle),
        "admin_url": emu.admin_url,
        "readonly_client_id": emu.readonly_client_id,
    }
    path = directory / "emulator.out"
    path.write_text(json.dumps(line) + "\n", encoding="utf-8")
    return path


def graph_client(emu: Emulator) -> GraphClient:
    """The package's client for the emulator's read-write app (HTTPS, msal token)."""
    return client_for(resolve_settings(emulator_config(emu).get, {}))


def keyset_ids(emu: Emulator) -> list[str]:
    """Every key set of the emulated tenant, as a real client lists them."""
    return [keyset.id for keyset in graph_client(emu).list_keysets()]


def with_prefix(emu: Emulator, prefix: str = PREFIX) -> list[str]:
    return [keyset_id for keyset_id in keyset_ids(emu) if keyset_id.upper().startswith(f"B2C_1A_{prefix}".upper())]
