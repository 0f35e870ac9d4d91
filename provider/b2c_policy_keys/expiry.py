"""Which key sets need attention before they break sign-in, and why.

Pure functions of ``KeySet`` values and a moment, so the CLI, alert pipelines and tests share one rule. A key set
needs attention when:

- **expiring**: its active key expires within the window and no other enabled key takes over in time (a key that is
  valid when the active one expires and still valid at the end of the window); a rotation already uploaded is
  therefore not reported again;
- **no valid key**: no key at all is valid now (none, all expired, or none valid yet), so sign-in fails today;
- **only disabled**: the only keys valid now are disabled; enabling one (or adding a key) fixes it.

Backups the service leaves behind on delete (``B2C_1A_x.bak``) are not policy keys anyone references and are left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from b2c_policy_keys.model import BACKUP_SUFFIX, Key, KeySet, iso_utc

DAY = 86_400
_WINDOW_RE = re.compile(r"^\s*(\d+)\s*([smhdw]?)\s*$")
_UNIT_SECONDS = {"": DAY, "s": 1, "m": 60, "h": 3_600, "d": DAY, "w": 7 * DAY}


class Reason(StrEnum):
    EXPIRING = "expiring"
    NO_VALID_KEY = "no-valid-key"
    ONLY_DISABLED = "only-disabled"


@dataclass(frozen=True)
class Finding:
    """One key set that needs attention: the reason, a sentence for people, and the fix."""

    keyset_id: str
    reason: Reason
    message: str
    fix: str
    kid: str | None = None
    expires_at: int | None = None

    def to_output(self) -> dict[str, object]:
        return {
            "keyset_id": self.keyset_id,
            "reason": str(self.reason),
            "message": self.message,
            "fix": self.fix,
            "kid": self.kid,
            "expires_at": self.expires_at,
            "expires_at_iso": None if self.expires_at is None else iso_utc(self.expires_at),
        }


def parse_window(text: str) -> int:
    """Seconds in a window written ``30d``, ``12h``, ``2w``, ``90m``, ``45s`` or a bare number of days."""
    match = _WINDOW_RE.match(text)
    if not match:
        raise ValueError(f"{text[:20]!r} is not a window: use a number with s, m, h, d or w (e.g. 30d)")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def is_backup(keyset: KeySet) -> bool:
    return keyset.id.endswith(BACKUP_SUFFIX)


def earliest_upcoming_expiry(keyset: KeySet, now: int) -> Key | None:
    """The enabled key that expires next (after ``now``), the date a reader of ``list`` wants to see."""
    upcoming = [k for k in keyset.keys if k.enabled and k.exp is not None and k.exp > now]
    return min(upcoming, key=lambda k: k.exp or 0, default=None)


def _in_dates(key: Key, at: int) -> bool:
    return (key.nbf is None or key.nbf <= at) and (key.exp is None or at < key.exp)


def _covered_after(active: Key, keys: Iterable[Key], horizon: int) -> bool:
    """Whether another enabled key is valid when ``active`` expires and stays valid through ``horizon``."""
    assert active.exp is not None
    return any(
        k.kid != active.kid and k.enabled and _in_dates(k, active.exp) and (k.exp is None or k.exp > horizon)
        for k in keys
    )


def _human_delta(seconds: int) -> str:
    if seconds < 3_600:
        return "in less than an hour"
    if seconds < DAY:
        hours = seconds // 3_600
        return f"in {hours} hour{'s' if hours != 1 else ''}"
    days = round(seconds / DAY)
    return f"in {days} day{'s' if days != 1 else ''}"


def _no_valid_key(keyset: KeySet, now: int) -> Finding:
    keys = keyset.keys
    fix = f"add a key to {keyset.id} (generate, upload a secret or a certificate)"
    if not keys:
        return Finding(keyset.id, Reason.NO_VALID_KEY, "holds no keys", fix)
    expired = [k for k in keys if k.exp is not None and k.exp <= now]
    if len(expired) == len(keys):
        last = max(expired, key=lambda k: k.exp or 0)
        assert last.exp is not None
        text = f"every key has expired (the last on {iso_utc(last.exp)})"
        return Finding(keyset.id, Reason.NO_VALID_KEY, text, fix, kid=last.kid, expires_at=last.exp)
    future = [k for k in keys if k.nbf is not None and k.nbf > now]
    if future:
        first = min(future, key=lambda k: k.nbf or 0)
        assert first.nbf is not None
        text = f"no key is valid yet (the first becomes valid on {iso_utc(first.nbf)})"
        return Finding(keyset.id, Reason.NO_VALID_KEY, text, fix + " valid from now", kid=first.kid)
    return Finding(keyset.id, Reason.NO_VALID_KEY, "no key is valid now", fix)


def assess(keyset: KeySet, *, now: int, window: int) -> Finding | None:
    """The finding for one key set, or None when it is healthy through ``now + window``."""
    active = keyset.active_key(now)
    if active is None:
        disabled_valid = [k for k in keyset.keys if not k.enabled and _in_dates(k, now)]
        if disabled_valid:
            count = len(disabled_valid)
            text = f"the only valid key{'s are' if count > 1 else ' is'} disabled ({count} disabled, none enabled)"
            fix = f"enable {disabled_valid[0].kid} or add a new key to {keyset.id}"
            return Finding(keyset.id, Reason.ONLY_DISABLED, text, fix, kid=disabled_valid[0].kid)
        return _no_valid_key(keyset, now)
    horizon = now + window
    if active.exp is None or active.exp > horizon or _covered_after(active, keyset.keys, horizon):
        return None
    text = f"active key {active.kid} expires on {iso_utc(active.exp)} ({_human_delta(active.exp - now)})"
    fix = f"add a key to {keyset.id} valid from before {iso_utc(active.exp)} (rotate it)"
    return Finding(keyset.id, Reason.EXPIRING, text, fix, kid=active.kid, expires_at=active.exp)


def find_attention(keysets: Iterable[KeySet], *, now: int, window: int) -> list[Finding]:
    """Findings for every key set except backups, most urgent first (broken sets, then by expiry)."""
    findings = [f for ks in keysets if not is_backup(ks) if (f := assess(ks, now=now, window=window)) is not None]
    return sorted(findings, key=lambda f: (f.reason == Reason.EXPIRING, f.expires_at or 0, f.keyset_id))
