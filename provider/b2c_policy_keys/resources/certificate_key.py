"""CertificateKey: an uploaded X.509 certificate (``uploadCertificate``), for SAML and client-certificate flows.

The certificate is public, so it is checked offline in ``check()`` (parsed, not expired) and compared by thumbprint
in ``diff()``: PEM or DER spellings of one certificate never show as a change, a different certificate replaces
(create-before-delete: the new key is uploaded, then the old one disabled). ``Pkcs12Key`` shares this provider logic.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, Resource

from b2c_policy_keys import certificates, model
from b2c_policy_keys.errors import GraphError
from b2c_policy_keys.resources import _common as c
from b2c_policy_keys.resources._family import family_error, is_family_refusal

if TYPE_CHECKING:
    from b2c_policy_keys.graph import GraphClient

#: uploadCertificate and uploadPkcs12 always make RSA signing keys.
CERTIFICATE_KTY = "RSA"
CERTIFICATE_USE = "sig"
#: Why a certificate input holding a private key is refused, and the two fixes (issue 11 B10).
PRIVATE_KEY_ADVICE = (
    "holds a private key (as `openssl pkcs12 -nodes` writes it), which would be stored in the state in clear: "
    "upload certificate and key as a Pkcs12Key, or give the certificate only: openssl x509 -in f.pem -out cert.pem"
)
#: Warn (program side) when a certificate expires within this many days.
EXPIRY_WARNING_DAYS = c.EXPIRY_WARNING_DAYS


@dataclass(frozen=True)
class CertificateKeyArgs:
    """What a certificate key is declared with."""

    #: The key set the certificate goes in (``KeySet.keyset_id``, or a name with or without ``B2C_1A_``).
    keyset_id: pulumi.Input[str]
    #: The certificate's content: PEM text, or base64 of the DER (.cer) file; bytes of either are accepted too.
    certificate: pulumi.Input[str | bytes]
    #: False disables the key in place (``keys_v2`` status), True re-enables it.
    enabled: pulumi.Input[bool] = True


def thumbprint_of_x5t(x5t: str | None) -> str | None:
    """The portal's thumbprint (hex SHA-1, upper-case) from a JWK's base64url ``x5t``."""
    if not x5t:
        return None
    try:
        return certificates.decode_base64(x5t).hex().upper()
    except ValueError:
        return None


def expiry_problem(facts: certificates.CertificateFacts, now: int) -> str | None:
    if facts.exp <= now:
        return f"expired on {model.iso_utc(facts.exp)}: upload a renewed certificate"
    return None


def warn_expiring(what: str, facts: certificates.CertificateFacts) -> None:
    """Program side: warn when the certificate expires within 30 days."""
    days = (facts.exp - model.now_epoch()) / 86400
    if 0 < days < EXPIRY_WARNING_DAYS:
        pulumi.warn(
            f"{what}: the certificate ({facts.subject}) expires on {model.iso_utc(facts.exp)}, "
            f"within {EXPIRY_WARNING_DAYS} days ({days:.0f} left): renew it and upload the new one"
        )


def certificate_text(value: Any) -> Any:
    """Program side: bytes cannot travel to the engine, so DER bytes become base64 and PEM bytes text."""
    if isinstance(value, bytes | bytearray):
        data = bytes(value)
        return data.decode("ascii") if b"-----BEGIN" in data else base64.b64encode(data).decode("ascii")
    return value


def _carrying(facts: certificates.CertificateFacts) -> Callable[[model.Key], bool]:
    return lambda key: key.x5t == facts.x5t


def der_base64(cert: x509.Certificate) -> str:
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode("ascii")


class CertificateBackedProvider(c.KeyProvider):
    """Diff, read, update and delete shared by certificate and PFX keys: identity is the certificate thumbprint."""

    #: The input that carries the certificate (``certificate`` or ``pfx``).
    material_props: tuple[str, ...] = ("certificate",)

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures: list[CheckFailure] = []
        inputs = dict(news)
        inputs.pop("certificate_thumbprint", None)
        c.check_keyset_id(news, failures)
        facts = self._check_material(news, failures)
        if any(f.property == "certificate" and f.reason.endswith(PRIVATE_KEY_ADVICE) for f in failures):
            inputs.pop("certificate", None)  # the private key must not travel on, not even as a refused input
        if facts is not None:
            _check_certificate(self.material_props[0], facts, olds, failures)
            inputs["certificate_thumbprint"] = facts.thumbprint
        inputs["enabled"] = c.check_bool("enabled", news, True, failures)
        return CheckResult(c.without_none(inputs), failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = []
        new_keyset = c.plain(news.get("keyset_id"))
        if c.is_unknown(new_keyset) or not c.same_keyset(olds.get("keyset_id"), new_keyset):
            replaces.append("keyset_id")
        new_thumbprint = c.plain(news.get("certificate_thumbprint"))
        material_unknown = any(c.is_unknown(c.plain(news.get(p))) for p in self.material_props)
        if material_unknown or new_thumbprint is None or new_thumbprint != c.plain(olds.get("thumbprint")):
            replaces.append(self.material_props[0])
        changes = bool(replaces) or c.enabled_differs(olds, news)
        return DiffResult(changes=changes, replaces=replaces, delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        client = self.client()
        keyset_id = model.normalise_keyset_id(c.plain(props["keyset_id"]))
        facts = certificates.certificate_facts(self._certificate(props))
        try:
            # The thumbprint proves the material: a lost answer, or a run killed mid-upload, is settled by the key
            # carrying it (adopted), never by uploading the certificate a second time.
            carrying = _carrying(facts)
            key = c.add_key_once(
                client, keyset_id, lambda: self._upload(client, keyset_id, props), carrying, same_material=carrying
            )
        except GraphError as error:
            if is_family_refusal(error):
                kind = {"kty": CERTIFICATE_KTY, "use": CERTIFICATE_USE}
                raise family_error(client, keyset_id, **kind, error=error) from None
            raise self._explain(error, props) from None
        key = self.finish_create(client, keyset_id, key, props)
        outs = {"enabled": c.as_bool(props.get("enabled"), True), **self._outputs(keyset_id, key, facts.subject)}
        return CreateResult(f"{keyset_id}/{key.kid}", outs)

    # --- what each kind supplies ------------------------------------------------------------------------------

    def _check_material(
        self, news: dict[str, Any], failures: list[CheckFailure]
    ) -> certificates.CertificateFacts | None:
        """The certificate's facts when the material is known and valid, else None (failures say why)."""
        value = c.plain(news.get("certificate"))
        if value is None or value == "":
            failures.append(c.failure("certificate", "is required (PEM text or base64 of the DER .cer file)"))
        elif c.is_unknown(value):
            pass
        elif not isinstance(value, str):
            failures.append(c.failure("certificate", f"must be PEM text or base64 DER, not {type(value).__name__}"))
        elif certificates.holds_private_key(value):
            failures.append(c.failure("certificate", PRIVATE_KEY_ADVICE))
        else:
            try:
                return certificates.certificate_facts(certificates.load_certificate(value))
            except ValueError as error:
                failures.append(c.failure("certificate", f"is not a valid X.509 certificate: {error}"))
        return None

    def _certificate(self, props: dict[str, Any]) -> x509.Certificate:
        return certificates.load_certificate(c.plain(props["certificate"]))

    def _upload(self, client: GraphClient, keyset_id: str, props: dict[str, Any]) -> model.Key:
        return client.upload_certificate(keyset_id, certificate=der_base64(self._certificate(props)))

    def _explain(self, error: GraphError, _props: dict[str, Any]) -> Exception:
        return error

    @staticmethod
    def _outputs(keyset_id: str, key: model.Key, subject: str | None) -> dict[str, Any]:
        return {
            **c.key_outputs(keyset_id, key),
            "x5t": key.x5t,
            "thumbprint": thumbprint_of_x5t(key.x5t),
            "subject": subject,
        }


class CertificateKeyProvider(CertificateBackedProvider):
    """A certificate key: everything is the certificate-backed default."""


def _check_certificate(
    prop: str, facts: certificates.CertificateFacts, olds: dict[str, Any], failures: list[CheckFailure]
) -> None:
    if facts.n is None:
        failures.append(c.failure(prop, "must hold an RSA public key (B2C accepts only RSA certificates)"))
    problem = expiry_problem(facts, model.now_epoch())
    # A certificate already uploaded may expire later without every later `up` failing: only a new one must be valid.
    if problem and facts.thumbprint != c.plain(olds.get("certificate_thumbprint")):
        failures.append(c.failure(prop, problem))


def warn_certificate(what: str, value: Any) -> None:
    """Program side: warn when a known certificate expires within 30 days (check fails on invalid or expired)."""
    try:
        facts = certificates.certificate_facts(certificates.load_certificate(certificate_text(value)))
    except (ValueError, TypeError):
        return
    warn_expiring(what, facts)


#: Outputs a certificate-backed key has, unknown until create.
CERTIFICATE_OUTPUTS = (
    *("kid", "kty", "use", "x5t", "thumbprint", "subject"),
    *("not_before", "not_before_iso", "expires_at", "expires_at_iso", "status"),
)


class CertificateKeyOutputs:
    """The outputs of a certificate-backed key (annotations only: the engine sets them from the props)."""

    kid: pulumi.Output[str]
    """The key id the service assigned."""
    keyset_id: pulumi.Output[str]
    kty: pulumi.Output[str]
    use: pulumi.Output[str]
    x5t: pulumi.Output[str]
    """base64url SHA-1 of the certificate, as the JWK carries it."""
    thumbprint: pulumi.Output[str]
    """Hex SHA-1 of the certificate, upper-case, as the portal shows it."""
    subject: pulumi.Output[str | None]
    not_before: pulumi.Output[int]
    not_before_iso: pulumi.Output[str]
    expires_at: pulumi.Output[int]
    expires_at_iso: pulumi.Output[str]
    status: pulumi.Output[str]


class CertificateKey(CertificateKeyOutputs, Resource, module="b2c", name="CertificateKey"):
    """An uploaded certificate in a key set. A different certificate replaces; deleting it disables the key."""

    def __init__(
        self,
        resource_name: str,
        *,
        keyset_id: pulumi.Input[str],
        certificate: pulumi.Input[str | bytes],
        enabled: pulumi.Input[bool] = True,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        args = CertificateKeyArgs(keyset_id, certificate, enabled)
        text = pulumi.Output.from_input(args.certificate).apply(certificate_text)
        text.apply(lambda value: warn_certificate(f"CertificateKey {resource_name}", value))
        props = {**dict.fromkeys(CERTIFICATE_OUTPUTS), "keyset_id": args.keyset_id}
        props.update(certificate=text, enabled=args.enabled)
        super().__init__(CertificateKeyProvider(), resource_name, props, opts)
