"""Every Python block of the README runs: the programs through the engine, the testing example through pytest."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from b2c_policy_keys.testing.fixtures import CREDENTIAL_PREFIXES, B2CEmulator, EngineFactory
from b2c_policy_keys.testing.host import graph_client
from key_kinds.material import PFX_PASSWORD, Material
from support.pki import self_signed, shared_rsa_key
from support.programs import root_program

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
TEST_FILES = [b for b in BLOCKS if b.startswith('"""tests/')]
PROGRAMS = [b for b in BLOCKS if b not in TEST_FILES]


def test_the_readme_has_programs_and_a_testing_example() -> None:
    assert len(PROGRAMS) >= 6 and len(TEST_FILES) == 1


@pytest.mark.parametrize("index", range(len(PROGRAMS)))
def test_readme_program_runs_through_the_engine(
    index: int, b2c_engine: EngineFactory, b2c_emulator: B2CEmulator, tmp_path: Path
) -> None:
    source = PROGRAMS[index]
    root = root_program(tmp_path / "infra", source)
    # What the README's programs read: files beside them and secrets in the stack config.
    now, key = datetime.now(tz=UTC), shared_rsa_key()
    valid = {"not_before": now - timedelta(days=1), "not_after": now + timedelta(days=200)}
    material = Material(self_signed(key, subject="readme", **valid), key)
    (root / "saml.cer").write_bytes(material.der)
    (root / "client.pfx").write_bytes(base64.b64decode(material.pfx()))
    graph = graph_client(b2c_emulator.emulator)
    if "get_active_key" in source:  # the lookups read sets that exist already
        signing = graph.create_keyset("TokenSigningKeyContainer").id
        graph.generate_key(signing, use="sig", kty="RSA")
        graph.create_keyset("FacebookSecret")
    engine = b2c_engine(root, "dev")
    engine.set_config("app:facebookSecret", "readme-facebook-secret", secret=True)
    engine.set_config("app:pfxPassword", PFX_PASSWORD, secret=True)
    result = engine.up()
    assert "readme-facebook-secret" not in result.text and PFX_PASSWORD not in result.text
    dynamic = [r for r in engine.checkpoint.live() if "dynamic" in r.type]
    if "get_active_key" in source:
        assert engine.checkpoint.outputs["signing_kid"] and engine.checkpoint.outputs["facebook_keys"] == 0
    else:
        assert dynamic and all(r.id for r in dynamic)


def test_the_readme_testing_example_passes_under_the_plugin(tmp_path: Path) -> None:
    """The README's user test, in a user's repo: the README's complete program beside it, run by pytest ``-p``."""
    root = root_program(tmp_path / "infra", PROGRAMS[0])
    (root / "Pulumi.dev.yaml").write_text("config: {}\n")
    (root / "tests").mkdir()
    (root / "tests" / "test_program.py").write_text(TEST_FILES[0])
    environ = {k: v for k, v in os.environ.items() if not k.startswith(CREDENTIAL_PREFIXES)}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "b2c_policy_keys.testing", "-p", "no:cacheprovider", "tests"],
        cwd=root,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout
