"""The installed ``b2c-keys`` command, run as a subprocess against a running emulator: output and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from b2c_policy_keys.cli import COMMAND_MODULES, build_parser
from b2c_policy_keys.graph import GraphClient, client_for, resolve_settings
from b2c_policy_keys.model import now_epoch

B2C_KEYS = str(Path(sys.executable).with_name("b2c-keys"))
DAY = 86_400


def clean_env() -> dict[str, str]:
    """The caller's environment minus every credential variable, so only what a test passes counts."""
    prefixes = ("ARM_", "AZURE_", "B2C_", "IDENTITY_", "MSI_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env["COLUMNS"] = "200"
    return env


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


def b2c_keys(*args: str, emulator_line: Path | None = None) -> subprocess.CompletedProcess[str]:
    argv = [B2C_KEYS, *args]
    if emulator_line is not None:
        argv += ["--emulator", str(emulator_line)]
    return subprocess.run(argv, capture_output=True, text=True, env=clean_env(), timeout=60, check=False)


@pytest.fixture
def tenant(graph: GraphClient) -> dict[str, str]:
    """A healthy signing set, a secret expiring in 10 days, an empty set: the three states the CLI reports."""
    now = now_epoch()
    healthy = graph.create_keyset("Healthy").id
    graph.generate_key(healthy, use="sig", kty="RSA", exp=now + 400 * DAY)
    soon = graph.create_keyset("Soon").id
    key = graph.upload_secret(soon, use="sig", value="s3cret-value-never-shown", nbf=now - DAY, exp=now + 10 * DAY)
    empty = graph.create_keyset("Empty").id
    return {"healthy": healthy, "soon": soon, "soon_kid": key.kid, "empty": empty}


def test_every_command_has_help_text() -> None:
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    names = set(subparsers.choices)  # type: ignore[union-attr]
    assert {"list", "show", "expiring", "untracked", "disable", "enable"} <= names
    assert len(COMMAND_MODULES) + 2 == len(names)  # recover_cmd registers three: untracked, disable, enable
    for action in subparsers._choices_actions:  # type: ignore[attr-defined]
        assert action.help, f"{action.dest} has no help text"


def test_list_shows_every_set_with_its_active_key(tenant: dict[str, str], emulator_line: Path) -> None:
    result = b2c_keys("list", emulator_line=emulator_line)
    assert result.returncode == 0, result.stderr
    for keyset_id in (tenant["healthy"], tenant["soon"], tenant["empty"]):
        assert keyset_id in result.stdout
    assert result.stderr == ""  # no spinner off a terminal


def test_list_json_has_counts_active_keys_and_expiry(tenant: dict[str, str], emulator_line: Path) -> None:
    result = b2c_keys("list", "--json", emulator_line=emulator_line)
    assert result.returncode == 0, result.stderr
    rows = {row["id"]: row for row in json.loads(result.stdout)["keysets"]}
    assert rows[tenant["soon"]]["active_kid"] == tenant["soon_kid"]
    assert rows[tenant["soon"]]["kty"] == "oct" and rows[tenant["soon"]]["use"] == "sig"
    assert rows[tenant["healthy"]]["kty"] == "RSA" and rows[tenant["healthy"]]["key_count"] == 1
    assert rows[tenant["empty"]]["key_count"] == 0 and rows[tenant["empty"]]["active_kid"] is None
    assert rows[tenant["soon"]]["earliest_expiry"] > now_epoch()


def test_show_marks_the_active_key(tenant: dict[str, str], emulator_line: Path) -> None:
    result = b2c_keys("show", "Soon", emulator_line=emulator_line)
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if tenant["soon_kid"] in line)
    assert "*" in line and "active" in line
    detail = json.loads(b2c_keys("show", tenant["soon"], "--json", emulator_line=emulator_line).stdout)
    assert detail["active_kid"] == tenant["soon_kid"] and detail["keys"][0]["active"] is True


def test_show_of_a_missing_set_is_one_line_with_the_fix(emulator_line: Path) -> None:
    result = b2c_keys("show", "Nope", emulator_line=emulator_line)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "B2C_1A_Nope" in result.stderr and "b2c-keys list" in result.stderr


def test_expiring_finds_the_expiring_key_and_the_set_without_keys(tenant: dict[str, str], emulator_line: Path) -> None:
    result = b2c_keys("expiring", "--within", "30d", "--json", emulator_line=emulator_line)
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    reasons = {f["keyset_id"]: f["reason"] for f in report["findings"]}
    assert reasons == {tenant["soon"]: "expiring", tenant["empty"]: "no-valid-key"}
    assert report["keysets_checked"] == 3
    table = b2c_keys("expiring", emulator_line=emulator_line)
    assert table.returncode == 1 and tenant["soon"] in table.stdout and "no-valid-key" in table.stdout
    assert "s3cret-value-never-shown" not in table.stdout + result.stdout


def test_expiring_is_clean_with_a_short_window_and_healthy_sets(graph: GraphClient, emulator_line: Path) -> None:
    graph.generate_key(graph.create_keyset("Fine").id, use="enc", kty="RSA", exp=now_epoch() + 5 * DAY)
    assert b2c_keys("expiring", "--within", "2d", emulator_line=emulator_line).returncode == 0
    assert b2c_keys("expiring", "--within", "6d", emulator_line=emulator_line).returncode == 1


def test_expiring_reports_a_set_whose_only_valid_key_is_disabled(graph: GraphClient, emulator_line: Path) -> None:
    keyset_id = graph.create_keyset("Switched").id
    key = graph.generate_key(keyset_id, use="sig", kty="RSA")
    graph.set_key_status(keyset_id, key.kid, "disabled")
    result = b2c_keys("expiring", "--json", emulator_line=emulator_line)
    assert result.returncode == 1
    finding = json.loads(result.stdout)["findings"][0]
    assert finding["reason"] == "only-disabled" and finding["kid"] == key.kid


def test_a_wrong_secret_is_exit_2_with_one_line_and_no_secret(emulator_line: Path) -> None:
    wrong = "wrong-secret-Zq81xv"
    for command in ("list", "expiring"):
        result = b2c_keys(command, "--client-secret", wrong, emulator_line=emulator_line)
        assert result.returncode == 2
        assert result.stderr.startswith("b2c-keys: ") and result.stderr.count("\n") == 1
        assert "Traceback" not in result.stderr
        assert wrong not in result.stdout + result.stderr


def test_missing_credentials_fail_before_any_call_with_the_fix(tmp_path: Path) -> None:
    result = b2c_keys("list")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "tenant" in result.stderr.lower()


def test_a_bad_window_is_a_usage_error(emulator_line: Path) -> None:
    result = b2c_keys("expiring", "--within", "3y", emulator_line=emulator_line)
    assert result.returncode == 2 and "30d" in result.stderr


def test_emulator_data_directory_finds_the_running_emulator(tmp_path: Path) -> None:
    """``--emulator DIR`` reads the JSON line a running ``b2c-keys emulator --data DIR`` leaves there."""
    data = tmp_path / "emu"
    server = subprocess.Popen(
        [B2C_KEYS, "emulator", "--port", "0", "--data", str(data)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )
    try:
        assert server.stdout is not None
        line = json.loads(server.stdout.readline())  # the readiness line
        assert (data / "running.json").is_file()
        result = b2c_keys("list", "--json", "--emulator", str(data))
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == {"keysets": []}
        assert line["client_secret"] not in result.stdout + result.stderr
    finally:
        server.terminate()
        server.communicate(timeout=30)
    assert not (data / "running.json").exists()
    stopped = b2c_keys("list", "--emulator", str(data))
    assert stopped.returncode == 2 and "no running emulator" in stopped.stderr
