"""Pkcs12Key: an uploaded PFX, certificate and private key (``uploadPkcs12``), for signing with your own key pair.

``pfx`` and ``password`` are always Pulumi secrets and never appear in outputs, logs or messages. ``check()`` opens
the PFX offline with the password, so a wrong password or a PFX without a private key fails before any call. B2C
refuses AES-256 encrypted PFX files as if the password were wrong: the program warns and shows how to re-export.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
from cryptography import x509
from pulumi.dynamic import CheckFailure, Resource

from b2c_policy_keys import certificates, model
from b2c_policy_keys.errors import GraphError
from b2c_policy_keys.resources import _common as c
from b2c_policy_keys.resources.certificate_key import (
    CERTIFICATE_OUTPUTS,
    CertificateBackedProvider,
    CertificateKeyOutputs,
    warn_expiring,
)

if TYPE_CHECKING:
    from b2c_policy_keys.graph import GraphClient

#: The service's answer to a wrong password, which it also gives for an AES-256 encrypted PFX.
WRONG_PASSWORD_CODE = "AADB2C90213"  # noqa: S105 (an error code, not a password)

REEXPORT_COMMAND = certificates.PKCS12_REEXPORT_COMMAND
AES256_ADVICE = certificates.AES256_ADVICE


@dataclass(frozen=True)
class Pkcs12KeyArgs:
    """What a PFX key is declared with."""

    #: The key set the key goes in (``KeySet.keyset_id``, or a name with or without ``B2C_1A_``).
    keyset_id: pulumi.Input[str]
    #: The PFX: its bytes, or base64 of them. Always stored as a Pulumi secret.
    pfx: pulumi.Input[str | bytes]
    #: The PFX password. Always stored as a Pulumi secret.
    password: pulumi.Input[str]
    #: False disables the key in place (``keys_v2`` status), True re-enables it.
    enabled: pulumi.Input[bool] = True


def pfx_text(value: Any) -> Any:
    """Program side: PFX bytes travel to the engine as base64."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def pfx_bytes(value: str) -> bytes:
    return certificates.decode_base64(value)


def open_pfx(
    value: object, password: object, failures: list[CheckFailure]
) -> tuple[certificates.CertificateFacts, bytes] | None:
    """The certificate facts of a PFX the password opens, or None with a failure naming the property."""
    if not isinstance(value, str) or not value:
        failures.append(c.failure("pfx", "is required (the PFX bytes, or base64 of them)"))
        return None
    if not isinstance(password, str):
        failures.append(c.failure("password", "is required (use '' for a PFX without a password)"))
        return None
    try:
        data = pfx_bytes(value)
    except ValueError as error:
        failures.append(c.failure("pfx", f"{error} (give the PFX bytes, or base64 of them)"))
        return None
    try:
        _private, cert = certificates.open_pkcs12(data, password)
    except certificates.Pkcs12PasswordError:
        failures.append(c.failure("password", "does not open the PFX: check the password for this file"))
        return None
    except certificates.Pkcs12NoKeyError:
        failures.append(c.failure("pfx", "holds no private key: export the certificate together with its private key"))
        return None
    except ValueError as error:
        failures.append(c.failure("pfx", f"is not a usable PKCS#12 file: {error}"))
        return None
    return certificates.certificate_facts(cert), data


class Pkcs12KeyProvider(CertificateBackedProvider):
    material_props = ("pfx", "password")

    def _check_material(
        self, news: dict[str, Any], failures: list[CheckFailure]
    ) -> certificates.CertificateFacts | None:
        value, password = c.plain(news.get("pfx")), c.plain(news.get("password"))
        if c.is_unknown(value) or c.is_unknown(password):
            return None
        opened = open_pfx(value, password, failures)
        return None if opened is None else opened[0]

    def _certificate(self, props: dict[str, Any]) -> x509.Certificate:
        _private, cert = certificates.open_pkcs12(pfx_bytes(c.plain(props["pfx"])), c.plain(props["password"]))
        return cert

    def _upload(self, client: GraphClient, keyset_id: str, props: dict[str, Any]) -> model.Key:
        data = pfx_bytes(c.plain(props["pfx"]))
        return client.upload_pkcs12(
            keyset_id, pfx=base64.b64encode(data).decode("ascii"), password=c.plain(props["password"])
        )

    def _explain(self, error: GraphError, props: dict[str, Any]) -> Exception:
        if error.code == WRONG_PASSWORD_CODE and certificates.pkcs12_uses_aes256(pfx_bytes(c.plain(props["pfx"]))):
            return GraphError(AES256_ADVICE, status=error.status, code=error.code, request_id=error.request_id)
        return error


def warn_pfx(what: str, value: Any, password: Any) -> None:
    """Program side: warn about an AES-256 PFX (the service will refuse it) or a certificate expiring soon."""
    if not isinstance(value, str) or not isinstance(password, str):
        return
    try:
        data = pfx_bytes(value)
        _private, cert = certificates.open_pkcs12(data, password)
    except ValueError:
        return  # check() fails with the property named
    if certificates.pkcs12_uses_aes256(data):
        pulumi.warn(f"{what}: {AES256_ADVICE}")
    warn_expiring(what, certificates.certificate_facts(cert))


class Pkcs12Key(CertificateKeyOutputs, Resource, module="b2c", name="Pkcs12Key"):
    """An uploaded PFX in a key set. A different certificate replaces; deleting it disables the key."""

    def __init__(
        self,
        resource_name: str,
        *,
        keyset_id: pulumi.Input[str],
        pfx: pulumi.Input[str | bytes],
        password: pulumi.Input[str],
        enabled: pulumi.Input[bool] = True,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        args = Pkcs12KeyArgs(keyset_id, pfx, password, enabled)
        pfx_value = pulumi.Output.secret(pulumi.Output.from_input(args.pfx).apply(pfx_text))
        password_value = pulumi.Output.secret(args.password)
        pulumi.Output.all(pfx_value, password_value).apply(
            lambda both: warn_pfx(f"Pkcs12Key {resource_name}", both[0], both[1])
        )
        props = {**dict.fromkeys(CERTIFICATE_OUTPUTS), "keyset_id": args.keyset_id}
        props.update(pfx=pfx_value, password=password_value, enabled=args.enabled)
        secret_outputs = pulumi.ResourceOptions(additional_secret_outputs=["pfx", "password"])
        super().__init__(Pkcs12KeyProvider(), resource_name, props, pulumi.ResourceOptions.merge(opts, secret_outputs))
