"""Fixtures of the CLI tests: an emulator's JSON line saved as a user would, and a Graph client to arrange a tenant."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from b2c_policy_keys.graph import GraphClient, client_for, resolve_settings


@pytest.fixture
def emulator_line(emulator: Any, tmp_path: Path) -> Path:
    """The JSON line ``b2c-keys emulator`` prints, saved as a user would (``b2c-keys emulator > emu.json``)."""
    line = {
        "graph_url": emulator.graph_url,
        "authority_host": emulator.authority_host,
        "tenant_id": emulator.tenant_id,
        "client_id": emulator.client_id,
        "client_secret": emulator.client_secret,
        "ca_bundle": str(emulator.ca_bundle),
        "admin_url": emulator.admin_url,
    }
    path = tmp_path / "emulator.out"
    path.write_text("starting\n" + json.dumps(line) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def graph(emulator: Any) -> Iterator[GraphClient]:
    config = {
        "b2c:tenantId": emulator.tenant_id,
        "b2c:clientId": emulator.client_id,
        "b2c:clientSecret": emulator.client_secret,
        "b2c:graphUrl": emulator.graph_url,
        "b2c:authorityHost": emulator.authority_host,
        "b2c:caBundle": str(emulator.ca_bundle),
    }
    yield client_for(resolve_settings(config.get, {}))
