"""X.509 and PKCS#12 helpers shared by the emulator and the certificate/PFX resources' offline checks.

Pure functions over bytes and text: no network, no files. Errors are ``ValueError``s whose messages are fit to show a
user and never contain key material or passwords.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12

_PEM_MARKER = b"-----BEGIN CERTIFICATE-----"

#: DER encoding of the OID 2.16.840.1.101.3.4.1.42 (aes256-CBC): tag 06, length 09, then the packed arcs.
AES256_CBC_OID_DER = bytes.fromhex("060960864801650304012a")


#: How to turn any PFX into one B2C opens (TripleDES-SHA1, the usual iteration count).
PKCS12_REEXPORT_COMMAND = (
    "openssl pkcs12 -in current.pfx -nodes -out bundle.pem && "
    "openssl pkcs12 -export -in bundle.pem -out b2c.pfx -keypbe PBE-SHA1-3DES -certpbe PBE-SHA1-3DES -macalg sha1"
)
AES256_ADVICE = (
    "the PFX is encrypted with AES-256, which B2C rejects as a wrong password (AADB2C90213): re-export it with "
    f"TripleDES-SHA1: {PKCS12_REEXPORT_COMMAND}"
)


class Pkcs12PasswordError(ValueError):
    """The PFX could not be decrypted with the password given."""


class Pkcs12NoKeyError(ValueError):
    """The PFX holds no private key (B2C needs one to sign or decrypt)."""


class Pkcs12CostError(ValueError):
    """The PFX asks for more key-derivation work than any export tool uses: refused before the expensive open."""


#: The most iterations one key derivation of a PFX may ask for, and all of them together. Export tools use 2048
#: (OpenSSL, Windows) to 10,000; OWASP's PBKDF2 advice is 600,000. Above this an open costs seconds to hours
#: (issue 11 B13), so such a file is refused before it is opened; the decision is in docs/resources.md.
MAX_PKCS12_ITERATIONS = 1_000_000
MAX_PKCS12_TOTAL_ITERATIONS = 2 * MAX_PKCS12_ITERATIONS

# OIDs (DER content bytes) of RFC 7292 and RFC 8018 that locate every iteration count of a PFX.
_OID_DATA = bytes.fromhex("2a864886f70d010701")  # 1.2.840.113549.1.7.1
_OID_ENCRYPTED_DATA = bytes.fromhex("2a864886f70d010706")  # 1.2.840.113549.1.7.6
_OID_SHROUDED_KEY_BAG = bytes.fromhex("2a864886f70d010c0a0102")  # 1.2.840.113549.1.12.10.1.2
_OID_PBES2 = bytes.fromhex("2a864886f70d01050d")  # 1.2.840.113549.1.5.13


def _der_items(data: bytes) -> list[tuple[int, bytes]]:
    """The (tag, content) items of a DER encoding, one level deep; ValueError on anything but definite lengths."""
    items, offset = [], 0
    while offset < len(data):
        if offset + 2 > len(data):
            raise ValueError("truncated DER")
        tag, length = data[offset], data[offset + 1]
        offset += 2
        if length & 0x80:
            count = length & 0x7F
            if count == 0 or count > 4 or offset + count > len(data):
                raise ValueError("unsupported DER length")  # BER indefinite length, or absurd
            length = int.from_bytes(data[offset : offset + count], "big")
            offset += count
        if offset + length > len(data):
            raise ValueError("truncated DER")
        items.append((tag, data[offset : offset + length]))
        offset += length
    return items


def _der_int(content: bytes) -> int:
    return int.from_bytes(content, "big", signed=True)


def _pbe_iterations(algorithm: bytes) -> list[int]:
    """The iteration count of a PBE AlgorithmIdentifier: PKCS#12 PBE ``{salt, iterations}`` or PBES2's PBKDF2."""
    oid, params = _der_items(algorithm)[:2]
    fields = _der_items(params[1])
    if oid[1] == _OID_PBES2:
        kdf_params = _der_items(_der_items(fields[0][1])[1][1])
        return [_der_int(kdf_params[1][1])]
    return [_der_int(fields[1][1])]


def pkcs12_iterations(data: bytes) -> list[int]:
    """Every iteration count a PFX asks its opener to run: the MAC's and each encrypted bag's.

    Read from the DER structure (RFC 7292: PFX, AuthenticatedSafe, SafeBag), which keeps them outside the
    ciphertext. ``ValueError`` when the structure cannot be walked (BER, not a PFX): the caller then opens as usual.
    """
    (pfx,) = _der_items(data)[:1]
    _version, auth_safe, *rest = _der_items(pfx[1])
    counts: list[int] = []
    if rest:  # MacData: {DigestInfo, macSalt, iterations DEFAULT 1}
        mac_fields = _der_items(rest[0][1])
        counts.append(_der_int(mac_fields[2][1]) if len(mac_fields) > 2 else 1)
    content_type, content = _der_items(auth_safe[1])[:2]
    if content_type[1] != _OID_DATA:
        return counts  # a public-key integrity PFX: no password KDF in the outer layer
    (safe_octets,) = _der_items(content[1])[:1]
    for info in _der_items(_der_items(safe_octets[1])[0][1]):
        info_type, info_content = _der_items(info[1])[:2]
        if info_type[1] == _OID_ENCRYPTED_DATA:
            encrypted_data = _der_items(info_content[1])[0]
            encrypted_info = _der_items(encrypted_data[1])[1]
            counts += _pbe_iterations(_der_items(encrypted_info[1])[1][1])
        elif info_type[1] == _OID_DATA:
            (bags_octets,) = _der_items(info_content[1])[:1]
            for bag in _der_items(_der_items(bags_octets[1])[0][1]):
                bag_id, bag_value = _der_items(bag[1])[:2]
                if bag_id[1] == _OID_SHROUDED_KEY_BAG:
                    shrouded = _der_items(bag_value[1])[0]
                    counts += _pbe_iterations(_der_items(shrouded[1])[0][1])
    return counts


def check_pkcs12_cost(data: bytes) -> None:
    """Refuse a PFX whose key derivations would take seconds or more to run (``Pkcs12CostError``)."""
    try:
        counts = pkcs12_iterations(data)
    except (ValueError, IndexError):
        return  # not walkable as DER: the open itself reports what is wrong
    worst = max(counts, default=0)
    if worst > MAX_PKCS12_ITERATIONS or sum(counts) > MAX_PKCS12_TOTAL_ITERATIONS:
        raise Pkcs12CostError(
            f"its key derivation asks for {worst:,} iterations (at most {MAX_PKCS12_ITERATIONS:,} each and "
            f"{MAX_PKCS12_TOTAL_ITERATIONS:,} in all are opened; export tools use 2,048): re-export it with "
            "the usual count: openssl pkcs12 -export -iter 2048 -in bundle.pem -out b2c.pfx"
        )


def b64url(data: bytes) -> str:
    """base64url without padding, as JWKs spell binary values."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _uint_b64url(value: int) -> str:
    return b64url(value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big"))


def decode_base64(text: str | bytes) -> bytes:
    """Standard or url-safe base64, whitespace and missing padding tolerated; ValueError otherwise."""
    raw = text.encode("ascii", "replace") if isinstance(text, str) else text
    compact = b"".join(raw.split())
    if not compact:
        raise ValueError("is empty")
    compact = compact.replace(b"-", b"+").replace(b"_", b"/")
    compact += b"=" * (-len(compact) % 4)
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("is not valid base64") from None


#: What starts every PEM private key block: PKCS#8 (``PRIVATE KEY``, ``ENCRYPTED PRIVATE KEY``) and the legacy
#: ``RSA``/``EC``/``DSA PRIVATE KEY`` forms (``openssl pkcs12 -nodes`` writes them next to the certificate).
_PRIVATE_KEY_MARKER = re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----")


def holds_private_key(text_or_bytes: str | bytes) -> bool:
    """Whether a certificate input carries a private key too (as PEM, or base64 of such a PEM file)."""
    data = text_or_bytes.encode("utf-8", "replace") if isinstance(text_or_bytes, str) else bytes(text_or_bytes)
    if _PRIVATE_KEY_MARKER.search(data):
        return True
    if data[:1] == b"\x30":
        return False
    try:
        return bool(_PRIVATE_KEY_MARKER.search(decode_base64(data)))
    except ValueError:
        return False


def load_certificate(text_or_bytes: str | bytes) -> x509.Certificate:
    """A certificate from PEM text, DER bytes, base64 DER, or base64 of a PEM file (what a .cer upload carries)."""
    data = text_or_bytes.encode("utf-8", "replace") if isinstance(text_or_bytes, str) else bytes(text_or_bytes)
    for _ in range(2):  # at most one base64 layer around the DER or PEM
        if data[:1] == b"\x30":  # DER as is: never strip it, its last bytes may well be whitespace values
            try:
                return x509.load_der_x509_certificate(data)
            except ValueError:
                raise ValueError("the DER certificate could not be parsed") from None
        if _PEM_MARKER in data:
            try:
                return x509.load_pem_x509_certificate(data[data.index(_PEM_MARKER) :])
            except ValueError:
                raise ValueError("the PEM certificate could not be parsed") from None
        try:
            data = decode_base64(data)
        except ValueError:
            break
    raise ValueError("not an X.509 certificate (expected PEM, DER or base64 DER)")


@dataclass(frozen=True)
class CertificateFacts:
    """What a JWK and the user see of a certificate; ``n``/``e`` are None for a non-RSA public key."""

    x5c: list[str]
    x5t: str
    thumbprint: str
    n: str | None
    e: str | None
    nbf: int
    exp: int
    subject: str
    key_size: int | None


def certificate_facts(cert: x509.Certificate) -> CertificateFacts:
    der = cert.public_bytes(serialization.Encoding.DER)
    sha1 = hashlib.sha1(der, usedforsecurity=False).digest()
    public = cert.public_key()
    n = e = None
    size = None
    if isinstance(public, rsa.RSAPublicKey):
        numbers = public.public_numbers()
        n, e, size = _uint_b64url(numbers.n), _uint_b64url(numbers.e), public.key_size
    return CertificateFacts(
        x5c=[base64.b64encode(der).decode("ascii")],
        x5t=b64url(sha1),
        thumbprint=sha1.hex().upper(),
        n=n,
        e=e,
        nbf=int(cert.not_valid_before_utc.timestamp()),
        exp=int(cert.not_valid_after_utc.timestamp()),
        subject=cert.subject.rfc4514_string(),
        key_size=size,
    )


def rsa_public_jwk(public: rsa.RSAPublicKey) -> tuple[str, str]:
    """``(n, e)`` base64url, as a JWK carries an RSA public key."""
    numbers = public.public_numbers()
    return _uint_b64url(numbers.n), _uint_b64url(numbers.e)


def _looks_like_pfx(data: bytes) -> bool:
    """A DER SEQUENCE whose first element is INTEGER 3: the PFX version (RFC 7292), whatever the password."""
    if len(data) < 8 or data[0] != 0x30:
        return False
    length = data[1]
    offset = 2 + (length & 0x7F if length & 0x80 else 0)
    return data[offset : offset + 3] == b"\x02\x01\x03"


def open_pkcs12(data: bytes, password: str) -> tuple[Any, x509.Certificate]:
    """The private key and leaf certificate of a PFX.

    Raises ``Pkcs12CostError`` before opening when its iteration counts are absurd, ``Pkcs12PasswordError`` when
    the data is a PFX the password does not open, ``Pkcs12NoKeyError`` when it holds no private key, and
    ``ValueError`` when it is not a PFX or holds no certificate.
    """
    check_pkcs12_cost(data)
    # An empty password is spelt either as no password or as an empty BMPString, depending on the tool.
    attempts: list[bytes | None] = [password.encode("utf-8")] if password else [None, b""]
    for attempt in attempts:
        try:
            key, cert, _extra = pkcs12.load_key_and_certificates(data, attempt)
            break
        except ValueError:
            continue
    else:
        if not _looks_like_pfx(data):
            raise ValueError("not a PKCS#12 (PFX) file")
        raise Pkcs12PasswordError("the PFX password is incorrect")
    if key is None:
        raise Pkcs12NoKeyError("the PFX holds no private key")
    if cert is None:
        raise ValueError("the PFX holds no certificate")
    return key, cert


def pkcs12_uses_aes256(data: bytes) -> bool:
    """Whether the PFX encrypts anything with AES-256-CBC, which B2C refuses (it wants TripleDES-SHA1).

    PKCS#12 keeps every AlgorithmIdentifier in clear: PBES2 parameters of the shrouded key bag and of the encrypted
    certificate bag sit outside the ciphertext, so the DER encoding of the aes256-CBC OID
    (2.16.840.1.101.3.4.1.42, bytes ``06 09 60 86 48 01 65 03 04 01 2A``) appears in the file exactly when a bag uses
    it. A byte search suffices (eleven fixed bytes inside random ciphertext are a 2^-88 event); a BER file whose
    authenticated content is split into constructed OCTET STRING chunks could in theory cut the OID in two.
    """
    return AES256_CBC_OID_DER in data
