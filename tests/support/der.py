"""Rewrite one field of a real PFX, to make files no export tool writes (an absurd KDF iteration count).

The files start as real PKCS#12 made by cryptography; only the MAC's iteration count is re-encoded (DER), so the
structure stays valid and only the cost of opening it changes (its MAC no longer verifies: that needs the open).
"""

from __future__ import annotations

from b2c_policy_keys.certificates import _der_items


def tlv(tag: int, content: bytes) -> bytes:
    """One DER item: tag, definite length, content."""
    size = len(content)
    if size < 0x80:
        length = bytes([size])
    else:
        raw = size.to_bytes((size.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + content


def with_mac_iterations(pfx: bytes, iterations: int) -> bytes:
    """``pfx`` with its MacData iteration count set to ``iterations``."""
    (outer,) = _der_items(pfx)[:1]
    version, auth_safe, mac_data = _der_items(outer[1])
    digest, salt = _der_items(mac_data[1])[:2]
    count = iterations.to_bytes((iterations.bit_length() + 8) // 8, "big")
    mac = tlv(0x30, tlv(*digest) + tlv(*salt) + tlv(0x02, count))
    return tlv(0x30, tlv(*version) + tlv(*auth_safe) + mac)
