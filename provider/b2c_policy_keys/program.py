"""What an infra repo's program does with a checked declaration: one key set and its key per entry, plus outputs.

Kept out of the program (``__main__.py``) so the program stays a few lines and this part is importable (tests, other
repos). Resource names are the declared names: renaming an entry replaces its key set, so names are forever.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime.config import get_config, is_config_secret

from b2c_policy_keys.declaration import (
    Declaration,
    DeclarationError,
    KeySetDeclaration,
    StackConfig,
    load_declaration_file,
    validate_declaration,
)
from b2c_policy_keys.model import iso_utc


def current_stack_config() -> StackConfig:
    """The running stack's configuration, as the declaration check reads it."""

    def lookup(key: str) -> str | None:
        value = get_config(key)
        return None if value is None else str(value)

    return StackConfig(pulumi.get_project(), pulumi.get_stack(), lookup, is_config_secret)


def load_checked_declaration(path: Path) -> Declaration:
    """The declaration at ``path`` checked against the running stack; a problem stops the program cleanly.

    ``pulumi.RunError`` makes the CLI print the one message (every problem, each with its fix) without a traceback.
    The file is named relative to the program directory (Pulumi's working directory for the program), e.g.
    ``stacks/keysets.yaml``, so the message points at the file to edit.
    """
    try:
        source = _shown_path(path)
        config = current_stack_config()
        return validate_declaration(load_declaration_file(path), config, source=source, env=os.environ)
    except DeclarationError as error:
        raise pulumi.RunError(str(error)) from None


def _shown_path(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.name


def deploy(declaration: Declaration, config: pulumi.Config | None = None) -> dict[str, pulumi.Output[Any]]:
    """Register every declared key set and its key; returns, per key set, what the stack exports about it."""
    config = config or pulumi.Config()
    adopt_existing = config.get_bool("adoptExisting") or False
    protect = config.get_bool("protectKeySets") or False
    return {
        ks.name: _deploy_one(ks, config, adopt_existing=adopt_existing, protect=protect) for ks in declaration.keysets
    }


def _deploy_one(
    ks: KeySetDeclaration, config: pulumi.Config, *, adopt_existing: bool, protect: bool
) -> pulumi.Output[Any]:
    from b2c_policy_keys import KeySet

    keyset = KeySet(ks.name, name=ks.name, adopt_existing=adopt_existing, opts=pulumi.ResourceOptions(protect=protect))
    # protect=False: children inherit protect from their parent, and a protected key could never be replaced,
    # which is how a rotation happens. The key set (what deleting would break sign-in for) stays protected.
    key = _key_resource(ks, keyset.keyset_id, config, pulumi.ResourceOptions(parent=keyset, protect=False))
    return pulumi.Output.all(keyset.keyset_id, key.kid, key.expires_at).apply(
        lambda values: {
            "kind": ks.kind,
            "keysetId": values[0],
            "activeKid": values[1],
            "expiresAt": _iso(values[2]),
        }
    )


def _key_resource(
    ks: KeySetDeclaration, keyset_id: pulumi.Output[str], config: pulumi.Config, opts: pulumi.ResourceOptions
) -> Any:
    """The one key this repo keeps in the set; its resource name is ``<key set name>-key``."""
    name = f"{ks.name}-key"
    if ks.kind == "generated":
        from b2c_policy_keys import GeneratedKey

        return GeneratedKey(
            name,
            keyset_id=keyset_id,
            **_given(kty=ks.kty, use=ks.use, not_before=ks.not_before, expires_at=ks.expires_at, version=ks.version),
            opts=opts,
        )
    if ks.kind == "secret":
        from b2c_policy_keys import SecretKey

        assert ks.value_from is not None  # the check guarantees it
        return SecretKey(
            name,
            keyset_id=keyset_id,
            value=config.require_secret(ks.value_from),
            **_given(use=ks.use, not_before=ks.not_before, expires_at=ks.expires_at, version=ks.version),
            opts=opts,
        )
    if ks.kind == "certificate":
        from b2c_policy_keys import CertificateKey

        assert ks.certificate_from is not None
        return CertificateKey(name, keyset_id=keyset_id, certificate=config.require(ks.certificate_from), opts=opts)
    from b2c_policy_keys import Pkcs12Key

    assert ks.pfx_from is not None and ks.password_from is not None
    return Pkcs12Key(
        name,
        keyset_id=keyset_id,
        pfx=config.require_secret(ks.pfx_from),
        password=config.require_secret(ks.password_from),
        opts=opts,
    )


def _given(**inputs: Any) -> dict[str, Any]:
    """Only the inputs the declaration sets, so each resource's own defaults apply to the rest."""
    return {name: value for name, value in inputs.items() if value is not None}


def _iso(moment: object) -> str | None:
    if isinstance(moment, int | float) and not isinstance(moment, bool):
        return iso_utc(int(moment))
    return None if moment is None else str(moment)
