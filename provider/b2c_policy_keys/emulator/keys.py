"""Making and checking keys the way B2C does: real RSA-2048 and random oct keys, JWK payload validation.

Only public parts are ever kept. An uploaded secret survives as an HMAC-SHA256 under a random per-key salt, so the
emulator can answer "was this the value uploaded?" (tests, drift checks) without a readable copy on disk.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import re
import secrets
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from cryptography.hazmat.primitives.asymmetric import rsa

from b2c_policy_keys import certificates
from b2c_policy_keys.emulator import refusals
from b2c_policy_keys.model import normalise_kty

KID_BYTES = 32
MIN_RSA_BITS = 2048
#: The fields a response may carry; everything else (k, d, p, q, dp, dq, qi) stays behind.
PUBLIC_FIELDS = ("kid", "use", "kty", "nbf", "exp", "e", "n", "x5c", "x5t", "status")
_SEAL_FIELD = "sealed"  # salt and HMAC of an oct key's value, never the value
_B64URL = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")
_MAX_EPOCH = 10**11


class Container(NamedTuple):
    """Which key container a key is checked for: the catalogue's messages name the tenant and the set."""

    tenant: str
    keyset_id: str


def new_kid() -> str:
    """43 base64url characters: 32 random bytes, like the ids the service assigns."""
    return certificates.b64url(secrets.token_bytes(KID_BYTES))


def seal_secret(value: str) -> dict[str, str]:
    salt = secrets.token_bytes(16)
    mac = hmac.new(salt, value.encode("utf-8"), hashlib.sha256).digest()
    return {"salt": salt.hex(), "mac": mac.hex()}


def secret_matches(stored: Mapping[str, Any], value: str) -> bool:
    sealed = stored.get(_SEAL_FIELD)
    if not isinstance(sealed, Mapping):
        return False
    mac = hmac.new(bytes.fromhex(sealed["salt"]), value.encode("utf-8"), hashlib.sha256).digest()
    return hmac.compare_digest(mac.hex(), sealed["mac"])


def public_view(stored: Mapping[str, Any]) -> dict[str, Any]:
    """A stored key as Graph shows it: every readable property (null when unset) and ``k`` as null."""
    view: dict[str, Any] = {name: stored.get(name) for name in PUBLIC_FIELDS}
    view["x5c"] = list(stored.get("x5c") or [])
    view["status"] = stored.get("status") or "enabled"
    view["k"] = None
    return view


# --- field checks -------------------------------------------------------------------------------------------


def check_kty(value: object) -> str:
    if value is None or value == "":
        raise refusals.missing_kty()
    if not isinstance(value, str) or normalise_kty(value) not in ("RSA", "oct"):
        raise refusals.bad_kty(value)
    return normalise_kty(value)


def check_use(value: object) -> str:
    if value is None or value == "":
        raise refusals.missing_parameter("use")
    if not isinstance(value, str) or value.lower() not in ("sig", "enc"):
        raise refusals.bad_use(value)
    return value.lower()


def _check_moment(name: str, value: object) -> int | None:
    # NumericDate seconds (doc: trustFrameworkKey); refusing milliseconds and fractions with 90215 is chosen.
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or int(value) != value:
        raise refusals.badly_formatted(f"{name} must be a whole number of seconds since the epoch")
    seconds = int(value)
    if seconds < 0 or seconds >= _MAX_EPOCH:
        raise refusals.badly_formatted(f"{name} must be seconds since the epoch, not milliseconds")
    return seconds


def check_validity(body: Mapping[str, Any], now: int, where: Container) -> tuple[int | None, int | None]:
    """``nbf``/``exp`` as integer seconds; an expiry in the past or before the not-before date is refused."""
    nbf = _check_moment("nbf", body.get("nbf"))
    exp = _check_moment("exp", body.get("exp"))
    if exp is not None and exp <= now:
        raise refusals.expired(where.tenant, where.keyset_id, exp)
    if nbf is not None and exp is not None and nbf >= exp:
        raise refusals.badly_formatted("nbf must be before exp")
    return nbf, exp


def check_family(keys: Sequence[Mapping[str, Any]]) -> None:
    """One key type and one use per key set (doc: catalogue codes 95032 and 95042)."""
    if len({k["kty"] for k in keys}) > 1:
        raise refusals.mixed_types()
    if len({k["use"] for k in keys}) > 1:
        raise refusals.mixed_uses()


def _is_b64url(value: object) -> bool:
    return isinstance(value, str) and bool(value) and bool(_B64URL.match(value))


def _b64url_int(value: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")


# --- keys from payloads and actions ------------------------------------------------------------------------------


def from_jwk(jwk: object, now: int, where: Container) -> dict[str, Any]:
    """A key given in full in a create or PUT payload: checked, then stripped to its public parts (+ sealed ``k``)."""
    if not isinstance(jwk, Mapping):
        raise refusals.bad_jwk_format(where.tenant)
    if jwk.get("kid"):
        raise refusals.kid_in_payload()
    kty = check_kty(jwk.get("kty"))
    use = check_use(jwk.get("use"))
    nbf, exp = check_validity(jwk, now, where)
    status = jwk.get("status") or "enabled"
    if status not in ("enabled", "disabled"):
        raise refusals.badly_formatted(f"status must be enabled or disabled, not {status}")
    key: dict[str, Any] = {"kid": new_kid(), "kty": kty, "use": use, "nbf": nbf, "exp": exp, "status": status}
    if kty == "oct":
        k = jwk.get("k")
        if k is None or k == "":
            raise refusals.missing_parameter("k")
        if not _is_b64url(k):
            raise refusals.k_not_base64url()
        key[_SEAL_FIELD] = seal_secret(str(k))
    else:
        n, e = jwk.get("n"), jwk.get("e")
        if not n or not e:
            raise refusals.rsa_parts_missing()
        if not (_is_b64url(n) and _is_b64url(e)):
            raise refusals.bad_jwk_format(where.tenant)
        if _b64url_int(str(n)).bit_length() < MIN_RSA_BITS:
            raise refusals.rsa_too_short(MIN_RSA_BITS)
        key["n"], key["e"] = n, e
        x5c = jwk.get("x5c")
        if isinstance(x5c, list) and x5c:
            key["x5c"] = [str(c) for c in x5c]
            if jwk.get("x5t"):
                key["x5t"] = str(jwk["x5t"])
    return key


def generated(kty: str, use: str, nbf: int | None, exp: int | None) -> dict[str, Any]:
    """generateKey: a real RSA-2048 key (only n and e are kept) or a random oct key (only its seal is kept)."""
    key: dict[str, Any] = {"kid": new_kid(), "kty": kty, "use": use, "nbf": nbf, "exp": exp, "status": "enabled"}
    if kty == "RSA":
        private = rsa.generate_private_key(public_exponent=65537, key_size=MIN_RSA_BITS)
        key["n"], key["e"] = certificates.rsa_public_jwk(private.public_key())
        del private
    else:
        # 64 random bytes, like the portal's generated secrets; only their seal is kept, as for uploaded secrets.
        key[_SEAL_FIELD] = seal_secret(certificates.b64url(secrets.token_bytes(64)))
    return key


def uploaded_secret(value: str, use: str, nbf: int | None, exp: int | None) -> dict[str, Any]:
    return {
        "kid": new_kid(),
        "kty": "oct",
        "use": use,
        "nbf": nbf,
        "exp": exp,
        "status": "enabled",
        _SEAL_FIELD: seal_secret(value),
    }


def from_certificate(facts: certificates.CertificateFacts, now: int, where: Container) -> dict[str, Any]:
    """uploadCertificate/uploadPkcs12: the certificate's public key and validity; ``use`` is always ``sig``."""
    if facts.n is None or facts.e is None:
        raise refusals.bad_certificate(where.keyset_id, where.tenant, "the certificate's public key is not RSA")
    if facts.exp <= now:
        raise refusals.expired(where.tenant, where.keyset_id, facts.exp)
    return {
        "kid": new_kid(),
        "kty": "RSA",
        "use": "sig",
        "nbf": facts.nbf,
        "exp": facts.exp,
        "status": "enabled",
        "n": facts.n,
        "e": facts.e,
        "x5c": facts.x5c,
        "x5t": facts.x5t,
    }


def decode_upload(value: object, name: str, where: Container) -> bytes:
    """The bytes of a base64 upload field (``key`` of uploadCertificate/uploadPkcs12)."""
    if value is None or value == "":
        raise refusals.missing_parameter(name)
    if not isinstance(value, str):
        raise refusals.bad_certificate(where.keyset_id, where.tenant, f"'{name}' must be a base64 string")
    try:
        return certificates.decode_base64(value)
    except ValueError as exc:
        raise refusals.bad_certificate(where.keyset_id, where.tenant, f"'{name}' {exc}") from None
