"""``python -m b2c_policy_keys.bench --quick`` as a user runs it: every section is reported, request counts are minimal.

Counts only: timings depend on the machine and are never asserted (they are the benchmark's output, not a test).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from b2c_policy_keys.bench.counts import PFX_PASSWORD

SECTIONS = (
    "Graph requests per operation",
    "Overhead",
    "Scale",
    "Cold start",
    "Peak memory",
)
SCALE = 3
#: Secrets the run handles: the emulator's client secret, the PFX password, the uploaded values' common prefix.
SECRETS = (
    "emulator-readwrite-secret",
    PFX_PASSWORD,
    "bench-secret-",
    "bench-scale-secret-",
    "bench-bare-secret-",
    "bench-overhead-value",
)


def test_quick_run_reports_every_section_with_minimal_requests(tmp_path: Path) -> None:
    output, figures_file = tmp_path / "BENCHMARKS.md", tmp_path / "figures.json"
    options = ["--quick", "--scale", str(SCALE), "--reps", "5", "--output", str(output), "--json", str(figures_file)]
    run = subprocess.run(
        [sys.executable, "-m", "b2c_policy_keys.bench", *options],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr

    report = output.read_text()
    for section in SECTIONS:
        assert f"## {section}" in report, section
        assert section in run.stdout, section  # the printed tables carry the same titles
    assert "python -m b2c_policy_keys.bench --quick" in report  # the exact command, to reproduce it
    assert "| CPU |" in report and "| pulumi |" in report  # the machine it ran on

    everything = run.stdout + run.stderr + report + figures_file.read_text()
    for secret in SECRETS:
        assert secret not in everything, f"a secret of the run reached its output: {secret[:4]}..."

    figures = json.loads(figures_file.read_text())
    operations = {(c["resource"], c["operation"]) for c in figures["counts"]}
    for resource in ("KeySet", "SecretKey", "GeneratedKey", "CertificateKey", "Pkcs12Key"):
        for operation in ("create", "read (refresh)", "diff (no-change preview)", "delete"):
            assert (resource, operation) in operations
    above = [c for c in figures["counts"] if c["requests"] != c["minimum"]]
    assert above == [], above
    assert ("(host process)", "token requests") in operations

    steps = {s["name"]: s for s in figures["scale"]}
    assert set(steps) == {"up", "refresh", "destroy"}
    for step in steps.values():
        assert step["resources"] == 2 * SCALE
        # Nothing redundant: a create reads its set (or whether the key set exists) just before it writes, what proves
        # a lost answer's key, and a key's delete reads its set so it never leaves it dark (issue 11).
        assert step["requests"] == {"up": 4, "refresh": 2, "destroy": 3}[step["name"]] * SCALE
        assert step["token_requests"] == 1  # one per host process
        assert step["peak_rss_kib"] > 0


def test_the_client_overhead_and_emulator_throughput_benchmarks_run_from_the_package(tmp_path: Path) -> None:
    """The two former ``benchmarks/`` scripts, now ``b2c_policy_keys.bench`` modules, in a tiny run each."""
    runs = {
        "client_overhead": ["--calls", "3", "--rounds", "3"],
        "emulator_throughput": ["--seconds", "1", "--threads", "1", "--keysets", "4"],
    }
    expected = {"client_overhead": "ratio (goal <= 1.10)", "emulator_throughput": "RSS at 4 key sets"}
    for module, options in runs.items():
        run = subprocess.run(
            [sys.executable, "-m", f"b2c_policy_keys.bench.{module}", *options],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )
        assert run.returncode == 0, run.stderr
        assert expected[module] in run.stdout
        assert "(0 errors)" in run.stdout or module == "client_overhead"
        assert "emulator-readwrite-secret" not in run.stdout + run.stderr
