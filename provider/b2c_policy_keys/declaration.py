"""The key set declaration every stack inherits, and its check against one stack's configuration.

An infra repo declares its key sets once (``stacks/keysets.yaml``); each stack (one per B2C tenant) supplies only
what differs per environment: the tenant, the credentials, and the values of secrets, certificates and PFX files.
Promotion is safe only if a stack that lacks one of those values fails before anything is registered, so this
module checks the whole declaration against the stack and reports **every** problem in one error, each with the
command that fixes it. Pure: no Pulumi, no network; the program hands in a view of the stack's configuration.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # pyyaml ships no stubs; it comes with pulumi

from b2c_policy_keys import declared_material
from b2c_policy_keys.errors import ConfigurationError
from b2c_policy_keys.model import (
    KEY_TYPES,
    USES,
    keyset_key,
    keyset_name_problems,
    normalise_keyset_id,
    normalise_kty,
    now_epoch,
    parse_moment,
)

KINDS = ("generated", "secret", "certificate", "pkcs12")

#: Fields each kind accepts; ``name`` and ``kind`` are common to all. Certificates and PFX files carry their own
#: use, type and validity, so the declaration cannot set them.
_FIELDS: dict[str, frozenset[str]] = {
    "generated": frozenset({"kty", "use", "notBefore", "expiresAt", "version"}),
    "secret": frozenset({"use", "valueFrom", "notBefore", "expiresAt", "version"}),
    "certificate": frozenset({"certificateFrom"}),
    "pkcs12": frozenset({"pfxFrom", "passwordFrom"}),
}
_REQUIRED: dict[str, tuple[str, ...]] = {
    "generated": ("use",),
    "secret": ("use", "valueFrom"),
    "certificate": ("certificateFrom",),
    "pkcs12": ("pfxFrom", "passwordFrom"),
}
#: Fields naming a per-stack config key, and whether its value must be stored encrypted.
_CONFIG_FIELDS: dict[str, bool] = {"valueFrom": True, "certificateFrom": False, "pfxFrom": True, "passwordFrom": True}

#: A config key of the project's namespace: what ``pulumi config set <key>`` accepts without a ``:``.
_CONFIG_KEY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")

#: The stack templates mark what a user must fill in with this text; a value still holding it is a problem.
PLACEHOLDER_MARK = "REPLACE-WITH-"

#: Provider settings a template leaves as placeholders (the rest come from the environment or defaults).
PROVIDER_KEYS = ("b2c:tenantId", "b2c:clientId")


@dataclass(frozen=True)
class KeySetDeclaration:
    """One declared key set and the one key this repo manages in it."""

    name: str
    kind: str
    use: str | None = None
    kty: str | None = None
    not_before: int | None = None
    expires_at: int | None = None
    version: str | int | None = None
    value_from: str | None = None
    certificate_from: str | None = None
    pfx_from: str | None = None
    password_from: str | None = None

    @property
    def keyset_id(self) -> str:
        return normalise_keyset_id(self.name)


@dataclass(frozen=True)
class Declaration:
    keysets: tuple[KeySetDeclaration, ...]

    def config_keys(self) -> tuple[str, ...]:
        """Every per-stack config key the declaration reads, in declaration order, without repeats."""
        seen: dict[str, None] = {}
        for ks in self.keysets:
            for key in (ks.value_from, ks.certificate_from, ks.pfx_from, ks.password_from):
                if key:
                    seen.setdefault(key, None)
        return tuple(seen)


@dataclass(frozen=True)
class StackConfig:
    """What the check needs to know about one stack's configuration, without depending on Pulumi.

    ``lookup`` takes a full key (``b2c:tenantId``, ``<project>:facebookSecret``) and returns the plain value or
    None; ``is_secret`` says whether the stack stores that key encrypted.
    """

    project: str
    stack: str
    lookup: Callable[[str], str | None]
    is_secret: Callable[[str], bool]

    def project_key(self, key: str) -> str:
        return f"{self.project}:{key}"


class DeclarationError(ConfigurationError):
    """The declaration is malformed or the stack lacks values it needs. Lists every problem with its fix."""

    def __init__(self, problems: list[str], *, stack: str | None = None, source: str | None = None) -> None:
        self.problems = tuple(problems)
        where = f" ({source})" if source else ""
        head = f"stack '{stack}': " if stack else ""
        count = f"{len(problems)} problem" + ("" if len(problems) == 1 else "s")
        lines = [f"{head}the key set declaration{where} cannot be deployed, {count}:"]
        lines += [f"  - {p}" for p in problems]
        super().__init__("\n".join(lines))


def load_declaration_file(path: str | Path) -> object:
    """The raw YAML document; a syntax error becomes a DeclarationError naming the file and the line."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise DeclarationError([f"{path} is not valid YAML{where}"], source=str(path)) from None


def parse_declaration(raw: object, *, now: int | None = None) -> tuple[Declaration, list[str]]:
    """Read the raw document; returns what could be read and every problem found (no stack involved)."""
    problems: list[str] = []
    if not isinstance(raw, Mapping) or "keySets" not in raw:
        return Declaration(()), ["the declaration must be a mapping with a 'keySets' list"]
    unknown_top = sorted(str(k) for k in raw if k != "keySets")
    if unknown_top:
        problems.append(f"unknown top-level field(s) {', '.join(unknown_top)} (only 'keySets' is read)")
    entries = raw["keySets"]
    if not isinstance(entries, list) or not entries:
        return Declaration(()), [*problems, "'keySets' must be a non-empty list"]

    at = now_epoch() if now is None else now
    keysets: list[KeySetDeclaration] = []
    first_seen: dict[str, str] = {}
    for index, entry in enumerate(entries):
        parsed = _parse_entry(index, entry, at, problems)
        if parsed is None:
            continue
        previous = first_seen.get(keyset_key(parsed.keyset_id))
        if previous is not None:
            problems.append(
                f"{_label(index, parsed.name)}: duplicate key set: '{previous}' and '{parsed.name}' both name "
                f"{normalise_keyset_id(previous)} (ids ignore case and the B2C_1A_ prefix): keep one entry"
            )
            continue
        first_seen[keyset_key(parsed.keyset_id)] = parsed.name
        keysets.append(parsed)
    return Declaration(tuple(keysets)), problems


def validate_declaration(
    raw: object,
    config: StackConfig,
    *,
    now: int | None = None,
    source: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Declaration:
    """The declaration, checked whole against one stack; raises one DeclarationError listing every problem.

    Offline, so it runs in every preview: the declaration, the stack's values (set, encrypted, no placeholder), the
    certificates and PFX files they hold (opened), and, given ``env`` (the program passes ``os.environ``), the
    provider settings resolved as the provider will resolve them (credential, tenant), without a network call.
    """
    at = now_epoch() if now is None else now
    declaration, problems = parse_declaration(raw, now=at)
    if env is not None:
        problems += settings_problems(config, env)
    problems += stack_problems(declaration, config)
    problems += material_problems(declaration, config, now=at)
    if problems:
        raise DeclarationError(problems, stack=config.stack, source=source)
    return declaration


def stack_problems(declaration: Declaration, config: StackConfig) -> list[str]:
    """What this stack lacks for the declaration: unset or clear-text values, template placeholders left in."""
    problems: list[str] = []
    for key in PROVIDER_KEYS:
        value = config.lookup(key)
        if value is not None and PLACEHOLDER_MARK in value:
            problems.append(
                f"{key} still holds the template placeholder {value!r}: "
                f"pulumi config set {key} <value> --stack {config.stack}"
            )
    reported: set[str] = set()
    for ks in declaration.keysets:
        for field_name, must_be_secret in _CONFIG_FIELDS.items():
            key = getattr(ks, _snake(field_name))
            if not key or key in reported:
                continue
            full = config.project_key(key)
            value = config.lookup(full)
            what = _VALUE_WHAT[field_name]
            set_cmd = _set_command(key, config.stack, secret=must_be_secret, field_name=field_name)
            if value is None or value == "":
                problems.append(f"{ks.name}: {what} is not set for this stack (config key '{key}'): {set_cmd}")
                reported.add(key)
            elif PLACEHOLDER_MARK in value:
                problems.append(f"{ks.name}: config key '{key}' still holds the template placeholder: {set_cmd}")
                reported.add(key)
            elif must_be_secret and not config.is_secret(full):
                problems.append(
                    f"{ks.name}: config key '{key}' is stored in clear text in the stack file; "
                    f"store it encrypted instead: {set_cmd}"
                )
                reported.add(key)
    return problems


def settings_problems(config: StackConfig, env: Mapping[str, str]) -> list[str]:
    """What the provider will refuse about its settings (no credential, no ``b2c:tenantId``, ...), found offline.

    The same resolver the provider runs (``graph.settings.resolve_settings``: stack config, then environment); a
    setting still holding a template placeholder is left to ``stack_problems``, which gives its own fix.
    """
    from b2c_policy_keys.graph.settings import resolve_settings

    try:
        resolve_settings(config.lookup, env)
    except ConfigurationError as error:
        placeholders = [key for key in PROVIDER_KEYS if PLACEHOLDER_MARK in (config.lookup(key) or "")]
        lines = [line[4:] for line in str(error).splitlines() if line.startswith("  - ")] or [str(error)]
        return [line for line in lines if not any(line.startswith(key) for key in placeholders)]
    return []


def material_problems(declaration: Declaration, config: StackConfig, *, now: int) -> list[str]:
    """Each certificate and PFX the stack holds, opened offline (``stack_problems`` reports unset values)."""
    problems: list[str] = []

    def value_of(key: str | None) -> str | None:
        value = None if key is None else config.lookup(config.project_key(key))
        return None if not value or PLACEHOLDER_MARK in value else value

    for ks in declaration.keysets:
        if ks.kind == "certificate" and ks.certificate_from:
            certificate = value_of(ks.certificate_from)
            if certificate is not None:
                where = f"{ks.name}: config key '{ks.certificate_from}'"
                set_cmd = _set_command(ks.certificate_from, config.stack, secret=False, field_name="certificateFrom")
                problems += declared_material.certificate_problems(certificate, where=where, now=now, set_cmd=set_cmd)
        elif ks.kind == "pkcs12" and ks.pfx_from and ks.password_from:
            pfx, password = value_of(ks.pfx_from), value_of(ks.password_from)
            if pfx is not None and password is not None:
                problems += declared_material.pkcs12_problems(
                    pfx,
                    password,
                    where=f"{ks.name}: config key '{ks.pfx_from}'",
                    password_where=f"{ks.name}: the password in config key '{ks.password_from}'",
                    now=now,
                    set_cmd=_set_command(ks.pfx_from, config.stack, secret=True, field_name="pfxFrom"),
                    set_password_cmd=_set_command(ks.password_from, config.stack, secret=True, field_name="x"),
                )
    return problems


_VALUE_WHAT = {
    "valueFrom": "the secret value",
    "certificateFrom": "the certificate (PEM or base64 DER)",
    "pfxFrom": "the PFX file (base64)",
    "passwordFrom": "the PFX password",
}


def _set_command(key: str, stack: str, *, secret: bool, field_name: str) -> str:
    if field_name == "certificateFrom":
        return f'pulumi config set {key} -- "$(cat certificate.pem)" --stack {stack}'
    if field_name == "pfxFrom":
        return f'pulumi config set --secret {key} -- "$(base64 -w0 key.pfx)" --stack {stack}'
    flag = "--secret " if secret else ""
    return f"pulumi config set {flag}{key} <value> --stack {stack}"


def _snake(field_name: str) -> str:
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), field_name)


def _label(index: int, name: object) -> str:
    return f"keySets[{index}] ({name})" if isinstance(name, str) and name else f"keySets[{index}]"


def _parse_entry(index: int, entry: object, now: int, problems: list[str]) -> KeySetDeclaration | None:
    if not isinstance(entry, Mapping):
        problems.append(f"keySets[{index}]: must be a mapping with at least 'name' and 'kind'")
        return None
    name = entry.get("name")
    label = _label(index, name)
    before = len(problems)
    if name is None:
        problems.append(f"{label}: 'name' is required")
    else:
        problems += [f"{label}: name {rule}" for rule in keyset_name_problems(name)]

    kind = entry.get("kind")
    if kind not in KINDS:
        shown = "missing" if kind is None else f"unknown kind {kind!r}"
        problems.append(f"{label}: {shown}: expected one of {', '.join(KINDS)}")
        return None
    allowed = _FIELDS[kind]
    unknown = sorted(str(k) for k in entry if k not in allowed and k not in ("name", "kind"))
    if unknown:
        problems.append(
            f"{label}: field(s) {', '.join(unknown)} not accepted for kind '{kind}' "
            f"(accepted: {', '.join(sorted(allowed))})"
        )
    problems += [f"{label}: '{f}' is required for kind '{kind}'" for f in _REQUIRED[kind] if entry.get(f) is None]

    use = entry.get("use")
    if use is not None and use not in USES:
        problems.append(f"{label}: use {use!r} must be one of {', '.join(USES)}")
    kty = entry.get("kty", "RSA" if kind == "generated" else None)
    if isinstance(kty, str):
        kty = normalise_kty(kty)  # any case, as GeneratedKey accepts it; stored as the service spells it
    if kind == "generated" and kty not in KEY_TYPES:
        problems.append(f"{label}: kty {kty!r} must be one of {', '.join(KEY_TYPES)}")

    not_before = _moment(entry, "notBefore", label, problems)
    expires_at = _moment(entry, "expiresAt", label, problems)
    if not_before is not None and expires_at is not None and not_before >= expires_at:
        problems.append(f"{label}: notBefore must be earlier than expiresAt")
    if expires_at is not None and expires_at <= now:
        problems.append(f"{label}: expiresAt is in the past: move it forward (and bump 'version' to rotate)")

    version = entry.get("version")
    if version is not None and (isinstance(version, bool) or not isinstance(version, str | int)):
        problems.append(f"{label}: version must be a string or a whole number")

    config_keys: dict[str, str | None] = {}
    for field_name in _CONFIG_FIELDS:
        key = entry.get(field_name)
        if key is not None and (not isinstance(key, str) or not _CONFIG_KEY_RE.match(key)):
            problems.append(
                f"{label}: {field_name} must name a config key of this project (letters, digits, '_', '-', '.'; "
                f"no namespace), got {key!r}"
            )
            key = None
        config_keys[field_name] = key

    if len(problems) != before:
        return None
    return KeySetDeclaration(
        name=str(name),
        kind=str(kind),
        use=use,
        kty=kty,
        not_before=not_before,
        expires_at=expires_at,
        version=version,
        value_from=config_keys["valueFrom"],
        certificate_from=config_keys["certificateFrom"],
        pfx_from=config_keys["pfxFrom"],
        password_from=config_keys["passwordFrom"],
    )


#: How a YAML author spells a date (resource arguments give Python advice instead).
YAML_DATE_ADVICE = "write an ISO-8601 date with an offset, e.g. 2027-01-31T00:00:00Z, or epoch seconds"


def _moment(entry: Mapping[str, Any], field_name: str, label: str, problems: list[str]) -> int | None:
    value = entry.get(field_name)
    if value is None:
        return None
    if hasattr(value, "isoformat") and not hasattr(value, "tzinfo"):
        problems.append(f"{label}: {field_name} needs a time and an offset, e.g. 2027-01-31T00:00:00Z")
        return None
    if isinstance(value, datetime) and value.tzinfo is None:  # an unquoted YAML timestamp without an offset
        problems.append(f"{label}: {field_name} needs an offset: add Z for UTC, e.g. 2027-01-31T00:00:00Z")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float | datetime):
        shown = "true/false" if isinstance(value, bool) else "a list" if isinstance(value, list) else "a mapping"
        problems.append(f"{label}: {field_name} is {shown}, not a date: {YAML_DATE_ADVICE}")
        return None
    try:
        return parse_moment(value)
    except ValueError as error:
        problems.append(f"{label}: {field_name} {error}")
        return None
