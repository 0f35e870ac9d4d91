"""The installed ``b2c-keys`` command, run as a subprocess against a running emulator: output and exit codes."""

from __future__ import annotations

import argparse
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from b2c_policy_keys.cli import COMMAND_MODULES, build_parser
from b2c_policy_keys.graph import GraphClient
from b2c_policy_keys.model import now_epoch

from .support import B2C_KEYS, b2c_keys, clean_env

DAY = 86_400


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


def _subcommands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every (sub)command, nested ones too, with the parser that parses it and the help line its parent shows."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                yield (*path, name), (sub, helps.get(name))
                yield from _subcommands(sub, (*path, name))


def _minimal_args(sub: argparse.ArgumentParser) -> list[str]:
    """Placeholders for a command's required positionals, so the parse reaches --debug."""
    return ["X" for a in sub._actions if not a.option_strings and a.required and a.nargs != argparse.PARSER]


def test_every_command_has_help_text_and_takes_debug_anywhere() -> None:
    parser = build_parser()
    commands = dict(_subcommands(parser))
    assert {("list",), ("show",), ("expiring",), ("emulator",)} <= set(commands)
    assert {("untracked",), ("disable",), ("enable",)} <= set(commands)  # recover_cmd registers three
    assert len(COMMAND_MODULES) <= len(commands)
    for path, (sub, help_line) in commands.items():
        assert help_line, f"{' '.join(path)} has no help text in `b2c-keys --help`"
        assert sub.description or sub.format_help(), path
        assert "--debug" in sub.format_help(), path
        rest = _minimal_args(sub)
        if any(isinstance(a, argparse._SubParsersAction) for a in sub._actions):
            continue  # a command group: its leaves are walked too
        for argv in ([*path, *rest, "--debug"], ["--debug", *path, *rest], [*path, "--debug", *rest]):
            assert build_parser().parse_args(argv).debug is True, argv
        assert build_parser().parse_args([*path, *rest]).debug is False, path


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
    assert result.stderr.startswith("b2c-keys: not found: no key set B2C_1A_Nope in this tenant: ")
    assert "b2c-keys list" in result.stderr


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


def test_a_wrong_secret_is_exit_2_with_one_line_and_no_secret(emulator_line: Path, tmp_path: Path) -> None:
    wrong = "wrong-secret-Zq81xv"
    secret_file = tmp_path / "secret"
    secret_file.write_text(wrong + "\n")
    for command in ("list", "expiring"):
        result = b2c_keys(command, "--client-secret-file", str(secret_file), emulator_line=emulator_line)
        assert result.returncode == 2
        assert result.stderr.startswith("b2c-keys: authentication: ") and result.stderr.count("\n") == 1
        assert "b2c:" not in result.stderr, "a CLI user set no Pulumi config: name what they did set"
        assert "tenant_id of the emulator line in" in result.stderr
        assert "Traceback" not in result.stderr
        assert wrong not in result.stdout + result.stderr


def test_a_secret_as_a_flag_value_is_refused_before_anything_runs(emulator_line: Path) -> None:
    result = b2c_keys("list", "--client-secret", "in-shell-history-9f", emulator_line=emulator_line)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "--client-secret-file" in result.stderr and "ARM_CLIENT_SECRET" in result.stderr
    assert "in-shell-history-9f" not in result.stderr


def test_missing_credentials_fail_before_any_call_with_the_fix(tmp_path: Path) -> None:
    result = b2c_keys("list")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "tenant" in result.stderr.lower()


def test_a_bad_window_is_a_usage_error(emulator_line: Path) -> None:
    result = b2c_keys("expiring", "--within", "3y", emulator_line=emulator_line)
    assert result.returncode == 2 and "30d" in result.stderr


def test_a_window_without_a_unit_is_refused_not_read_as_days(emulator_line: Path) -> None:
    result = b2c_keys("expiring", "--within", "30", emulator_line=emulator_line)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert result.stderr.startswith("b2c-keys: usage: ") and "30d" in result.stderr and "no unit" in result.stderr


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
