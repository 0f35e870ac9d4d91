"""HTTPS for real: the emulator's CA verifies, another CA does not, and a data directory keeps its PKI and keys."""

from __future__ import annotations

import socket
import stat
from pathlib import Path
from typing import Any

import pytest
import requests
import trustme

from b2c_policy_keys.emulator import DEFAULT_TENANT_ID, Emulator

from .helpers import KEYSETS, bearer, session_for, token_with_secret

OTHER_TENANT = "b2c00000-0000-4000-8000-0000000000ee"


def test_the_emulator_ca_verifies_the_server_for_every_loopback_name(emulator: Emulator) -> None:
    session = session_for(emulator)
    assert session.get(f"{emulator.admin_url}/health").status_code == 200
    assert session.get(f"https://localhost:{emulator.port}/_emulator/health").status_code == 200


def test_another_ca_is_refused(emulator: Emulator, tmp_path: Path) -> None:
    stranger = tmp_path / "stranger.pem"
    trustme.CA().cert_pem.write_to_path(str(stranger))
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{emulator.admin_url}/health", verify=str(stranger), timeout=10)


def test_an_in_memory_emulator_removes_its_ca_on_stop() -> None:
    with Emulator() as emu:
        ca_bundle = Path(emu.ca_bundle)
        assert ca_bundle.exists()
    assert not ca_bundle.exists()


def test_a_stalled_handshake_does_not_block_other_clients(emulator: Emulator) -> None:
    """A client that connects and never says hello holds only its own thread."""
    with socket.create_connection(("127.0.0.1", emulator.port)):
        assert session_for(emulator).get(f"{emulator.admin_url}/health").status_code == 200


def test_a_data_directory_keeps_ca_signing_key_tenant_and_state(emulator_factory: Any, tmp_path: Path) -> None:
    first = emulator_factory(tmp_path, tenant_id=OTHER_TENANT)
    ca_pem = Path(first.ca_bundle).read_bytes()
    token = token_with_secret(first)
    created = session_for(first).post(first.graph_url + KEYSETS, json={"id": "kept"}, headers=bearer(token))
    assert created.status_code == 201
    first.stop()

    second = emulator_factory(tmp_path)  # the default tenant argument: the directory's tenant wins
    assert second.tenant_id == OTHER_TENANT
    assert Path(second.ca_bundle).read_bytes() == ca_pem
    answer = session_for(second).get(second.graph_url + KEYSETS, headers=bearer(token))  # the old token
    assert answer.status_code == 200
    assert [keyset["id"] for keyset in answer.json()["value"]] == ["B2C_1A_kept"]


def test_a_data_directory_refuses_a_different_explicit_tenant(tmp_path: Path) -> None:
    with Emulator(tmp_path, tenant_id=OTHER_TENANT):
        pass
    with pytest.raises(ValueError, match=OTHER_TENANT):
        Emulator(tmp_path, tenant_id="b2c00000-0000-4000-8000-0000000000dd").start()
    with Emulator(tmp_path, tenant_id=DEFAULT_TENANT_ID) as emu:
        assert emu.tenant_id == OTHER_TENANT


def test_private_keys_in_the_data_directory_are_owner_only(emulator_factory: Any, tmp_path: Path) -> None:
    emulator_factory(tmp_path)
    private = [
        tmp_path / "tls" / "ca-key.pem",
        tmp_path / "tls" / "server-key.pem",
        tmp_path / "keys" / "token-signing.pem",
        tmp_path / "keys" / "federation-issuer.pem",
    ]
    for path in private:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_no_tls_serves_plain_http_for_debugging(emulator_factory: Any) -> None:
    emu = emulator_factory(tls=False)
    assert emu.graph_url.startswith("http://")
    assert emu.ca_bundle == ""
    assert requests.get(f"{emu.admin_url}/health", timeout=10).json()["status"] == "ok"
