"""``b2c-keys`` as a tool people pipe and script: widths, broken pipes, one-line errors, the data-directory lock."""

from __future__ import annotations

import fcntl
import json
import os
import re
import signal
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from b2c_policy_keys.graph import GraphClient
from b2c_policy_keys.model import now_epoch

from .support import B2C_KEYS, b2c_keys, clean_env

DAY = 86_400
F_SETPIPE_SZ = 1031  # fcntl.F_SETPIPE_SZ from Python 3.10 on Linux; spelled out for type checkers elsewhere
ERROR_LINE = r"^b2c-keys: [a-z ]+: .+: .+\n$"


@pytest.fixture
def signing(graph: GraphClient) -> dict[str, Any]:
    """A set with a long name: an active key, a disabled one and one not yet valid, all with 43-character kids."""
    now = now_epoch()
    keyset_id = graph.create_keyset("TokenSigningKeyContainer").id
    active = graph.generate_key(keyset_id, use="sig", kty="RSA", nbf=now - DAY, exp=now + 400 * DAY)
    later = graph.generate_key(keyset_id, use="sig", kty="RSA", nbf=now + 30 * DAY, exp=now + 800 * DAY)
    off = graph.generate_key(keyset_id, use="sig", kty="RSA", nbf=now - DAY, exp=now + 100 * DAY)
    graph.set_key_status(keyset_id, off.kid, "disabled")
    return {"id": keyset_id, "active": active.kid, "kids": [active.kid, later.kid, off.kid]}


# --- widths --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("columns", [80, 100, 120])
def test_show_never_cuts_or_wraps_a_kid_or_the_active_marker(
    signing: dict[str, Any], emulator_line: Path, columns: int
) -> None:
    result = b2c_keys("show", signing["id"], emulator_line=emulator_line, env=clean_env(COLUMNS=str(columns)))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert all(len(line) <= columns for line in lines), "the table is wider than the terminal"
    for kid in signing["kids"]:
        assert len(kid) == 43
        (line,) = [line for line in lines if kid in line]  # whole, on one line
        assert line.startswith("*") == (kid == signing["active"])
    assert sum(line.startswith("*") for line in lines) == 1


@pytest.mark.parametrize("columns", [80, 120])
def test_list_keeps_the_active_kid_whole(signing: dict[str, Any], emulator_line: Path, columns: int) -> None:
    result = b2c_keys("list", emulator_line=emulator_line, env=clean_env(COLUMNS=str(columns)))
    assert result.returncode == 0, result.stderr
    assert any(signing["active"] in line for line in result.stdout.splitlines())
    assert all(len(line) <= columns for line in result.stdout.splitlines())


# --- broken pipes --------------------------------------------------------------------------------------------


def _into_closed_pipe(*args: str, emulator_line: Path) -> subprocess.CompletedProcess[str]:
    """Run with stdout a real pipe whose reader has already gone (``| head -0``, deterministically)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [B2C_KEYS, *args, "--emulator", str(emulator_line)],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env=clean_env(),
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)


@pytest.mark.parametrize(
    ("args", "status"),
    [(("list",), 0), (("show", "TokenSigningKeyContainer"), 0), (("expiring", "--within", "60d"), 1)],
)
def test_a_closed_pipe_ends_quietly_with_the_commands_own_status(
    signing: dict[str, Any], graph: GraphClient, emulator_line: Path, args: tuple[str, ...], status: int
) -> None:
    graph.create_keyset("Empty")  # a finding for `expiring`
    result = _into_closed_pipe(*args, emulator_line=emulator_line)
    assert result.returncode == status, result.stderr
    assert result.stderr == ""


def test_a_reader_that_leaves_after_one_line_like_head_keeps_expirings_status(
    graph: GraphClient, emulator_line: Path
) -> None:
    """``b2c-keys expiring | head -n 1``: the pipe's capacity cut to one page (F_SETPIPE_SZ), so the output (about
    10 KiB) surely outlives the reader and the write in flight breaks, as with head on a large tenant."""
    for index in range(40):
        graph.create_keyset(f"Empty{index:02d}")
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, F_SETPIPE_SZ, 4096)
    server = subprocess.Popen(
        [B2C_KEYS, "expiring", "--emulator", str(emulator_line)],
        stdout=write_end,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        first = reader.readline()
    _, stderr = server.communicate(timeout=60)
    assert first.startswith(b"Key sets needing attention")
    assert server.returncode == 1, stderr
    assert stderr == ""  # no "Broken pipe", no "Exception ignored"


# --- errors: one line, the source and its fix ------------------------------------------------------------------


def test_a_bad_value_from_the_environment_names_the_variable_not_a_config_key(tmp_path: Path) -> None:
    env = clean_env(ARM_TENANT_ID="not a tenant", ARM_CLIENT_ID="x", ARM_CLIENT_SECRET="env-secret-77aa")
    result = b2c_keys("list", env=env)
    assert result.returncode == 2
    assert result.stderr.startswith("b2c-keys: configuration: ARM_TENANT_ID must be")
    assert "set ARM_TENANT_ID=" in result.stderr and "b2c:" not in result.stderr
    assert "env-secret-77aa" not in result.stderr and result.stderr.count("\n") == 1


def test_missing_settings_name_the_flags_and_the_variables() -> None:
    result = b2c_keys("show", "X")
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "--tenant-id" in result.stderr and "ARM_TENANT_ID" in result.stderr
    assert "--client-secret-file" in result.stderr and "pulumi config" not in result.stderr


def test_debug_after_the_command_shows_the_traceback() -> None:
    quiet, loud = b2c_keys("list"), b2c_keys("list", "--debug")
    assert quiet.returncode == 2 and "Traceback" not in quiet.stderr
    assert loud.returncode != 0 and "Traceback" in loud.stderr


def test_a_port_out_of_range_is_one_line_without_a_traceback() -> None:
    result = b2c_keys("emulator", "--port", "99999", "--data", ":memory:")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("b2c-keys: usage: ") and "0-65535" in result.stderr


def test_a_taken_port_says_so_and_how_to_pick_another() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = b2c_keys("emulator", "--port", str(taken.getsockname()[1]), "--data", ":memory:")
    assert result.returncode == 2
    assert result.stderr.startswith("b2c-keys: emulator: port ") and "--port 0" in result.stderr
    assert re.match(ERROR_LINE, result.stderr)


def test_a_data_directory_that_is_a_file_says_what_to_pass(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    result = b2c_keys("emulator", "--port", "0", "--data", str(not_a_dir))
    assert result.returncode == 2 and re.match(ERROR_LINE, result.stderr)
    assert "data directory" in result.stderr and "--data" in result.stderr and "Traceback" not in result.stderr


@contextmanager
def running_emulator(data: Path) -> Iterator[tuple[subprocess.Popen[str], dict[str, Any]]]:
    server = subprocess.Popen(
        [B2C_KEYS, "emulator", "--port", "0", "--data", str(data)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )
    try:
        assert server.stdout is not None
        yield server, json.loads(server.stdout.readline())
    finally:
        if server.poll() is None:
            server.terminate()
        server.communicate(timeout=30)


def test_a_second_emulator_on_one_data_directory_refuses_and_leaves_the_first_intact(tmp_path: Path) -> None:
    data = tmp_path / "emu"
    with running_emulator(data) as (first, line):
        recorded = (data / "running.json").read_text()
        second = b2c_keys("emulator", "--port", "0", "--data", str(data))
        assert second.returncode == 2 and second.stderr.count("\n") == 1
        assert "in use by another emulator" in second.stderr and f"pid {first.pid}" in second.stderr
        assert "--data" in second.stderr
        assert (data / "running.json").read_text() == recorded  # the first's line, untouched
        listed = b2c_keys("list", "--json", "--emulator", str(data))
        assert listed.returncode == 0, listed.stderr
        assert line["client_secret"] not in listed.stdout + listed.stderr + second.stderr
    assert not (data / "running.json").exists()


def test_an_emulator_that_died_is_reported_as_stopped_with_how_to_start_it(tmp_path: Path) -> None:
    data = tmp_path / "emu"
    with running_emulator(data) as (server, _):
        server.send_signal(signal.SIGKILL)  # no clean-up: running.json stays behind
        server.wait(timeout=30)
    assert (data / "running.json").exists()
    result = b2c_keys("list", "--emulator", str(data))
    assert result.returncode == 2 and re.match(ERROR_LINE, result.stderr)
    assert "is not running" in result.stderr and f"b2c-keys emulator --data {data}" in result.stderr
    with running_emulator(data) as (_, line):  # the lock died with the process: a new emulator may start
        assert line["data_dir"] == str(data.resolve())


def test_a_stopped_emulator_behind_a_saved_line_gets_a_fix(emulator_line: Path, emulator: Any) -> None:
    emulator.stop()  # in memory: its CA went with it, then its port
    result = b2c_keys("list", emulator_line=emulator_line)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert f"ca_bundle of the emulator line in {emulator_line}" in result.stderr
    assert "start it again (`b2c-keys emulator`)" in result.stderr


def test_an_unreachable_emulator_gets_a_fix(emulator_line: Path, emulator: Any) -> None:
    line = json.loads(emulator_line.read_text().splitlines()[1])
    kept = emulator_line.parent / "ca.pem"
    kept.write_bytes(Path(line["ca_bundle"]).read_bytes())
    emulator_line.write_text(json.dumps({**line, "ca_bundle": str(kept)}) + "\n")
    emulator.stop()
    result = b2c_keys("list", emulator_line=emulator_line)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert result.stderr.startswith("b2c-keys: connection: ") and "b2c-keys emulator" in result.stderr


# --- credentials from flags ------------------------------------------------------------------------------------


def test_federated_token_file_flags(emulator: Any, tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text(emulator.federated_token())
    flags = [
        *("--tenant-id", emulator.tenant_id, "--client-id", emulator.client_id),
        *("--graph-url", emulator.graph_url, "--authority-host", emulator.authority_host),
        *("--ca-bundle", str(emulator.ca_bundle), "--use-oidc", "--oidc-token-file-path", str(token)),
    ]
    result = b2c_keys("list", "--json", *flags)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"keysets": []}
    missing = b2c_keys("list", *flags[:-2])
    assert missing.returncode == 2 and "--oidc-token-file-path" in missing.stderr
    assert "ACTIONS_ID_TOKEN_REQUEST_URL" in missing.stderr
