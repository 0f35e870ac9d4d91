"""Never a moment without a valid key (issue 11, B01): the rules every key's disable follows.

A key set is dark when no key is enabled and valid now (``AADB2C90019`` for every sign-in that uses it). A disable
that would make it dark while another of its keys only waits for its not-before takes away the key that must serve
until then: it is refused. A set whose other keys are all disabled or expired may go dark: that is what removing its
last key means.
"""

from __future__ import annotations

from b2c_policy_keys import model
from b2c_policy_keys.errors import B2CKeysError

#: Outputs of a key in the middle of a scheduled rotation: the kid it replaces, kept enabled until ``retire_at``
#: (the new key's not-before), and that moment in epoch seconds.
RETIRING_KID = "retiring_kid"
RETIRE_AT = "retire_at"


class WouldLeaveNoValidKeyError(B2CKeysError):
    """A disable refused because the key set would have no valid enabled key while another is scheduled to start."""


def refuse_to_darken(keyset: model.KeySet, kids: set[str], doing: str) -> None:
    """Raise when disabling ``kids`` leaves ``keyset`` without a valid key although one of its other keys is enabled
    and only waits for its not-before: that key is meant to take over, so the old one must serve until then."""
    now = model.now_epoch()
    remaining = [k for k in keyset.keys if k.kid not in kids]
    if not any(k.kid in kids and k.is_valid_at(now) for k in keyset.keys):
        return  # nothing valid is being taken away
    if any(k.is_valid_at(now) for k in remaining):
        return
    waiting = sorted(
        (k for k in remaining if k.enabled and k.nbf is not None and k.nbf > now and (k.exp is None or k.exp > k.nbf)),
        key=lambda k: k.nbf or 0,
    )
    if waiting:
        first = waiting[0]
        when = model.iso_utc(first.nbf or now)
        raise WouldLeaveNoValidKeyError(
            f"Not {doing}: {keyset.id} would have no valid key until {first.kid} becomes valid at {when} "
            f"(AADB2C90019 for every sign-in meanwhile). The key stays enabled; run `pulumi up` again after {when} "
            f"to finish, or disable it anyway with `b2c-keys disable {keyset.id} <kid> --force` "
            f"(kid: {', '.join(sorted(kids))})."
        )
