"""What to say when a key does not fit its key set: B2C keeps one type (RSA or oct) and one use (sig or enc) per set.

The service answers ``AADB2C95032`` / ``AADB2C95042`` (or ``AADB2C90215`` for a use that differs); the user needs
to know which key set, what it already holds, and what to do instead.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from b2c_policy_keys.errors import B2CKeysError, GraphError
from b2c_policy_keys.model import KeySet

if TYPE_CHECKING:
    from b2c_policy_keys.graph import GraphClient

#: Codes the service answers when a key's type or use differs from the rest of its set.
FAMILY_CODES = frozenset({"AADB2C95032", "AADB2C95042", "AADB2C90215"})


class KeyFamilyError(B2CKeysError):
    """A key whose type or use differs from the keys already in its key set."""


def is_family_refusal(error: GraphError) -> bool:
    return error.code in FAMILY_CODES


def holdings(keyset: KeySet) -> str:
    """``2 RSA sig keys`` / ``1 RSA sig key and 1 oct sig key``: what a key set holds, for messages."""
    counts = Counter((k.kty, k.use) for k in keyset.keys)
    if not counts:
        return "no keys"
    parts = [f"{n} {kty} {use} key{'s' if n != 1 else ''}" for (kty, use), n in sorted(counts.items())]
    return " and ".join(parts)


def family_error(client: GraphClient, keyset_id: str, *, kty: str, use: str, error: GraphError) -> KeyFamilyError:
    """The mix refusal, restated with what the set holds (one GET) and the fix."""
    try:
        held = holdings(client.get_keyset(keyset_id))
    except GraphError:
        held = "keys of another type or use"
    return KeyFamilyError(
        f"key set {keyset_id} holds {held}; a {kty} {use} key cannot join it (B2C keeps one type and one use per "
        f"key set, {error.code}): put this key in its own key set, or declare it with the set's type and use"
    )
