"""bin/quickstart, run for real as a subprocess in a scratch copy of the repo.

No Pulumi CLI can be installed here (get.pulumi.com is unreachable), so: the offline path runs end to end (the
install of the CLI with Pulumi's installer fails in one line, the emulator starts anyway, ``b2c-keys list`` runs
against it, exit 3, ``--env`` works); another test puts a stand-in ``pulumi`` on PATH that records how it was called,
which checks everything around the CLI for real (the emulator started and then reused, the backend, passphrase and
endpoints handed to pulumi, the stack selected, ``b2c-keys list`` against the emulator). What ``pulumi up`` does
with the program is covered by the program tests.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
EMULATOR_SECRET = "emulator-readwrite-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def path_without_pulumi() -> str:
    """This machine's PATH minus any directory holding a ``pulumi`` (there is none today; stay true tomorrow)."""
    entries = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and not (Path(p) / "pulumi").exists()]
    return os.pathsep.join(entries)


@pytest.fixture
def checkout(tmp_path: Path) -> Iterator[Path]:
    """A scratch repo whose .venv is already set up (wrappers around the test venv), so no pip install runs."""
    repo = tmp_path / "repo"
    (repo / "bin").mkdir(parents=True)
    shutil.copy2(ROOT / "bin" / "quickstart", repo / "bin" / "quickstart")
    shutil.copy2(ROOT / "pyproject.toml", repo / "pyproject.toml")
    shutil.copy2(ROOT / "requirements.txt", repo / "requirements.txt")
    venv_bin = repo / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    for tool in ("python", "b2c-keys"):
        wrapper = venv_bin / tool
        wrapper.write_text(f'#!/bin/sh\nexec "{VENV_BIN / tool}" "$@"\n')
        wrapper.chmod(0o755)
    installed = (repo / "pyproject.toml").read_bytes() + (repo / "requirements.txt").read_bytes()
    stamp = hashlib.sha256(installed).hexdigest()
    (repo / ".venv" / ".b2c-quickstart-installed").write_text(stamp + "\n")
    yield repo
    # Whatever a test started, stop it, even when the test failed: through the script, then by the recorded pid
    # should the script have failed to (the emulator's command line names this scratch repo, so it is ours).
    pid_file = repo / ".local" / "emulator.pid"
    pid = int(pid_file.read_text()) if pid_file.exists() else None
    subprocess.run([repo / "bin" / "quickstart", "--stop"], capture_output=True, timeout=30, check=False)
    if pid is not None and str(repo) in _command_line(pid):
        os.kill(pid, signal.SIGKILL)


def _command_line(pid: int) -> str:
    found = subprocess.run(["ps", "-ww", "-p", str(pid), "-o", "args="], capture_output=True, text=True, check=False)
    return found.stdout


def run_quickstart(
    repo: Path, path: str, port: int, *args: str, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "ARM_", "AZURE_", "B2C_"))}
    env.update(PATH=path, B2C_EMULATOR_PORT=str(port), PYTHON=sys.executable, **(extra_env or {}))
    return subprocess.run(
        [repo / "bin" / "quickstart", *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def offline() -> dict[str, str]:
    """No route to get.pulumi.com, wherever the suite runs: HTTPS through a proxy port nothing listens on.

    The emulator cannot produce "no network"; this machine has none to get.pulumi.com, a CI runner may. The
    emulator itself is local (no_proxy), as are the quickstart's own requests (trust_env off).
    """
    closed = f"http://127.0.0.1:{free_port()}"
    return {"https_proxy": closed, "HTTPS_PROXY": closed, "no_proxy": "127.0.0.1,localhost", "NO_PROXY": "127.0.0.1"}


def test_the_script_parses() -> None:
    subprocess.run(["bash", "-n", ROOT / "bin" / "quickstart"], check=True)


def test_help_shows_every_option_and_starts_nothing(checkout: Path) -> None:
    result = run_quickstart(checkout, path_without_pulumi(), free_port(), "--help")
    assert result.returncode == 0, result.stderr
    for option in ("--emulator-only", "--stop", "--env", "--help", "B2C_EMULATOR_PORT"):
        assert option in result.stdout
    assert not result.stdout.lstrip().startswith("#")
    assert not (checkout / ".local").exists()
    unknown = run_quickstart(checkout, path_without_pulumi(), free_port(), "--frobnicate")
    assert unknown.returncode == 2
    assert "--emulator-only | --stop | --env | --help" in unknown.stderr


def test_without_pulumi_or_network_it_starts_the_emulator_lists_it_and_exits_3(checkout: Path) -> None:
    port = free_port()
    result = run_quickstart(checkout, path_without_pulumi(), port, extra_env=offline())
    assert result.returncode == 3, result.stderr
    assert ".venv is up to date" in result.stdout  # the setup it can do was done first
    assert "installing the Pulumi CLI 3.259.0 into .local/pulumi with Pulumi's installer" in result.stdout
    # One line says why, then it goes on: the emulator runs and b2c-keys lists what is in it.
    [why] = [line for line in result.stderr.splitlines() if "cannot install the Pulumi CLI" in line]
    assert why.startswith("bin/quickstart: cannot install the Pulumi CLI 3.259.0: get.pulumi.com is unreachable (")
    assert why.endswith("; starting the emulator without it")
    assert "Traceback" not in result.stderr
    assert f"starting the emulator on port {port}" in result.stdout
    assert "key sets in the emulator" in result.stdout
    assert listening(port)
    # What to do next, and the shell exports work while it runs.
    assert "the `local` stack was not deployed: there is no Pulumi CLI" in result.stderr
    assert "curl -fsSL https://get.pulumi.com | sh" in result.stderr
    assert "https://www.pulumi.com/docs/install/" in result.stderr
    exports = run_quickstart(checkout, path_without_pulumi(), port, "--env")
    assert exports.returncode == 0, exports.stderr
    assert f"export B2C_GRAPH_URL=https://127.0.0.1:{port}" in exports.stdout
    assert "PATH" not in exports.stdout  # no CLI was installed into .local/pulumi
    assert not (checkout / ".local" / "pulumi" / "bin" / "pulumi").exists()
    assert EMULATOR_SECRET not in result.stdout + result.stderr


def test_emulator_only_needs_no_pulumi_and_lists_the_emulator(checkout: Path) -> None:
    port = free_port()
    result = run_quickstart(checkout, path_without_pulumi(), port, "--emulator-only", extra_env=offline())
    assert result.returncode == 0, result.stderr
    assert "Pulumi CLI" not in result.stdout + result.stderr  # not looked for, not installed
    assert f"starting the emulator on port {port}" in result.stdout
    assert "key sets in the emulator" in result.stdout
    assert 'eval "$(bin/quickstart --env)"' in result.stdout
    assert listening(port)
    again = run_quickstart(checkout, path_without_pulumi(), port, "--emulator-only")
    assert again.returncode == 0, again.stderr
    assert "reusing the emulator already running" in again.stdout


@pytest.fixture
def fake_pulumi(tmp_path: Path) -> tuple[Path, Path]:
    """A ``pulumi`` stand-in that records its arguments and the environment it was given, and succeeds."""
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    calls = tmp_path / "pulumi-calls.jsonl"
    script = bin_dir / "pulumi"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        "keys = ('PULUMI_BACKEND_URL', 'PULUMI_CONFIG_PASSPHRASE', 'ARM_CLIENT_SECRET', 'B2C_GRAPH_URL',\n"
        "        'B2C_AUTHORITY_HOST', 'B2C_CA_BUNDLE')\n"
        f"with open({str(calls)!r}, 'a') as log:\n"
        "    log.write(json.dumps({'argv': sys.argv[1:], 'env': {k: os.environ.get(k) for k in keys}}) + '\\n')\n"
    )
    script.chmod(0o755)
    return bin_dir, calls


@pytest.mark.slow
def test_with_pulumi_it_starts_the_emulator_once_and_hands_pulumi_the_local_setup(
    checkout: Path, fake_pulumi: tuple[Path, Path]
) -> None:
    bin_dir, calls = fake_pulumi
    port = free_port()
    path = os.pathsep.join([str(bin_dir), path_without_pulumi()])

    first = run_quickstart(checkout, path, port)
    assert first.returncode == 0, first.stderr
    assert f"starting the emulator on port {port}" in first.stdout
    info = json.loads((checkout / ".local" / "emulator.json").read_text().splitlines()[0])
    pid = (checkout / ".local" / "emulator.pid").read_text().strip()
    assert info["graph_url"] == f"https://127.0.0.1:{port}"

    second = run_quickstart(checkout, path, port)
    assert second.returncode == 0, second.stderr
    assert f"reusing the emulator already running (pid {pid})" in second.stdout
    assert (checkout / ".local" / "emulator.pid").read_text().strip() == pid

    recorded = [json.loads(line) for line in calls.read_text().splitlines()]
    assert [c["argv"] for c in recorded] == [
        ["stack", "select", "--create", "local", "--secrets-provider", "passphrase"],
        ["up", "--yes", "--refresh", "--stack", "local"],
    ] * 2
    for call in recorded:
        assert call["env"] == {
            "PULUMI_BACKEND_URL": f"file://{checkout / '.local' / 'pulumi-state'}",
            "PULUMI_CONFIG_PASSPHRASE": "b2c-policy-keys-local",
            "ARM_CLIENT_SECRET": info["client_secret"],
            "B2C_GRAPH_URL": info["graph_url"],
            "B2C_AUTHORITY_HOST": info["authority_host"],
            "B2C_CA_BUNDLE": info["ca_bundle"],
        }
    # b2c-keys list ran against the emulator (an empty tenant: the stand-in pulumi deployed nothing).
    assert "key sets in the emulator" in second.stdout
    for result in (first, second):
        assert EMULATOR_SECRET not in result.stdout + result.stderr

    stopped = run_quickstart(checkout, path, port, "--stop")
    assert stopped.returncode == 0
    assert not listening(port)
    assert not (checkout / ".local" / "emulator.pid").exists()
