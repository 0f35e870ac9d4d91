"""The certificates and PFX files a stack's configuration holds, opened offline for the declaration check.

So a preview (or an ``up`` without one) fails before any write when a certificate is expired or carries its private
key, or a PFX does not open with its password, holds no private key, is AES-256 encrypted (B2C refuses it) or asks
for an absurd key-derivation cost. Problems name the key set and the config key, with the fix; never a value.
"""

from __future__ import annotations

from b2c_policy_keys import certificates
from b2c_policy_keys.model import iso_utc


def certificate_problems(value: str, *, where: str, now: int, set_cmd: str) -> list[str]:
    """``where``: who holds the value (``"Saml: config key 'samlCertificate'"``)."""
    if certificates.holds_private_key(value):
        return [
            f"{where} holds a private key too, which would land in the state in clear: store the certificate only "
            "(openssl x509 -in f.pem -out cert.pem), or declare the key set as kind pkcs12"
        ]
    try:
        facts = certificates.certificate_facts(certificates.load_certificate(value))
    except ValueError as error:
        return [f"{where} is not a usable certificate ({error}): {set_cmd}"]
    return _facts_problems(facts, where=where, now=now, set_cmd=set_cmd)


def pkcs12_problems(
    value: str, password: str, *, where: str, password_where: str, now: int, set_cmd: str, set_password_cmd: str
) -> list[str]:
    """The problems of a base64 PFX opened with ``password``."""
    try:
        data = certificates.decode_base64(value)
    except ValueError as error:
        return [f"{where} {error}: store base64 of the PFX file: {set_cmd}"]
    if certificates.pkcs12_uses_aes256(data):
        return [f"{where}: {certificates.AES256_ADVICE}"]
    try:
        _private, cert = certificates.open_pkcs12(data, password)
    except certificates.Pkcs12PasswordError:
        return [f"{password_where} does not open the PFX of {where}: {set_password_cmd}"]
    except certificates.Pkcs12NoKeyError:
        return [f"{where}: the PFX holds no private key: export the certificate with its private key: {set_cmd}"]
    except ValueError as error:
        return [f"{where} is not a usable PFX: {error}"]
    return _facts_problems(certificates.certificate_facts(cert), where=where, now=now, set_cmd=set_cmd)


def _facts_problems(facts: certificates.CertificateFacts, *, where: str, now: int, set_cmd: str) -> list[str]:
    problems = []
    if facts.n is None:
        problems.append(f"{where}: the certificate has no RSA key (B2C accepts only RSA): {set_cmd}")
    if facts.exp <= now:
        problems.append(f"{where}: the certificate expired on {iso_utc(facts.exp)}: set a renewed one: {set_cmd}")
    return problems
