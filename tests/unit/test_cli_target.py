"""Which tenant the CLI targets: flags over the emulator's JSON line, the line found in a file or a data directory."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from b2c_policy_keys.cli._errors import CliError
from b2c_policy_keys.cli._target import add_target_arguments, read_emulator_line, settings_from, target_config
from b2c_policy_keys.errors import ConfigurationError

LINE = {
    "graph_url": "https://127.0.0.1:9443",
    "authority_host": "https://127.0.0.1:9443",
    "tenant_id": "b2c00000-0000-4000-8000-000000000001",
    "client_id": "b2c00000-0000-4000-8000-0000000000a1",
    "client_secret": "emulator-readwrite-secret",
    "ca_bundle": "/tmp/ca.pem",
    "admin_url": "https://127.0.0.1:9443/_emulator",
}


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_target_arguments(parser)
    return parser.parse_args(argv)


def test_the_line_is_found_among_other_output(tmp_path: Path) -> None:
    path = tmp_path / "emu.out"
    path.write_text("starting...\n" + json.dumps(LINE) + "\nb2c-keys emulator: stopped\n", encoding="utf-8")
    assert read_emulator_line(path)["graph_url"] == LINE["graph_url"]


def test_a_data_directory_without_a_running_emulator_says_how_to_start_one(tmp_path: Path) -> None:
    with pytest.raises(CliError, match="b2c-keys emulator --data"):
        read_emulator_line(tmp_path)


def test_a_file_without_the_line_is_a_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / "x.txt"
    path.write_text('{"not": "it"}\n', encoding="utf-8")
    with pytest.raises(CliError, match="no emulator JSON line"):
        read_emulator_line(path)


def test_flags_win_over_the_emulator_line(tmp_path: Path) -> None:
    line = tmp_path / "emu.out"
    line.write_text(json.dumps(LINE), encoding="utf-8")
    secret = tmp_path / "secret"
    secret.write_text("from-flag-file\n")
    config = target_config(parse("--emulator", str(line), "--client-secret-file", str(secret)))
    assert config["b2c:clientSecret"] == "from-flag-file"
    assert config["b2c:graphUrl"] == LINE["graph_url"] and config["b2c:caBundle"] == LINE["ca_bundle"]


def test_missing_settings_name_the_cli_flags_and_never_echo_a_secret(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s3cr3t-flag-value")
    with pytest.raises(ConfigurationError) as caught:
        settings_from(parse("--client-secret-file", str(secret)), env={})
    assert "pass --tenant-id <tenant-id> (or set ARM_TENANT_ID)" in str(caught.value)
    assert "s3cr3t-flag-value" not in str(caught.value)


def test_a_value_from_the_emulator_line_is_named_by_its_field(tmp_path: Path) -> None:
    line = tmp_path / "emu.out"
    line.write_text(json.dumps({**LINE, "ca_bundle": str(tmp_path / "gone.pem")}), encoding="utf-8")
    with pytest.raises(ConfigurationError, match=rf"ca_bundle of the emulator line in {line}"):
        settings_from(parse("--emulator", str(line)), env={})


def test_a_secret_file_that_cannot_be_read_names_the_flag(tmp_path: Path) -> None:
    with pytest.raises(CliError, match=r"--client-secret-file .* cannot be read"):
        settings_from(parse("--client-secret-file", str(tmp_path / "missing")), env={})


def test_a_data_directory_whose_emulator_died_is_stale(tmp_path: Path) -> None:
    (tmp_path / "running.json").write_text(json.dumps(LINE), encoding="utf-8")  # no emulator holds the lock
    with pytest.raises(CliError, match="is not running"):
        read_emulator_line(tmp_path)
