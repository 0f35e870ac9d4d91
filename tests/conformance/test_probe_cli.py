"""The installed ``b2c-keys conformance`` as a subprocess: a full run, and Ctrl-C in the middle of the script."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from b2c_policy_keys.conformance import Record
from b2c_policy_keys.conformance.diff import differences
from b2c_policy_keys.emulator import Emulator

from .support import COMMITTED, PREFIX, with_prefix, write_line

B2C_KEYS = str(Path(sys.executable).with_name("b2c-keys"))


def clean_env() -> dict[str, str]:
    """The caller's environment minus every credential variable, so only the flags count."""
    prefixes = ("ARM_", "AZURE_", "B2C_", "IDENTITY_", "MSI_", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}


def test_the_installed_command_records_what_the_committed_record_says(emulator: Emulator, tmp_path: Path) -> None:
    out = tmp_path / "record.json"
    line = write_line(emulator, tmp_path)
    argv = [B2C_KEYS, "conformance", "--prefix", PREFIX, "--yes", "--emulator", str(line), "--out", str(out)]
    done = subprocess.run(argv, capture_output=True, text=True, env=clean_env(), timeout=240, check=False)

    assert done.returncode == 0, done.stderr
    assert "36 calls recorded" in done.stderr and emulator.client_secret not in done.stderr + done.stdout
    assert differences(Record.load(COMMITTED), Record.load(out)) == []
    assert with_prefix(emulator) == []


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_mid_script_cleans_up_and_still_writes_the_record(
    emulator: Emulator, tmp_path: Path, signum: signal.Signals
) -> None:
    """SIGINT (or SIGTERM) while a latency fault holds uploadCertificate: the sets made so far go, .bak included."""
    emulator.add_fault(method="POST", path_regex="uploadCertificate$", kind="latency", latency_ms=3000, count=1)
    out = tmp_path / "record.json"
    line = write_line(emulator, tmp_path)
    argv = [B2C_KEYS, "conformance", "--prefix", PREFIX, "--yes", "--emulator", str(line), "--out", str(out)]
    process = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True, env=clean_env())
    assert process.stderr is not None
    for progress in process.stderr:  # the probe announces each step before sending it
        if "] uploadCertificate" in progress:
            break
    assert with_prefix(emulator)  # the RSA set exists: there is something to clean up
    process.send_signal(signum)
    rest = process.stderr.read()
    assert process.wait(timeout=60) == 130, rest

    assert "interrupted: cleaning up" in rest
    record = Record.load(out)
    assert not record.complete
    reasons = {item["step"]: item["reason"] for item in record.not_done}
    assert reasons["uploadCertificate"] == "interrupted" and reasons["delete.rsa.bak"] == "interrupted"
    assert [entry.step for entry in record.entries][:2] == ["create", "create.duplicate"]
    assert record.cleanup == {"deleted": 2, "left": 0}  # the RSA set and its .bak
    assert with_prefix(emulator) == []


def test_a_read_only_app_is_given_by_id_and_a_secret_file_never_a_secret_flag(
    emulator: Emulator, tmp_path: Path
) -> None:
    """The read-only half with a user-given app: its secret comes from a file (a flag value lands in shell history)."""
    out, secret_file = tmp_path / "record.json", tmp_path / "read-only-secret"
    secret_file.write_text(emulator.readonly_client_secret + "\n")
    line = write_line(emulator, tmp_path)
    base = [B2C_KEYS, "conformance", "--prefix", PREFIX, "--yes", "--emulator", str(line), "--out", str(out)]
    read_only = ["--read-only-client-id", emulator.readonly_client_id]
    argv = [*base, *read_only, "--read-only-client-secret-file", str(secret_file)]
    done = subprocess.run(argv, capture_output=True, text=True, env=clean_env(), timeout=240, check=False)

    assert done.returncode == 0, done.stderr
    assert emulator.readonly_client_secret not in done.stderr + done.stdout + out.read_text()
    assert differences(Record.load(COMMITTED), Record.load(out)) == []

    refused = [*base, *read_only, "--read-only-client-secret", emulator.readonly_client_secret]
    done = subprocess.run(refused, capture_output=True, text=True, env=clean_env(), timeout=60, check=False)
    assert done.returncode == 2 and not out.with_name("never").exists()
    assert emulator.readonly_client_secret not in done.stderr + done.stdout
