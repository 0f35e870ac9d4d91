"""The domain: key sets, keys, their ids and their dates, as the Graph service describes them.

Kept free of HTTP and of Pulumi so the client, the resources, the CLI and the tests share one reading of the
service's JSON (see docs: ../shared/reference/graph-policy-keys.md).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

KEYSET_PREFIX = "B2C_1A_"
BACKUP_SUFFIX = ".bak"

#: Portal names are letters, digits, ``_`` and ``-``. The service's own limit is undocumented; 128 characters
#: (prefix included) is the decision recorded in the README.
KEYSET_NAME_RULE = "letters, digits, '_' and '-' only"
KEYSET_ID_MAX_LENGTH = 128
_KEYSET_NAME_RE = re.compile(r"^[A-Za-z0-9_-]+$")

USES = ("sig", "enc")
KEY_TYPES = ("RSA", "oct")
STATUSES = ("enabled", "disabled")


def _has_prefix(name: str) -> bool:
    return name[: len(KEYSET_PREFIX)].upper() == KEYSET_PREFIX


def normalise_keyset_id(name: str) -> str:
    """The id the service gives a key set created as ``name``: ``B2C_1A_`` is added unless already there.

    The prefix is recognised in any case (``b2c_1a_Thing`` is ``B2C_1A_Thing``, never ``B2C_1A_b2c_1a_Thing``) and
    spelt upper-case; the rest keeps its case, as the service keeps the case a set was created with (undocumented:
    the decision is recorded in docs/emulator.md's behaviour table).
    """
    name = name.strip()
    return KEYSET_PREFIX + (name[len(KEYSET_PREFIX) :] if _has_prefix(name) else name)


def keyset_key(keyset_id: str) -> str:
    """The one identity of a key set, for every comparison, dict key and lock: ids match case-insensitively and
    with or without the prefix, as the service looks them up."""
    return normalise_keyset_id(keyset_id).casefold()


def same_keyset_id(a: str, b: str) -> bool:
    """Whether two spellings name the same key set (``Foo``, ``foo``, ``B2C_1A_FOO``, ``b2c_1a_foo``)."""
    return keyset_key(a) == keyset_key(b)


def keyset_name_problems(name: object) -> list[str]:
    """Why ``name`` cannot name a key set (empty when it can); offline, for check()."""
    if not isinstance(name, str):
        return [f"must be a string, got {type(name).__name__}"]
    if not name.strip():
        return ["must not be empty"]
    if name != name.strip():
        return ["must not start or end with whitespace"]
    bare = name[len(KEYSET_PREFIX) :] if _has_prefix(name) else name
    problems = []
    if not bare:
        problems.append(f"needs a name after the {KEYSET_PREFIX} prefix")
    elif not _KEYSET_NAME_RE.match(bare):
        problems.append(f"may contain {KEYSET_NAME_RULE}")
    if len(normalise_keyset_id(name)) > KEYSET_ID_MAX_LENGTH:
        problems.append(f"must be at most {KEYSET_ID_MAX_LENGTH} characters including the {KEYSET_PREFIX} prefix")
    return problems


def normalise_kty(kty: str) -> str:
    """``RSA`` or ``oct`` whatever case the service answered in (it shows ``OCT`` too)."""
    return "RSA" if kty.upper() == "RSA" else "oct" if kty.upper() == "OCT" else kty


# --- dates -------------------------------------------------------------------------------------------------

#: Epoch seconds this large are almost certainly milliseconds (a known community bug); year 5138 in seconds.
_MAX_EPOCH_SECONDS = 10**11


def is_readable_epoch(seconds: int) -> bool:
    """Whether a number from the service reads as a date in seconds: 1970 up to year 5138 (10^11 s).

    Anything else (negative, milliseconds as some tools upload, absurd) is kept as the raw number and shown as odd.
    """
    return 0 <= seconds < _MAX_EPOCH_SECONDS


def epoch_to_datetime(seconds: int) -> datetime:
    """Raises ``ValueError`` for a number that is not a date (see ``is_readable_epoch``)."""
    if not is_readable_epoch(seconds):
        raise ValueError(odd_date_text(seconds))
    return datetime.fromtimestamp(seconds, tz=UTC)


def odd_date_text(seconds: int) -> str:
    """How a number that is not a date is shown: the raw value, with the likely cause when it is one."""
    hint = " (milliseconds?)" if seconds >= _MAX_EPOCH_SECONDS else ""
    return f"not a date: {seconds}{hint}"


def datetime_to_epoch(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("a datetime must be timezone-aware (for example datetime(..., tzinfo=timezone.utc))")
    return int(moment.timestamp())


def iso_utc(seconds: int) -> str:
    """ISO-8601 in UTC with a ``Z``, as outputs show dates; a number that is not a date shows as such, never raises."""
    if not is_readable_epoch(seconds):
        return odd_date_text(seconds)
    return epoch_to_datetime(seconds).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_moment(value: object) -> int:
    """Epoch seconds from a timezone-aware ``datetime``, an ISO-8601 string with an offset or ``Z``, or epoch seconds.

    Raises ``ValueError`` with a message fit to show the user (it never echoes a huge input in full).
    """
    if isinstance(value, bool):
        raise ValueError("must be a date, not a boolean")
    if isinstance(value, datetime):
        return datetime_to_epoch(value)
    if isinstance(value, int | float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("must be a finite number of seconds since the epoch")
        if isinstance(value, float) and not value.is_integer():
            raise ValueError("epoch seconds must be a whole number")
        seconds = int(value)
        if seconds < 0 or seconds >= _MAX_EPOCH_SECONDS:
            raise ValueError(
                "epoch seconds must be between 0 and 10^11 (milliseconds are not accepted: divide by 1000)"
            )
        return seconds
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return parse_moment(int(text))
        try:
            moment = datetime.fromisoformat(text.replace("z", "Z"))
        except ValueError:
            # Bound what is echoed by its printed length: repr() spells a control or astral character in up to 10.
            shown = repr(text)
            shown = shown if len(shown) <= 48 else shown[:44] + "...'"
            raise ValueError(f"{shown} is not an ISO-8601 date (use e.g. 2027-01-31T00:00:00Z)") from None
        if moment.tzinfo is None:
            raise ValueError("an ISO-8601 date needs an offset or 'Z' (e.g. 2027-01-31T00:00:00Z)")
        seconds = int(moment.timestamp())
        if seconds < 0 or seconds >= _MAX_EPOCH_SECONDS:
            raise ValueError("must be between 1970 and the year 5000")
        return seconds
    raise ValueError(
        f"must be a timezone-aware datetime, an ISO-8601 string or epoch seconds, not {type(value).__name__}"
    )


#: Tests only: the path of a file holding whole seconds to add to the wall clock, the emulator's clock offset
#: (``POST /_emulator/clock``), so a test passes a not-before without sleeping. A file, read on every call, because
#: the provider host is another process. Documented in docs/development.md; never set it outside tests.
TEST_CLOCK_ENV = "B2C_TEST_CLOCK_FILE"


def _test_clock_offset() -> int:
    path = os.environ.get(TEST_CLOCK_ENV)
    if not path:
        return 0
    try:
        with open(path, encoding="utf-8") as file:
            return int(file.read().strip() or 0)
    except (OSError, ValueError):
        return 0


def now_epoch() -> int:
    return int(datetime.now(tz=UTC).timestamp()) + _test_clock_offset()


# --- keys and key sets ---------------------------------------------------------------------------------------


def _optional_int(value: object) -> int | None:
    """A date number of the service's answer, read defensively: one odd key must not break a whole key set.

    Numbers are kept raw whatever their range (``iso_utc`` shows an out-of-range one as odd, never raises); what
    is not a finite number at all is a malformed answer (``ValueError``, which the client reports as such).
    """
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, bool) or not isinstance(value, float | str):
        raise ValueError(f"expected a number, got {type(value).__name__}")
    try:
        number = float(value)
    except ValueError:
        raise ValueError("expected a number, got text") from None
    if not math.isfinite(number):
        raise ValueError("expected a finite number")
    return int(number)


@dataclass(frozen=True)
class Key:
    """One key of a key set as the service shows it: never any secret material."""

    kid: str
    kty: str
    use: str
    nbf: int | None = None
    exp: int | None = None
    status: str = "enabled"
    n: str | None = None
    e: str | None = None
    x5c: tuple[str, ...] = ()
    x5t: str | None = None

    @property
    def not_before(self) -> datetime | None:
        """None when absent or not a date (the raw number stays in ``nbf``)."""
        return None if self.nbf is None or not is_readable_epoch(self.nbf) else epoch_to_datetime(self.nbf)

    @property
    def expires_at(self) -> datetime | None:
        return None if self.exp is None or not is_readable_epoch(self.exp) else epoch_to_datetime(self.exp)

    @property
    def enabled(self) -> bool:
        return self.status != "disabled"

    def is_valid_at(self, now: int) -> bool:
        """Whether the service would consider this key for the active one at ``now``.

        Dates compare as the raw numbers the service stores (Int64 NumericDate): a millisecond ``nbf`` lies
        far in the future, so that key is never active; a millisecond ``exp`` never expires; a negative one
        is in the past. Decision recorded in docs/emulator.md (the service's handling is undocumented).
        """
        return self.enabled and (self.nbf is None or self.nbf <= now) and (self.exp is None or now < self.exp)

    @classmethod
    def from_graph(cls, body: Mapping[str, Any]) -> Key:
        """Read a trustFrameworkKey; tolerant of case (``OCT``), absent status and extra fields."""
        kid = body.get("kid")
        if not isinstance(kid, str) or not kid:
            raise ValueError("the key has no 'kid'")
        x5c = body.get("x5c") or ()
        status = body.get("status")
        return cls(
            kid=kid,
            kty=normalise_kty(str(body.get("kty") or "")),
            use=str(body.get("use") or ""),
            nbf=_optional_int(body.get("nbf")),
            exp=_optional_int(body.get("exp")),
            # Older answers carry no status; the key is then enabled (undocumented, see docs/emulator.md).
            status=str(status) if status else "enabled",
            n=body.get("n") or None,
            e=body.get("e") or None,
            x5c=tuple(str(c) for c in x5c) if isinstance(x5c, list | tuple) else (),
            x5t=body.get("x5t") or None,
        )

    def to_output(self) -> dict[str, Any]:
        """The plain-dict shape resources and the CLI show: epoch seconds and ISO-8601 UTC side by side."""
        return {
            "kid": self.kid,
            "kty": self.kty,
            "use": self.use,
            "not_before": self.nbf,
            "not_before_iso": None if self.nbf is None else iso_utc(self.nbf),
            "expires_at": self.exp,
            "expires_at_iso": None if self.exp is None else iso_utc(self.exp),
            "status": self.status,
        }


def active_key(keys: Iterable[Key], now: int | None = None) -> Key | None:
    """The key the service treats as active: valid now, greatest ``nbf``; keys without ``nbf`` rank lowest."""
    at = now_epoch() if now is None else now
    candidates = [k for k in keys if k.is_valid_at(at)]
    if not candidates:
        return None
    return max(candidates, key=lambda k: -1 if k.nbf is None else k.nbf)


@dataclass(frozen=True)
class KeySet:
    id: str
    keys: tuple[Key, ...] = field(default_factory=tuple)

    def key(self, kid: str) -> Key | None:
        return next((k for k in self.keys if k.kid == kid), None)

    def active_key(self, now: int | None = None) -> Key | None:
        return active_key(self.keys, now)

    @classmethod
    def from_graph(cls, body: Mapping[str, Any]) -> KeySet:
        keyset_id = body.get("id")
        if not isinstance(keyset_id, str) or not keyset_id:
            raise ValueError("the key set has no 'id'")
        keys = body.get("keys") or []
        if not isinstance(keys, list):
            raise ValueError("the key set's 'keys' is not a list")
        return cls(id=keyset_id, keys=tuple(Key.from_graph(k) for k in keys))
