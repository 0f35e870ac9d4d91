"""PolicyKey: the portal's "Add policy key" in one line: a key set plus its first key.

A component resource, not a provider: it declares a ``KeySet`` and one key resource (``GeneratedKey``, ``SecretKey``,
``CertificateKey`` or ``Pkcs12Key``) as its children, so each keeps its own check, diff and rotation rules.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import pulumi

from b2c_policy_keys.resources.certificate_key import CertificateKey
from b2c_policy_keys.resources.generated_key import GeneratedKey
from b2c_policy_keys.resources.keyset import KeySet
from b2c_policy_keys.resources.pkcs12_key import Pkcs12Key
from b2c_policy_keys.resources.secret_key import SecretKey

Options = Literal["generate", "secret", "certificate", "pkcs12"]
OPTIONS: tuple[str, ...] = ("generate", "secret", "certificate", "pkcs12")

#: What each option needs, for a program-side error that names the missing argument.
_REQUIRED: dict[str, tuple[str, ...]] = {
    "generate": (),
    "secret": ("value",),
    "certificate": ("certificate",),
    "pkcs12": ("pfx", "password"),
}
#: What each option also takes; any other argument given belongs to another option and is refused, not ignored.
_OPTIONAL: dict[str, tuple[str, ...]] = {
    "generate": ("kty", "use", "not_before", "expires_at", "version"),
    "secret": ("use", "not_before", "expires_at", "version"),
    "certificate": (),
    "pkcs12": (),
}
#: The defaults of the option-specific arguments: a value equal to its default counts as not given.
_DEFAULTS: dict[str, object] = {"kty": "RSA", "use": "sig"}


def _stray_arguments(options: str, arguments: dict[str, object]) -> list[str]:
    """The arguments given (not None, not their default) that the chosen option does not take."""
    takes = {*_REQUIRED[options], *_OPTIONAL[options]}
    return [
        name
        for name, value in arguments.items()
        if name not in takes and value is not None and value != _DEFAULTS.get(name)
    ]


def _takes(options: str) -> str:
    takes = [*_REQUIRED[options], *_OPTIONAL[options]]
    return f"it takes {', '.join(takes)}" if takes else "it takes no key argument"


class PolicyKey(pulumi.ComponentResource):
    """A key set and its first key, as the portal's "Add policy key" makes them."""

    keyset: KeySet
    key: pulumi.CustomResource
    keyset_id: pulumi.Output[str]
    """The id the service gave the key set (``B2C_1A_...``)."""
    kid: pulumi.Output[str]
    """The kid of the key this component created."""

    def __init__(
        self,
        resource_name: str,
        *,
        name: pulumi.Input[str],
        options: Options = "generate",
        kty: pulumi.Input[str] = "RSA",
        use: pulumi.Input[str] = "sig",
        value: pulumi.Input[str] | None = None,
        certificate: pulumi.Input[str | bytes] | None = None,
        pfx: pulumi.Input[str | bytes] | None = None,
        password: pulumi.Input[str] | None = None,
        not_before: pulumi.Input[datetime | str | int] | None = None,
        expires_at: pulumi.Input[datetime | str | int] | None = None,
        version: pulumi.Input[str | int] | None = None,
        adopt_existing: pulumi.Input[bool] = False,
        purge_backup_on_delete: pulumi.Input[bool] = False,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        given = {"value": value, "certificate": certificate, "pfx": pfx, "password": password}
        if options not in _REQUIRED:
            raise ValueError(f"PolicyKey {resource_name}: options must be one of {', '.join(OPTIONS)}, not {options!r}")
        missing = [arg for arg in _REQUIRED[options] if given[arg] is None]
        if missing:
            raise ValueError(f"PolicyKey {resource_name}: options={options!r} needs {' and '.join(missing)}")
        stray = _stray_arguments(
            options,
            {**given, "kty": kty, "use": use, "not_before": not_before, "expires_at": expires_at, "version": version},
        )
        if stray:
            raise ValueError(
                f"PolicyKey {resource_name}: {', '.join(stray)} {'does' if len(stray) == 1 else 'do'} not apply to "
                f"options={options!r} ({_takes(options)}): remove {'it' if len(stray) == 1 else 'them'}, "
                "or choose the option they belong to"
            )
        super().__init__("b2c:index:PolicyKey", resource_name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.keyset = KeySet(
            f"{resource_name}-keyset",
            name=name,
            adopt_existing=adopt_existing,
            purge_backup_on_delete=purge_backup_on_delete,
            opts=child,
        )
        keyset_id = self.keyset.keyset_id
        key_name = f"{resource_name}-key"
        # What the two dated kinds (generated and secret) are both declared with.
        dated: dict[str, Any] = {"use": use, "not_before": not_before, "expires_at": expires_at, "version": version}
        key: GeneratedKey | SecretKey | CertificateKey | Pkcs12Key
        if options == "generate":
            key = GeneratedKey(key_name, keyset_id=keyset_id, kty=kty, **dated, opts=child)
        elif options == "secret":
            assert value is not None
            key = SecretKey(key_name, keyset_id=keyset_id, value=value, **dated, opts=child)
        elif options == "certificate":
            assert certificate is not None
            key = CertificateKey(key_name, keyset_id=keyset_id, certificate=certificate, opts=child)
        else:
            assert pfx is not None and password is not None
            key = Pkcs12Key(key_name, keyset_id=keyset_id, pfx=pfx, password=password, opts=child)
        self.key = key
        self.keyset_id = keyset_id
        self.kid = key.kid
        self.register_outputs({"keyset_id": self.keyset_id, "kid": self.kid})
