"""A fresh clone's virtualenv, built the way ``pulumi install`` builds it, runs the program's imports and the host.

``pulumi install`` with the pip toolchain (``sdk/python/toolchain/pip.go``, ``InstallDependencies``): ``python -m
venv <virtualenv>``, then ``python -m pip install -r requirements.txt`` with the program directory as cwd. The
package index is this machine's pip configuration (no network needed beyond it); about 30 s, hence ``slow`` (it
still runs in bin/test).
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from b2c_policy_keys.testing.launcher import provider_host_command
from b2c_policy_keys.testing.project import load_project

ROOT = Path(__file__).resolve().parents[2]
#: What a clone holds that the program and its install need (tests, docs and tooling are not needed).
CLONE = ("Pulumi.yaml", "__main__.py", "requirements.txt", "pyproject.toml", "README.md", "provider", "stacks")


def program_imports(program: Path) -> list[str]:
    tree = ast.parse(program.read_text())
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    names |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    return sorted(names)


@pytest.mark.slow
def test_pulumi_install_builds_a_venv_that_imports_the_program_and_starts_the_host(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    clone.mkdir()
    ignore = shutil.ignore_patterns("*.egg-info", "__pycache__", ".venv")
    for name in CLONE:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, clone / name, ignore=ignore)
        else:
            shutil.copy2(source, clone / name)
    project = load_project(clone)
    venv = project.program_dir / project.runtime_options["virtualenv"]
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}

    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=env, timeout=120)
    installed = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "-r", "requirements.txt"],
        cwd=project.program_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]

    imports = program_imports(project.main)
    assert "b2c_policy_keys.program" in imports and "pulumi" in imports
    statement = "; ".join(f"import {name}" for name in ["b2c_policy_keys", "pulumi", "pulumi.dynamic", *imports])
    check = subprocess.run(
        [str(venv / "bin" / "python"), "-c", f"{statement}; import b2c_policy_keys; print(b2c_policy_keys.__file__)"],
        cwd=tmp_path,  # not the clone: the package must come from the venv, not from the working directory
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert check.returncode == 0, check.stderr
    # Editable: the venv runs the clone's own code (requirements.txt says why).
    assert Path(check.stdout.strip()).resolve() == (clone / "provider" / "b2c_policy_keys" / "__init__.py").resolve()

    # And the launcher the engine runs, from the program directory, finds that venv and starts the host.
    argv, host_env = provider_host_command(project.program_dir, project.runtime_options, env)
    assert argv[0] == f"{os.path.realpath(venv)}/bin/python"
    host = subprocess.Popen(argv, cwd=project.program_dir, env=host_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert host.stdout is not None
        assert host.stdout.readline().decode().strip().isdigit()
    finally:
        host.kill()
        host.wait(timeout=30)
