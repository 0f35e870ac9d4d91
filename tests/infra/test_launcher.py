"""The launcher rules, held to the real script: ``tests/fixtures/pulumi-resource-pulumi-python`` is Pulumi's own text.

Each case runs that script with ``sh`` (as the engine does: cwd = program directory, ``PULUMI_RUNTIME_*`` in the
environment) and ``b2c_policy_keys.testing.launcher.provider_host_command`` for the same inputs, and compares what
would run: the script's python is a recorder that writes its argv and environment, so nothing is mocked.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from b2c_policy_keys.testing.launcher import (
    VirtualenvNotFound,
    go_format,
    provider_host_command,
    resolve_provider_host,
    runtime_environment,
)
from b2c_policy_keys.testing.project import load_project

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "fixtures" / "pulumi-resource-pulumi-python"
#: Set by the shell itself, not by the launcher's rules.
SHELL_OWN = {"PWD", "OLDPWD", "SHLVL", "_"}
ENGINE_ADDRESS = "127.0.0.1:50051"


def base_environ(tmp_path: Path) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "LANG": "C.UTF-8"}


def recorder(path: Path, record: Path) -> Path:
    """An executable at ``path`` that writes its argv and environment (NUL-separated) to ``record``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'#!/bin/sh\nprintf "%s\\0" "$0" "$@" > "{record}.argv"\nenv -0 > "{record}.env"\n')
    path.chmod(0o755)
    return path


def make_venv(directory: Path, record: Path) -> Path:
    recorder(directory / "bin" / "python", record)
    return directory


def run_script(
    program_dir: Path, options: Mapping[str, Any], environ: Mapping[str, str], record: Path
) -> tuple[int, str, list[str] | None, dict[str, str] | None]:
    """The real launcher: exit status, stderr, and the argv and environment its python was started with."""
    env = runtime_environment(options, environ)
    done = subprocess.run(
        ["sh", str(SCRIPT), ENGINE_ADDRESS], cwd=program_dir, env=env, capture_output=True, text=True, timeout=60
    )
    argv = env_seen = None
    if Path(f"{record}.argv").exists():
        argv = Path(f"{record}.argv").read_text().split("\0")[:-1]
        pairs = Path(f"{record}.env").read_text().split("\0")[:-1]
        env_seen = dict(pair.split("=", 1) for pair in pairs)
    return done.returncode, done.stderr, argv, env_seen


def without_shell_own(env: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k not in SHELL_OWN}


def assert_same_start(program_dir: Path, options: Mapping[str, Any], environ: Mapping[str, str], record: Path) -> str:
    status, stderr, argv, seen = run_script(program_dir, options, environ, record)
    assert (status, stderr) == (0, "")
    expected_argv, expected_env = provider_host_command(program_dir, options, environ, args=[ENGINE_ADDRESS])
    assert argv is not None and seen is not None
    # The recorder's $0 is the program the launcher ran; then the launcher's arguments.
    assert argv == [expected_argv[0], "-u", "-m", "pulumi.dynamic", ENGINE_ADDRESS]
    assert argv == expected_argv
    assert without_shell_own(seen) == without_shell_own(expected_env)
    return expected_argv[0]


@pytest.fixture
def program_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "project"
    directory.mkdir()
    return directory


@pytest.mark.parametrize("spelling", ["venv", "venv/", "ABSOLUTE", "ABSOLUTE/"])
def test_a_found_virtualenv_runs_its_python_with_path_updated(program_dir: Path, tmp_path: Path, spelling: str) -> None:
    record = tmp_path / "record"
    venv = make_venv(program_dir / "venv", record)
    option = spelling.replace("ABSOLUTE", str(venv))
    python = assert_same_start(program_dir, {"toolchain": "pip", "virtualenv": option}, base_environ(tmp_path), record)
    assert python == f"{venv}/bin/python"  # relative to the program directory, one trailing slash dropped


def test_pythonhome_is_unset_for_the_virtualenvs_python(program_dir: Path, tmp_path: Path) -> None:
    record = tmp_path / "record"
    make_venv(program_dir / ".venv", record)
    environ = {**base_environ(tmp_path), "PYTHONHOME": "/somewhere/else"}
    assert_same_start(program_dir, {"virtualenv": ".venv"}, environ, record)
    _, env = provider_host_command(program_dir, {"virtualenv": ".venv"}, environ)
    assert "PYTHONHOME" not in env
    assert env["PATH"].startswith(f"{program_dir}/.venv/bin:")


def test_uv_means_dot_venv_and_poetry_asks_poetry(program_dir: Path, tmp_path: Path) -> None:
    record = tmp_path / "record"
    make_venv(program_dir / ".venv", record)
    assert_same_start(program_dir, {"toolchain": "uv"}, base_environ(tmp_path), record)

    poetry_venv = make_venv(tmp_path / "poetry-venv", record)
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "poetry").write_text(f'#!/bin/sh\necho "{poetry_venv}"\n')
    (tools / "poetry").chmod(0o755)
    environ = {**base_environ(tmp_path), "PATH": f"{tools}:{os.environ.get('PATH', '')}"}
    assert assert_same_start(program_dir, {"toolchain": "poetry"}, environ, record) == f"{poetry_venv}/bin/python"


def test_no_virtualenv_runs_pulumi_python_cmd(program_dir: Path, tmp_path: Path) -> None:
    record = tmp_path / "record"
    command = recorder(tmp_path / "my-python", record)
    environ = {**base_environ(tmp_path), "PULUMI_PYTHON_CMD": str(command)}
    assert assert_same_start(program_dir, {"toolchain": "pip"}, environ, record) == str(command)
    assert provider_host_command(program_dir, {}, base_environ(tmp_path))[0][0] == "python3"


@pytest.mark.parametrize("state", ["missing", "not-a-venv"])
def test_a_virtualenv_without_python_fails_with_the_launchers_text_and_status_1(
    program_dir: Path, tmp_path: Path, state: str
) -> None:
    record = tmp_path / "record"
    if state == "not-a-venv":
        (program_dir / ".venv").mkdir()
    status, stderr, argv, _ = run_script(program_dir, {"virtualenv": ".venv"}, base_environ(tmp_path), record)
    assert argv is None
    with pytest.raises(VirtualenvNotFound) as caught:
        resolve_provider_host(program_dir, {"virtualenv": ".venv"}, base_environ(tmp_path))
    assert (caught.value.exit_status, caught.value.stderr) == (status, stderr)
    assert status == 1
    # provider_host_command hands a driver a command that fails the same way, as the engine would see it.
    argv, env = provider_host_command(program_dir, {"virtualenv": ".venv"}, base_environ(tmp_path))
    failed = subprocess.run(argv, cwd=program_dir, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert (failed.returncode, failed.stdout, failed.stderr) == (1, "", stderr)
    phrase = "doesn't appear to be a virtual environment." if state == "not-a-venv" else "doesn't exist."
    assert stderr.splitlines()[0].endswith(phrase)
    assert f"pip install -r {program_dir}/requirements.txt" in stderr


def test_pulumi_yaml_options_win_over_the_environment_and_are_formatted_like_go() -> None:
    # NewProvider (provider_plugin.go): PULUMI_RUNTIME_<KEY> = fmt.Sprintf("%v", v), appended after os.Environ().
    env = runtime_environment(
        {"virtualenv": ".venv", "typechecker": None, "flag": True, "n": 3, "x": 1e6}, {"PULUMI_RUNTIME_VIRTUALENV": "x"}
    )
    assert env["PULUMI_RUNTIME_VIRTUALENV"] == ".venv"
    assert (env["PULUMI_RUNTIME_FLAG"], env["PULUMI_RUNTIME_N"], env["PULUMI_RUNTIME_X"]) == ("true", "3", "1e+06")
    assert env["PULUMI_RUNTIME_TYPECHECKER"] == "<nil>"
    assert [go_format(v) for v in (1.5, 123456.0, 1234567.0, 0.0001, 0.00001, ["a", 1])] == [
        "1.5",
        "123456",
        "1.234567e+06",
        "0.0001",
        "1e-05",
        "[a 1]",
    ]


# --- this repository's layout ------------------------------------------------------------------------------------


def test_the_repos_layout_starts_the_provider_host_from_the_program_directory(tmp_path: Path) -> None:
    """The real launcher, in the program directory Pulumi.yaml gives, finds .venv and the host prints its port."""
    project = load_project(ROOT)
    assert project.program_dir == ROOT
    if not (ROOT / ".venv" / "bin" / "python").is_file():
        pytest.skip("no .venv at the repository root (bin/test and bin/quickstart create it)")
    env = runtime_environment(project.runtime_options, os.environ)
    argv, _ = provider_host_command(project.program_dir, project.runtime_options, os.environ)
    assert argv == [f"{os.path.realpath(ROOT)}/.venv/bin/python", "-u", "-m", "pulumi.dynamic"]
    host = subprocess.Popen(
        ["sh", str(SCRIPT), ENGINE_ADDRESS],
        cwd=project.program_dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # the script runs python as its child: stop the whole group, as the engine does
    )
    try:
        assert host.stdout is not None
        port = host.stdout.readline().decode().strip()
        assert port.isdigit(), host.stderr.read().decode() if host.stderr else ""
    finally:
        os.killpg(host.pid, signal.SIGKILL)
        host.wait(timeout=30)


def test_the_old_layout_main_stacks_fails_at_the_first_dynamic_resource(tmp_path: Path) -> None:
    """pulumi/pulumi#7061, as it hit this repo: with ``main: stacks/`` the launcher looks for stacks/.venv."""
    old = tmp_path / "old"
    (old / "stacks").mkdir(parents=True)
    make_venv(old / ".venv", tmp_path / "record")  # where the language host (and bin/quickstart) put it
    text = (ROOT / "Pulumi.yaml").read_text().replace("stackConfigDir: stacks", "main: stacks/\nstackConfigDir: stacks")
    (old / "Pulumi.yaml").write_text(text)
    project = load_project(old)
    assert project.program_dir == old / "stacks"
    status, stderr, argv, _ = run_script(
        project.program_dir, project.runtime_options, base_environ(tmp_path), tmp_path / "record"
    )
    assert (status, argv) == (1, None)
    with pytest.raises(VirtualenvNotFound) as caught:
        resolve_provider_host(project.program_dir, project.runtime_options, base_environ(tmp_path))
    assert caught.value.stderr == stderr
    assert f'is set to "{old}/stacks/.venv", but "{old}/stacks/.venv" doesn\'t exist.' in stderr
    shutil.rmtree(old)
