"""Which tenant the CLI targets: flags over the emulator's JSON line, the line found in a file or a data directory."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

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
    with pytest.raises(ConfigurationError, match="b2c-keys emulator --data"):
        read_emulator_line(tmp_path)


def test_a_file_without_the_line_is_a_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / "x.txt"
    path.write_text('{"not": "it"}\n', encoding="utf-8")
    with pytest.raises(ConfigurationError, match="no emulator JSON line"):
        read_emulator_line(path)


def test_flags_win_over_the_emulator_line(tmp_path: Path) -> None:
    (tmp_path / "running.json").write_text(json.dumps(LINE), encoding="utf-8")
    config = target_config(parse("--emulator", str(tmp_path), "--client-secret", "from-flag"))
    assert config["b2c:clientSecret"] == "from-flag"
    assert config["b2c:graphUrl"] == LINE["graph_url"] and config["b2c:caBundle"] == LINE["ca_bundle"]


def test_missing_settings_name_the_cli_flags_and_never_echo_a_secret() -> None:
    with pytest.raises(ConfigurationError) as caught:
        settings_from(parse("--client-secret", "s3cr3t-flag-value"), env={})
    assert "--tenant-id" in str(caught.value)
    assert "s3cr3t-flag-value" not in str(caught.value)
