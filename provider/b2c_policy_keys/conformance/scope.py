"""The scratch prefix: which key sets the probe may touch, checked before every request it sends."""

from __future__ import annotations

import re

from b2c_policy_keys.errors import B2CKeysError, ConfigurationError

ID_PREFIX = "B2C_1A_"
#: Letters and digits, starting with a letter: a prefix stays a prefix of every name built from it (no `_`/`-`
#: that could run into the run token), and one short enough to leave room for the step tag and the run token.
_PREFIX = re.compile(r"[A-Za-z][A-Za-z0-9]{3,39}")


class ScopeError(B2CKeysError):
    """A request would have touched a key set outside the scratch prefix: a bug in the script, never sent."""


def validate_prefix(prefix: str | None) -> str:
    """The prefix as given, or a ConfigurationError naming ``--prefix`` and what a valid one looks like."""
    if not prefix:
        raise ConfigurationError(
            "--prefix is required: the probe creates and deletes key sets, and touches only those named "
            "B2C_1A_<prefix>...; pick a prefix no real key set uses, e.g. --prefix ConfProbe"
        )
    if prefix.upper().startswith(ID_PREFIX):
        raise ConfigurationError(
            f"--prefix {prefix!r}: give the name part only (without {ID_PREFIX}), e.g. --prefix ConfProbe"
        )
    if not _PREFIX.fullmatch(prefix):
        raise ConfigurationError(
            f"--prefix {prefix!r} is not a scratch prefix: use 4 to 40 letters and digits starting with a letter, "
            "e.g. --prefix ConfProbe"
        )
    return prefix


def full_id(name: str) -> str:
    """The id the service gives a name: ``B2C_1A_`` added unless present (reference: "Id prefix")."""
    return name if name.upper().startswith(ID_PREFIX) else ID_PREFIX + name


class Scope:
    """Key sets ``B2C_1A_<prefix>...`` (case-insensitive, ``.bak`` included): nothing else may be addressed."""

    def __init__(self, prefix: str) -> None:
        self.prefix = validate_prefix(prefix)
        self._full = (ID_PREFIX + prefix).upper()

    def contains(self, keyset_id: str) -> bool:
        return full_id(keyset_id).upper().startswith(self._full)

    def check(self, keyset_id: object) -> str:
        """``keyset_id`` if it is inside the prefix; ScopeError otherwise (the request is not sent)."""
        if not isinstance(keyset_id, str) or not self.contains(keyset_id):
            raise ScopeError(f"refusing a request for a key set outside the scratch prefix {self.prefix!r}")
        return keyset_id
