"""``b2c-keys emulator`` as users run it: a real subprocess, one JSON line, a clean exit on SIGINT/SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from b2c_policy_keys.cli import build_parser, main

from .helpers import secret_grant

LINE_FIELDS = {"graph_url", "authority_host", "tenant_id", "client_id", "client_secret", "ca_bundle", "admin_url"}


@contextmanager
def running(*args: str) -> Iterator[tuple[subprocess.Popen[str], dict[str, Any]]]:
    env = {key: value for key, value in os.environ.items() if key not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")}
    process = subprocess.Popen(
        [sys.executable, "-m", "b2c_policy_keys", "emulator", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # the readiness signal: printed once the port is bound and serving
        assert line, process.stderr.read() if process.stderr else ""
        yield process, json.loads(line)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_prints_one_json_line_serves_and_exits_cleanly(sig: signal.Signals) -> None:
    with running("--data", ":memory:") as (process, line):
        assert set(line) >= LINE_FIELDS
        health = requests.get(f"{line['admin_url']}/health", verify=line["ca_bundle"], timeout=10)
        assert health.json()["tenant_id"] == line["tenant_id"]
        process.send_signal(sig)
        stdout, stderr = process.communicate(timeout=30)
        assert process.returncode == 0
        assert stdout == ""  # nothing after the JSON line
        assert "Traceback" not in stderr


def test_a_data_directory_and_extra_clients(tmp_path: Path) -> None:
    clients = tmp_path / "clients.json"
    clients.write_text(json.dumps([{"client_id": "cli-client", "secret": "cli-secret-value"}]))
    with running("--data", str(tmp_path / "data"), "--clients", str(clients)) as (process, line):
        assert Path(line["ca_bundle"]).is_relative_to(tmp_path / "data")
        token = requests.post(
            f"{line['authority_host']}/{line['tenant_id']}/oauth2/v2.0/token",
            data=secret_grant("cli-client", "cli-secret-value"),
            verify=line["ca_bundle"],
            timeout=10,
        )
        assert token.status_code == 200
        process.terminate()
        _, stderr = process.communicate(timeout=30)
        assert process.returncode == 0
        assert "cli-secret-value" not in stderr


def test_a_broken_clients_file_is_one_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clients = tmp_path / "clients.json"
    clients.write_text("{not json")
    assert main(["emulator", "--port", "0", "--data", ":memory:", "--clients", str(clients)]) == 2
    assert "is not JSON" in capsys.readouterr().err


def test_every_flag_is_documented_in_help() -> None:
    help_text = build_parser()._subparsers._group_actions[0].choices["emulator"].format_help()  # type: ignore[union-attr]
    for flag in ("--host", "--port", "--data", "--no-tls", "--latency-ms", "--tenant-id", "--clients"):
        assert flag in help_text
