"""Interim stand-ins for ``testing.project`` and ``testing.launcher`` (owned by the ``layout`` work), same signatures.

The engine imports those modules when they exist and falls back to these minimal versions until then; delete this
file once both have landed. Rules, with their sources:
- Pulumi.yaml ``main`` (a directory: the program is its ``__main__.py``), ``stackConfigDir``, ``runtime.options``,
  project ``config`` defaults namespaced by the project (``sdk/go/common/workspace/project.go``).
- Stack files' ``secure:`` values: the passphrase secrets manager (``pkg/secrets/passphrase``): PBKDF2-HMAC-SHA256,
  1,000,000 rounds, AES-256-GCM ``v1:<nonce>:<sealed>``; ``encryptionsalt`` seals the text ``pulumi``.
- The provider host: ``pulumi-resource-pulumi-python`` run with cwd = program directory and a relative
  ``virtualenv`` made absolute against that cwd; exit 1 when ``<venv>/bin/python`` is missing
  (``sdk/python/dist/pulumi-resource-pulumi-python``).
"""

from __future__ import annotations

import base64
import hashlib
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # pyyaml ships no stubs; it comes with pulumi


@dataclass
class Project:
    root: Path
    name: str
    program_dir: Path
    main: Path
    runtime_options: dict[str, Any]
    stack_config_dir: Path
    config_defaults: dict[str, Any]


def load_project(root: Path) -> Project:
    doc: dict[str, Any] = yaml.safe_load((root / "Pulumi.yaml").read_text(encoding="utf-8")) or {}
    name = str(doc["name"])
    main = root / str(doc.get("main") or ".")
    program_dir = main if main.is_dir() else main.parent
    runtime = doc.get("runtime")
    options = dict(runtime.get("options") or {}) if isinstance(runtime, dict) else {}
    defaults: dict[str, Any] = {}
    for key, spec in (doc.get("config") or {}).items():
        value = spec.get("default") if isinstance(spec, dict) else spec
        if value is not None:
            defaults[key if ":" in key else f"{name}:{key}"] = value
    return Project(
        root=root,
        name=name,
        program_dir=program_dir,
        main=main / "__main__.py" if main.is_dir() else main,
        runtime_options=options,
        stack_config_dir=root / str(doc.get("stackConfigDir") or "."),
        config_defaults=defaults,
    )


class _Crypter:
    def __init__(self, passphrase: str, encryptionsalt: str) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        _, salt, check = encryptionsalt.split(":", 2)
        key = hashlib.pbkdf2_hmac("sha256", passphrase.encode(), base64.b64decode(salt), 1_000_000, 32)
        self._aead = AESGCM(key)
        if self.decrypt(check) != "pulumi":
            raise ValueError("incorrect passphrase")

    def decrypt(self, ciphertext: str) -> str:
        _, nonce, sealed = ciphertext.split(":")
        return self._aead.decrypt(base64.b64decode(nonce), base64.b64decode(sealed), None).decode()


def load_stack_config(project: Project, stack: str, passphrase: str | None) -> dict[str, tuple[str, bool]]:
    path = project.stack_config_dir / f"Pulumi.{stack}.yaml"
    doc: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
    doc = doc or {}
    out: dict[str, tuple[str, bool]] = {}
    crypter: _Crypter | None = None
    for key, value in (doc.get("config") or {}).items():
        full = key if ":" in key else f"{project.name}:{key}"
        if isinstance(value, dict) and set(value) == {"secure"}:
            if passphrase is None:
                raise ValueError(f"{path.name}: {full} is a secret: set PULUMI_CONFIG_PASSPHRASE (passphrase=...)")
            crypter = crypter or _Crypter(passphrase, str(doc["encryptionsalt"]))
            out[full] = (crypter.decrypt(value["secure"]), True)
        else:
            out[full] = (value if isinstance(value, str) else yaml.safe_dump(value).strip(), False)
    return out


def provider_host_command(
    program_dir: Path, runtime_options: Mapping[str, Any], environ: Mapping[str, str]
) -> tuple[list[str], dict[str, str]]:
    env = dict(environ)
    for key, value in runtime_options.items():
        env[f"PULUMI_RUNTIME_{key.upper()}"] = str(value)
    python = sys.executable
    venv = env.get("PULUMI_RUNTIME_VIRTUALENV")
    if venv:
        absolute = venv if os.path.isabs(venv) else os.path.join(str(program_dir), venv)
        python = os.path.join(absolute, "bin", "python")
        if not os.path.exists(python):
            message = (
                f'The \'virtualenv\' option in Pulumi.yaml is set to "{absolute}", but "{absolute}" doesn\'t exist; '
                "run 'pulumi install' to create the virtual environment."
            )
            return [sys.executable, "-c", f"import sys; print({message!r}, file=sys.stderr); sys.exit(1)"], env
    return [python, "-u", "-m", "pulumi.dynamic"], env
