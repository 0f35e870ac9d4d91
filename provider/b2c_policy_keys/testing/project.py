"""Pulumi.yaml and a stack file, read as the Pulumi CLI reads them, for an engine stand-in that has no CLI.

Each rule names the Pulumi function it follows (``pulumi/pulumi``: ``pkg/engine/project.go``,
``sdk/go/common/workspace/{project,loaders}.go``, ``pkg/workspace/config.go``). Config comes back as the language
host hands it to a program: every value a plain string (objects and arrays as JSON), with its secret mark.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # pyyaml ships no stubs; it comes with pulumi

from b2c_policy_keys.testing.passphrase import Crypter, PassphraseError


class ProjectError(ValueError):
    """Pulumi.yaml or a stack file the CLI would refuse; the message is the CLI's where it has one."""


@dataclass(frozen=True)
class Project:
    """What the engine takes from Pulumi.yaml: where the program is and how to run it, and the config schema."""

    root: Path
    name: str
    #: The program's working directory (``getPwdMain``): the root unless ``main`` names another directory.
    program_dir: Path
    #: The program file: ``__main__.py`` of ``program_dir`` for a directory program (``main`` absent or a folder).
    main: Path
    runtime_options: dict[str, Any]
    stack_config_dir: Path
    #: ``<namespace>:<key>`` -> the default (or ``value``) Pulumi.yaml gives a key the stack leaves unset.
    config_defaults: dict[str, Any]
    runtime: str = "python"
    #: ``<namespace>:<key>`` -> its declared schema (``type``, ``secret``, ...), for the CLI's stack checks.
    config_schema: dict[str, dict[str, Any]] = field(default_factory=dict)

    def stack_file(self, stack: str) -> Path:
        return self.stack_config_dir / f"Pulumi.{stack}.yaml"


def load_project(root: Path) -> Project:
    """``root/Pulumi.yaml`` as the CLI loads it; a layout the CLI refuses raises ``ProjectError`` with its text."""
    root = root.resolve()
    path = root / "Pulumi.yaml"
    document = _yaml_mapping(path)
    name = document.get("name")
    if not name:
        # Project.Validate (sdk/go/common/workspace/project.go)
        raise ProjectError("project is missing a 'name' attribute")
    runtime, options = _runtime(document.get("runtime"))
    program_dir, main = _pwd_main(root, document.get("main"))
    # stackConfigDir is relative to the project root (workspace.DetectProjectStackPath).
    stack_config_dir = root / str(document.get("stackConfigDir") or ".")
    defaults, schema = _config(str(name), document.get("config") or {})
    return Project(
        root=root,
        name=str(name),
        program_dir=program_dir,
        main=main,
        runtime_options=options,
        stack_config_dir=stack_config_dir,
        config_defaults=defaults,
        runtime=runtime,
        config_schema=schema,
    )


def load_stack_config(project: Project, stack: str, passphrase: str | None) -> dict[str, tuple[str, bool]]:
    """The stack's config as the program sees it: ``"ns:key" -> (plain value, is_secret)``, project defaults applied.

    Checked as ``ValidateStackConfigAndApplyProjectConfig`` checks it (``pkg/workspace/config.go``): a required
    project key left unset, a ``secret: true`` key in clear, or a value of the wrong type raise ``ProjectError``.
    """
    path = project.stack_file(stack)
    # A stack with no file yet has an empty config (workspace.LoadProjectStack on a missing file).
    document = _yaml_mapping(path) if path.exists() else {}
    crypter: Crypter | None = None
    merged: dict[str, tuple[str, bool]] = {}
    for raw_key, value in (document.get("config") or {}).items():
        key = _namespaced(project.name, str(raw_key))  # stackConfigNamespacedWithProject (loaders.go)
        if isinstance(value, dict) and set(value) == {"secure"}:
            crypter = crypter or _crypter(document, path, passphrase)
            try:
                merged[key] = (crypter.decrypt(str(value["secure"])), True)
            except PassphraseError as error:
                raise ProjectError(f"{path.name}: {key}: {error}") from None
        else:
            merged[key] = (_plain(value), False)
    _validate(project, stack, merged)
    for key, default in project.config_defaults.items():
        # mergeConfig: a key the stack does not set takes the project's value or default.
        merged.setdefault(key, (_plain(default), False))
    return merged


# --- Pulumi.yaml ---------------------------------------------------------------------------------------------------


def _yaml_mapping(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProjectError(f"no Pulumi project found: {path} does not exist") from None
    except yaml.YAMLError as error:
        raise ProjectError(f"{path}: not valid YAML: {error}") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ProjectError(f"{path}: expected a mapping at the top level")
    return document


def _runtime(raw: Any) -> tuple[str, dict[str, Any]]:
    """``runtime: python`` or ``runtime: {name: python, options: {...}}`` (ProjectRuntimeInfo.UnmarshalYAML)."""
    if isinstance(raw, str):
        return raw, {}
    if isinstance(raw, dict) and isinstance(raw.get("name"), str):
        return raw["name"], dict(raw.get("options") or {})
    raise ProjectError("project is missing a 'runtime' attribute (a name, or a mapping with 'name' and 'options')")


def _pwd_main(root: Path, main: Any) -> tuple[Path, Path]:
    """The program's working directory and entry point, as ``getPwdMain`` (pkg/engine/project.go) computes them."""
    if not main:
        return root, root / "__main__.py"
    target = Path(str(main))
    target = Path(os.path.normpath(root / target)) if not target.is_absolute() else target
    if not target.exists():
        raise ProjectError(f"project 'main' could not be read: stat {target}: no such file or directory")
    if target.is_dir():
        return target, target / "__main__.py"
    return target.parent, target


def _namespaced(project: str, key: str) -> str:
    return key if ":" in key else f"{project}:{key}"


def _config(project: str, raw: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Defaults and schema of Pulumi.yaml's ``config`` block, with the rules of ``Project.Validate``."""
    defaults: dict[str, Any] = {}
    schema: dict[str, dict[str, Any]] = {}
    for raw_key, spec in raw.items():
        key = str(raw_key)
        in_project = ":" not in key or key.startswith(f"{project}:")  # configKeyIsNamespacedByProject
        if not isinstance(spec, dict):
            # A bare value is a default inside the project's namespace, a value outside it
            # (RewriteShorthandConfigValues, sdk/go/common/workspace/project.go).
            spec = {"default": spec} if in_project else {"value": spec}
        if "default" in spec and "value" in spec:
            raise ProjectError(f"project config '{key}' cannot have both a 'default' and 'value' attribute")
        if not in_project and "type" in spec:
            raise ProjectError(
                f"Configuration key '{key}' is not namespaced by the project and should not define a type"
            )
        if not in_project and "default" in spec:
            raise ProjectError(
                f"Configuration key '{key}' is not namespaced by the project and should not define a default value. "
                "Did you mean to use the 'value' attribute instead of 'default'?"
            )
        full = _namespaced(project, key)
        schema[full] = dict(spec)
        # mergeConfig: `default` wins over `value` (both cannot be set, see above).
        for attribute in ("value", "default"):
            if spec.get(attribute) is not None:
                defaults[full] = spec[attribute]
    return defaults, schema


# --- the stack file ------------------------------------------------------------------------------------------------


def _crypter(document: Mapping[str, Any], path: Path, passphrase: str | None) -> Crypter:
    provider = document.get("secretsprovider")
    if provider not in (None, "passphrase"):
        raise ProjectError(f"{path.name}: secrets provider '{provider}' cannot be read here; only 'passphrase' can")
    if passphrase is None:
        # The CLI's own wording (pkg/secrets/passphrase): where the passphrase comes from.
        raise ProjectError(
            f"{path.name} holds encrypted values: passphrase must be set with PULUMI_CONFIG_PASSPHRASE or "
            "PULUMI_CONFIG_PASSPHRASE_FILE environment variables"
        )
    salt = document.get("encryptionsalt")
    if not isinstance(salt, str):
        raise ProjectError(f"{path.name} holds encrypted values but no encryptionsalt")
    try:
        return Crypter(passphrase, salt)
    except PassphraseError as error:
        raise ProjectError(f"{path.name}: {error}") from None


def _plain(value: Any) -> str:
    """A config value as the program reads it: primitives as Go's ``%v`` prints them, the rest as JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"))


def _validate(project: Project, stack: str, config: Mapping[str, tuple[str, bool]]) -> None:
    """``mergeConfig`` and ``validateStackConfigValue`` (pkg/workspace/config.go), in their order and wording."""
    prefix = f"{project.name}:"
    # The keys as Pulumi.yaml spells them (the CLI's message): required, in the project's namespace, unset.
    missing = sorted(
        full.removeprefix(prefix)
        for full in project.config_schema
        if full.startswith(prefix) and full not in config and full not in project.config_defaults
    )
    if missing:
        raise ProjectError(
            f"Stack '{stack}' is missing configuration {'value' if len(missing) == 1 else 'values'} "
            f"{_format_missing(missing)}"
        )
    for full, spec in sorted(project.config_schema.items()):
        if full not in config:
            continue
        value, secret = config[full]
        shown = full.removeprefix(f"{project.name}:")
        if spec.get("secret") and not secret:
            raise ProjectError(f"Stack '{stack}' with configuration key '{shown}' must be encrypted as it's secret")
        kind = spec.get("type")
        if kind and not _matches(str(kind), value):
            raise ProjectError(f"Stack '{stack}' with configuration key '{shown}' must be of type '{kind}'")


def _format_missing(keys: list[str]) -> str:
    """``formatMissingKeys``: 'a', 'b' and 'c'."""
    if len(keys) == 1:
        return f"'{keys[0]}'"
    return ", ".join(f"'{k}'" for k in keys[:-2]) + (", " if len(keys) > 2 else "") + f"'{keys[-2]}' and '{keys[-1]}'"


def _matches(kind: str, value: str) -> bool:
    """``ValidateConfigValue`` for a stack value read as text (project.go)."""
    if kind == "integer":
        try:
            int(value, 10)
        except ValueError:
            return False
        return True
    if kind == "boolean":
        return value in ("true", "false")
    if kind in ("array", "object"):
        try:
            parsed = json.loads(value)
        except ValueError:
            return False
        return isinstance(parsed, list if kind == "array" else dict)
    return True
