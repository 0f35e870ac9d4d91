"""The project reader: Pulumi.yaml and stack files read with the CLI's rules (pure logic, files in a temp dir)."""

from __future__ import annotations

from pathlib import Path

import pytest

from b2c_policy_keys.testing.passphrase import Crypter
from b2c_policy_keys.testing.project import ProjectError, load_project, load_stack_config

ROOT = Path(__file__).resolve().parents[2]
SECRET = "stack-secret-value-9f41"


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_the_repo_project_is_a_root_program_with_its_stacks_in_stacks() -> None:
    project = load_project(ROOT)
    assert (project.name, project.runtime) == ("b2c-policy-keys", "python")
    assert project.program_dir == ROOT
    assert project.main == ROOT / "__main__.py"
    assert project.runtime_options == {"toolchain": "pip", "virtualenv": ".venv"}
    assert project.stack_config_dir == ROOT / "stacks"
    assert project.config_defaults == {"b2c-policy-keys:adoptExisting": False, "b2c-policy-keys:protectKeySets": False}
    prod = load_stack_config(project, "prod", None)
    assert prod["b2c-policy-keys:protectKeySets"] == ("true", False)
    assert prod["b2c-policy-keys:adoptExisting"] == ("false", False)  # the project default, as Go prints it


@pytest.mark.parametrize(
    ("main", "program_dir", "entry"),
    [(None, ".", "__main__.py"), ("src/", "src", "src/__main__.py"), ("src/app.py", "src", "src/app.py")],
)
def test_main_gives_the_program_directory_as_getpwdmain_does(
    tmp_path: Path, main: str | None, program_dir: str, entry: str
) -> None:
    write(tmp_path, "src/app.py", "")
    write(tmp_path, "Pulumi.yaml", "name: p\nruntime: python\n" + (f"main: {main}\n" if main else ""))
    project = load_project(tmp_path)
    assert project.program_dir == (tmp_path / program_dir).resolve()
    assert project.main == (tmp_path / entry).resolve()
    assert project.runtime_options == {}
    assert project.stack_config_dir == tmp_path.resolve()


def test_a_main_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "Pulumi.yaml", "name: p\nruntime: python\nmain: nowhere/\n")
    with pytest.raises(ProjectError, match="project 'main' could not be read"):
        load_project(tmp_path)


def test_config_namespace_rules(tmp_path: Path) -> None:
    write(tmp_path, "Pulumi.yaml", "name: p\nruntime: python\nconfig:\n  size: 3\n  aws:region: eu-west-1\n")
    project = load_project(tmp_path)
    assert project.config_defaults == {"p:size": 3, "aws:region": "eu-west-1"}
    write(tmp_path, "Pulumi.yaml", "name: p\nruntime: python\nconfig:\n  b2c:tenantId:\n    type: string\n")
    with pytest.raises(ProjectError, match="is not namespaced by the project and should not define a type"):
        load_project(tmp_path)
    write(tmp_path, "Pulumi.yaml", "name: p\nruntime: python\nconfig:\n  b2c:tenantId:\n    default: x\n")
    with pytest.raises(ProjectError, match="Did you mean to use the 'value' attribute"):
        load_project(tmp_path)


def test_stack_config_is_namespaced_decrypted_checked_and_defaulted(tmp_path: Path) -> None:
    crypter = Crypter("the-passphrase")
    write(
        tmp_path,
        "Pulumi.yaml",
        "name: p\nruntime: python\nconfig:\n"
        "  count:\n    type: integer\n    default: 2\n"
        "  token:\n    type: string\n    secret: true\n"
        "  flag:\n    type: boolean\n    default: false\n",
    )
    write(
        tmp_path,
        "Pulumi.dev.yaml",
        f"encryptionsalt: {crypter.encryptionsalt}\nconfig:\n  token:\n    secure: {crypter.encrypt(SECRET)}\n"
        "  b2c:tenantId: t\n  p:tags: [a, b]\n",
    )
    project = load_project(tmp_path)
    config = load_stack_config(project, "dev", "the-passphrase")
    assert config == {
        "p:token": (SECRET, True),
        "b2c:tenantId": ("t", False),
        "p:tags": ('["a","b"]', False),
        "p:count": ("2", False),
        "p:flag": ("false", False),
    }
    with pytest.raises(ProjectError, match="incorrect passphrase") as wrong:
        load_stack_config(project, "dev", "not-it")
    with pytest.raises(ProjectError, match="PULUMI_CONFIG_PASSPHRASE") as none:
        load_stack_config(project, "dev", None)
    assert SECRET not in str(wrong.value) + str(none.value)


def test_stack_values_are_checked_against_the_project_schema(tmp_path: Path) -> None:
    write(
        tmp_path,
        "Pulumi.yaml",
        "name: p\nruntime: python\nconfig:\n  a:\n    type: string\n  b:\n    type: string\n"
        "  c:\n    type: integer\n    default: 1\n  s:\n    type: string\n    secret: true\n    default: d\n",
    )
    project = load_project(tmp_path)
    with pytest.raises(ProjectError, match=r"^Stack 'dev' is missing configuration values 'a' and 'b'$"):
        load_stack_config(project, "dev", None)
    write(tmp_path, "Pulumi.dev.yaml", "config:\n  p:a: x\n  b: y\n  c: three\n")
    with pytest.raises(ProjectError, match=r"^Stack 'dev' with configuration key 'c' must be of type 'integer'$"):
        load_stack_config(project, "dev", None)
    write(tmp_path, "Pulumi.dev.yaml", f"config:\n  p:a: x\n  b: y\n  s: {SECRET}\n")
    with pytest.raises(ProjectError, match=r"^Stack 'dev' with configuration key 's' must be encrypted") as clear:
        load_stack_config(project, "dev", None)
    assert SECRET not in str(clear.value)
