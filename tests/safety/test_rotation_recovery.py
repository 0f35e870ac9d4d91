"""Recovery tools (issue 11): ``b2c-keys untracked`` against a stack export, ``disable``/``enable`` by kid.

The untracked key is made the way a killed host leaves one: an upload the state never recorded (a direct Graph call,
since the emulator cannot kill the host at the right instant). In-process for the logic, one subprocess run for the
installed command, its exit codes and its output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from b2c_policy_keys import KeySetProvider, SecretKeyProvider
from b2c_policy_keys.cli import main
from b2c_policy_keys.emulator import Emulator
from b2c_policy_keys.model import TEST_CLOCK_ENV
from stateful import fixtures
from stateful.engine import Declared, Engine, Stack, TestClock, stack_export

clock, engine, graph = fixtures.clock, fixtures.engine, fixtures.graph  # fixtures, by name

B2C_KEYS = str(Path(sys.executable).with_name("b2c-keys"))
EXPIRES = 4102444799
LEAKED = "the-secret-a-killed-host-uploaded"


def _target(emulator: Emulator) -> list[str]:
    return [
        "--tenant-id", emulator.tenant_id,
        "--client-id", emulator.client_id,
        "--graph-url", emulator.graph_url,
        "--authority-host", emulator.authority_host,
        "--ca-bundle", str(emulator.ca_bundle),
    ]  # fmt: skip


@pytest.fixture
def cli_env(emulator: Emulator, clock: TestClock, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The client secret in the environment (never on a command line), as the README recommends; the test clock."""
    monkeypatch.setenv("ARM_CLIENT_SECRET", emulator.client_secret)
    monkeypatch.setenv(TEST_CLOCK_ENV, str(clock.path))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARM_", "AZURE_", "B2C_"))}
    return {**env, "ARM_CLIENT_SECRET": emulator.client_secret, TEST_CLOCK_ENV: str(clock.path), "COLUMNS": "200"}


@pytest.fixture
def deployed(engine: Engine, tmp_path: Path) -> tuple[Stack, Path]:
    stack = Stack()
    program = [
        Declared(KeySetProvider(), "set", {"name": "Federation"}),
        Declared(SecretKeyProvider(), "key", {"keyset_id": "Federation", "value": "app-secret", "expires_at": EXPIRES}),
    ]
    assert engine.up(stack, program).ok
    path = tmp_path / "stack.json"
    path.write_text(json.dumps(stack_export(stack)))
    return stack, path


def test_untracked_lists_the_key_no_state_knows_and_disable_fixes_it(
    deployed: tuple[Stack, Path], emulator: Emulator, clock: TestClock, graph: Any, cli_env: dict[str, str], capsys: Any
) -> None:
    stack, export = deployed
    tracked = stack.resources["key"].outputs["kid"]
    assert main(["untracked", "--stack-export", str(export), "--json", *_target(emulator)]) == 0
    assert json.loads(capsys.readouterr().out)["untracked"] == []

    clock.advance(5)  # the leaked key starts later than the tracked one, so it is the active key
    leaked = graph.upload_secret("B2C_1A_Federation", use="sig", value=LEAKED, nbf=emulator.now(), exp=EXPIRES)
    assert main(["untracked", "--stack-export", str(export), "--json", *_target(emulator)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [(r["kid"], r["status"], r["active"]) for r in report["untracked"]] == [(leaked.kid, "enabled", True)]
    assert report["untracked"][0]["keyset_id"] == "B2C_1A_Federation"

    assert main(["disable", "federation", leaked.kid, *_target(emulator)]) == 0  # any case, without the prefix
    assert f"{leaked.kid} is now disabled" in capsys.readouterr().out
    assert graph.get_keyset("B2C_1A_Federation").key(leaked.kid).status == "disabled"
    assert graph.get_active_key("B2C_1A_Federation").kid == tracked
    assert main(["untracked", "--stack-export", str(export), "--json", *_target(emulator)]) == 0  # listed, disabled
    assert [r["status"] for r in json.loads(capsys.readouterr().out)["untracked"]] == ["disabled"]


def test_disable_refuses_the_only_valid_key_without_force(
    deployed: tuple[Stack, Path], emulator: Emulator, graph: Any, cli_env: dict[str, str], capsys: Any
) -> None:
    stack, _ = deployed
    kid = stack.resources["key"].outputs["kid"]
    assert main(["disable", "B2C_1A_Federation", kid, *_target(emulator)]) == 2
    error = capsys.readouterr().err
    assert "only valid key of B2C_1A_Federation" in error and "--force" in error
    assert graph.get_keyset("B2C_1A_Federation").key(kid).status == "enabled"

    assert main(["disable", "B2C_1A_Federation", kid, "--force", *_target(emulator)]) == 0
    assert graph.get_keyset("B2C_1A_Federation").key(kid).status == "disabled"
    assert main(["enable", "B2C_1A_Federation", kid, "--json", *_target(emulator)]) == 0
    capsys.readouterr()
    assert main(["enable", "B2C_1A_Federation", kid, "--json", *_target(emulator)]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "keyset_id": "B2C_1A_Federation", "kid": kid, "status": "enabled", "changed": False,
    }  # fmt: skip
    assert main(["disable", "B2C_1A_Federation", "no-such-kid", *_target(emulator)]) == 2
    assert "b2c-keys show B2C_1A_Federation" in capsys.readouterr().err


def test_the_installed_command_reports_untracked_keys_and_pending_creates(
    deployed: tuple[Stack, Path], emulator: Emulator, graph: Any, cli_env: dict[str, str], tmp_path: Path
) -> None:
    stack, _ = deployed
    pending = Declared(SecretKeyProvider(), "second", {"keyset_id": "Federation", "value": LEAKED})
    export = tmp_path / "pending.json"
    export.write_text(json.dumps(stack_export(stack, pending_creates=[pending])))
    leaked = graph.upload_secret("B2C_1A_Federation", use="sig", value=LEAKED, nbf=emulator.now(), exp=EXPIRES)

    done = subprocess.run(
        [B2C_KEYS, "untracked", "--stack-export", str(export), *_target(emulator)],
        capture_output=True, text=True, env=cli_env, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert leaked.kid in done.stdout and "enabled" in done.stdout
    assert "--import-pending-creates" in done.stdout and "--clear-pending-creates" in done.stdout
    assert LEAKED not in done.stdout + done.stderr and emulator.client_secret not in done.stdout + done.stderr

    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    done = subprocess.run(
        [B2C_KEYS, "untracked", "--stack-export", str(bad), *_target(emulator)],
        capture_output=True, text=True, env=cli_env, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and "pulumi stack export" in done.stderr
