"""Pulumi.yaml and the stack files, held to the rules the Pulumi CLI applies when it loads them.

No CLI can run here, so the rules are restated from its source (``sdk/go/common/workspace``): a key outside the
project's namespace may carry only ``value`` (no ``type``, no ``default``); a declared project key a stack leaves
unset, with no default, stops every command before the program runs; a ``secret: true`` key must be encrypted.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from b2c_policy_keys.declaration import PLACEHOLDER_MARK, load_declaration_file, parse_declaration

ROOT = Path(__file__).resolve().parents[2]
STACKS = ROOT / "stacks"
PROJECT = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
TEMPLATES = ("dev", "test", "prod")


def stack_file(stack: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((STACKS / f"Pulumi.{stack}.yaml").read_text())
    return document


def test_project_layout() -> None:
    assert PROJECT["name"] == "b2c-policy-keys"
    assert PROJECT["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": ".venv"}}
    # No `main`: the program directory is the root, where the language host and the provider host's launcher
    # both resolve `virtualenv` (pulumi/pulumi#7061); stack files stay in stacks/.
    assert "main" not in PROJECT
    assert PROJECT["stackConfigDir"] == "stacks"
    assert (ROOT / "__main__.py").is_file()
    assert not (STACKS / "__main__.py").exists()


def test_the_root_program_directory_holds_no_other_python_the_program_could_import() -> None:
    """The language host puts the program directory first on ``sys.path`` (``runpy.run_path``): only __main__.py.

    ``provider/`` and ``tests/`` are not packages (no ``__init__.py``), so no program import can resolve into them;
    the package comes from the virtualenv.
    """
    modules = sorted(p.name for p in ROOT.glob("*.py"))
    packages = sorted(p.parent.name for p in ROOT.glob("*/__init__.py"))
    assert modules == ["__main__.py"]
    assert packages == []


def test_requirements_install_this_package_and_the_sdk_range_has_every_feature_used() -> None:
    lines = [line.strip() for line in (ROOT / "requirements.txt").read_text().splitlines()]
    assert [line for line in lines if line and not line.startswith("#")] == ["-e ."]
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    # ReadResult.inputs needs 3.216 (refresh), the newest of the SDK features the package uses.
    assert "pulumi>=3.216,<4" in pyproject["project"]["dependencies"]


def test_declared_config_follows_pulumis_rules() -> None:
    for key, spec in PROJECT["config"].items():
        if ":" in key and not key.startswith(f"{PROJECT['name']}:"):
            assert set(spec) <= {"value", "description"}, f"{key}: Pulumi refuses a type or default here"
            continue
        assert spec["type"] in ("string", "integer", "boolean", "array", "object"), key
        assert spec.get("description"), key
        # Required keys with no default would stop `pulumi preview` before the program's own, better message.
        assert "default" in spec or "value" in spec, key


@pytest.mark.parametrize("stack", ["local", *TEMPLATES])
def test_stack_files_set_declared_keys_with_their_type(stack: str) -> None:
    config = stack_file(stack)["config"]
    for key, spec in PROJECT["config"].items():
        value = config.get(f"{PROJECT['name']}:{key}")
        if value is not None and spec["type"] == "boolean":
            assert str(value).lower() in ("true", "false"), (stack, key)


@pytest.mark.parametrize("stack", TEMPLATES)
def test_templates_hold_only_placeholders_and_no_secret(stack: str) -> None:
    document = stack_file(stack)
    config = document["config"]
    assert "encryptionsalt" not in document  # each real stack gets its own from its secrets provider
    assert config["b2c:tenantId"] == f"{PLACEHOLDER_MARK}{stack.upper()}-TENANT-ID"
    assert config["b2c:clientId"] == f"{PLACEHOLDER_MARK}{stack.upper()}-CLIENT-ID"
    assert not any(isinstance(v, dict) for v in config.values())  # no encrypted value to copy between stacks
    assert "b2c:clientSecret" not in config
    text = (STACKS / f"Pulumi.{stack}.yaml").read_text()
    declaration, problems = parse_declaration(load_declaration_file(STACKS / "keysets.yaml"))
    assert problems == []
    for key in declaration.config_keys():  # every per-stack value the declaration needs is explained in the file
        assert f"pulumi config set --secret {key} " in text


def test_prod_protects_its_key_sets() -> None:
    assert stack_file("prod")["config"]["b2c-policy-keys:protectKeySets"] == "true"
    assert "b2c-policy-keys:protectKeySets" not in stack_file("dev")["config"]


def test_local_state_and_emulator_data_are_ignored_by_git() -> None:
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert ".local/" in ignored and ".venv/" in ignored


def test_the_readme_example_of_adding_key_sets_is_a_valid_declaration() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### Add a key set") :]
    block = section[section.index("```yaml") + len("```yaml") : section.index("```", section.index("```yaml") + 7)]
    entries = yaml.safe_load(block)
    declaration, problems = parse_declaration({"keySets": entries}, now=1_800_000_000)
    assert problems == []
    assert [k.kind for k in declaration.keysets] == ["generated", "secret", "certificate"]
