"""How the Pulumi engine starts a Python dynamic-provider host: the rules of ``pulumi-resource-pulumi-python``.

The engine never runs ``python -m pulumi.dynamic`` itself. ``NewProvider`` (``pkg/resource/plugin/provider_plugin.go``)
turns every ``runtime.options`` key of Pulumi.yaml into ``PULUMI_RUNTIME_<KEY>`` and starts the launcher script
(``sdk/python/dist/pulumi-resource-pulumi-python``) with the program directory as its working directory
(``ctx.Pwd``, from ``getPwdMain`` in ``pkg/engine/project.go``). The script resolves the virtualenv against that
directory, which is why a ``main`` elsewhere than the root breaks dynamic providers (pulumi/pulumi#7061).
``provider_host_command`` follows the script line by line; ``tests/infra/test_launcher.py`` runs the real script
text beside it and compares.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

#: The launcher's exit status when the virtualenv has no ``bin/python``.
MISSING_VIRTUALENV_EXIT_STATUS = 1


class VirtualenvNotFound(Exception):
    """What the launcher does when ``<venv>/bin/python`` is missing: ``stderr`` is its text, exit status 1."""

    exit_status = MISSING_VIRTUALENV_EXIT_STATUS

    def __init__(self, stderr: str) -> None:
        super().__init__(stderr.rstrip("\n"))
        self.stderr = stderr


def runtime_environment(
    runtime_options: Mapping[str, Any],
    environ: Mapping[str, str],
    *,
    project: str | None = None,
    config_json: str | None = None,
) -> dict[str, str]:
    """``environ`` plus what ``NewProvider`` adds; Pulumi.yaml's values win over the same names in ``environ``.

    ``ExecPlugin`` (``pkg/resource/plugin/plugin.go``) appends these after ``os.Environ()``, and Go's ``exec`` keeps
    the last value of a duplicated name.
    """
    env = dict(environ)
    for key, value in runtime_options.items():
        env["PULUMI_RUNTIME_" + str(key).upper()] = go_format(value)  # fmt.Sprintf("%v", v)
    if project:
        env["PULUMI_PROJECT"] = project
    if config_json is not None:
        env["PULUMI_CONFIG"] = config_json
    return env


def provider_host_command(
    program_dir: Path,
    runtime_options: Mapping[str, Any],
    environ: Mapping[str, str],
    *,
    args: Sequence[str] = (),
    project: str | None = None,
    config_json: str | None = None,
) -> tuple[list[str], dict[str, str]]:
    """argv and environment the engine would run for the dynamic-provider host (cwd = program_dir).

    ``args`` are the launcher's arguments (the engine passes its address). Where the script prints its error and
    exits 1 (no ``<venv>/bin/python``), the command returned does exactly that, so a driver sees what the engine
    sees: a host that exits 1 with that text before printing its port. ``resolve_provider_host`` raises instead.
    """
    try:
        return resolve_provider_host(
            program_dir, runtime_options, environ, args=args, project=project, config_json=config_json
        )
    except VirtualenvNotFound as missing:
        failing = ["/bin/sh", "-c", 'printf "%s" "$1" >&2; exit 1', "pulumi-resource-pulumi-python", missing.stderr]
        return failing, runtime_environment(runtime_options, environ, project=project, config_json=config_json)


def resolve_provider_host(
    program_dir: Path,
    runtime_options: Mapping[str, Any],
    environ: Mapping[str, str],
    *,
    args: Sequence[str] = (),
    project: str | None = None,
    config_json: str | None = None,
) -> tuple[list[str], dict[str, str]]:
    """``provider_host_command``, raising ``VirtualenvNotFound`` (the launcher's text, exit status 1) where the
    script fails."""
    env = runtime_environment(runtime_options, environ, project=project, config_json=config_json)
    pwd = _shell_pwd(program_dir, env)
    # $@ is unquoted in the script: each argument is split on whitespace.
    split_args = [word for arg in args for word in arg.split()]

    # if [ -z "${PULUMI_RUNTIME_VIRTUALENV:-}" ]: uv means .venv, poetry asks poetry.
    # A shell assignment reaches the host only if the name came in the environment (then it is exported).
    exported = "PULUMI_RUNTIME_VIRTUALENV" in env
    virtualenv = env.get("PULUMI_RUNTIME_VIRTUALENV", "")
    if not virtualenv:
        toolchain = env.get("PULUMI_RUNTIME_TOOLCHAIN", "")
        if toolchain == "uv":
            virtualenv = ".venv"
        elif toolchain == "poetry":
            virtualenv = _poetry_env_path(program_dir, env)

    if not virtualenv:
        # "${PULUMI_PYTHON_CMD:-python3}" -u -m pulumi.dynamic $@
        return [env.get("PULUMI_PYTHON_CMD") or "python3", "-u", "-m", "pulumi.dynamic", *split_args], env

    # ${PULUMI_RUNTIME_VIRTUALENV%/}: one trailing slash removed.
    virtualenv = virtualenv.removesuffix("/")
    # case ... /*) ;; *) $PWD/...: relative to the launcher's working directory, the program directory.
    if not virtualenv.startswith("/"):
        virtualenv = f"{pwd}/{virtualenv}"
    if exported:
        env["PULUMI_RUNTIME_VIRTUALENV"] = virtualenv
    python = f"{virtualenv}/bin/python"
    if os.path.isfile(python):  # [ -f "$V/bin/python" ]
        env["PATH"] = f"{virtualenv}/bin:{env.get('PATH', '')}"
        if env.get("PYTHONHOME"):  # if [ -n "${PYTHONHOME:-}" ]; then unset PYTHONHOME
            del env["PYTHONHOME"]
        return [python, "-u", "-m", "pulumi.dynamic", *split_args], env
    raise VirtualenvNotFound(missing_virtualenv_message(virtualenv, pwd))


def missing_virtualenv_message(virtualenv: str, pwd: str) -> str:
    """The launcher's six stderr lines when ``virtualenv`` has no ``bin/python`` (a directory or nothing)."""
    first = "doesn't appear to be a virtual environment." if os.path.isdir(virtualenv) else "doesn't exist."
    lines = [
        f'The \'virtualenv\' option in Pulumi.yaml is set to "{virtualenv}", but "{virtualenv}" {first}',
        "Run the following commands to create the virtual environment and install dependencies into it:",
        f"    1. python3 -m venv {virtualenv}",
        f"    2. {virtualenv}/bin/python -m pip install --upgrade pip setuptools wheel",
        f"    3. {virtualenv}/bin/python -m pip install -r {pwd}/requirements.txt",
        "For more information see: https://www.pulumi.com/docs/intro/languages/python/#virtual-environments",
    ]
    return "".join(line + "\n" for line in lines)


def go_format(value: Any) -> str:
    """``fmt.Sprintf("%v", v)`` of a value decoded from YAML: how a runtime option reaches the environment."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, list):
        return "[" + " ".join(go_format(v) for v in value) + "]"
    if isinstance(value, dict):  # fmt prints maps sorted by key
        return "map[" + " ".join(f"{go_format(k)}:{go_format(value[k])}" for k in sorted(value, key=str)) + "]"
    return str(value)


def _go_float(value: float) -> str:
    """``%v`` of a float64: shortest digits, exponent form when the exponent is < -4 or >= 6

    (``strconv.FormatFloat(v, 'g', -1, 64)``: "if precision was the shortest possible, use precision 6").."""
    if value != value or value in (float("inf"), float("-inf")):
        return {"nan": "NaN", "inf": "+Inf", "-inf": "-Inf"}[repr(value)]
    if value == 0:
        return "0"
    sign, digits, exponent = _shortest(value)
    decimal_point = len(digits) + exponent
    exp = decimal_point - 1
    if exp < -4 or exp >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if decimal_point <= 0:
        return f"{sign}0.{'0' * -decimal_point}{digits}"
    if decimal_point >= len(digits):
        return f"{sign}{digits}{'0' * (decimal_point - len(digits))}"
    return f"{sign}{digits[:decimal_point]}.{digits[decimal_point:]}"


def _shortest(value: float) -> tuple[str, str, int]:
    """Sign, shortest round-trip significant digits and their exponent (Python's repr uses the same digits)."""
    from decimal import Decimal

    sign_bit, digit_tuple, exponent = Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exponent, int)
    return ("-" if sign_bit else ""), "".join(map(str, digit_tuple)), exponent


def _shell_pwd(program_dir: Path, env: Mapping[str, str]) -> str:
    """``$PWD`` in a ``sh`` started in ``program_dir``: the inherited PWD if it names that directory, else getcwd()."""
    inherited = env.get("PWD", "")
    if inherited.startswith("/"):
        try:
            if os.path.samefile(inherited, program_dir):
                return inherited
        except OSError:
            pass
    return os.path.realpath(program_dir)


def _poetry_env_path(program_dir: Path, env: Mapping[str, str]) -> str:
    """``$(poetry env info --path)``: its stdout without trailing newlines; empty when poetry is not there."""
    try:
        found = subprocess.run(
            ["poetry", "env", "info", "--path"],
            cwd=program_dir,
            env=dict(env),
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return ""
    return found.stdout.rstrip("\n")
