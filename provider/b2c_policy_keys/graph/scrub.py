"""Remove secrets from text shown to people, in every spelling a service or tool may echo them back in.

An error answer can quote what it was sent: JSON-escaped, URL-encoded, base64 (alone, or inside a larger value such
as a Basic ``Authorization`` header), re-cased, or cut short. Each spelling, and each prefix of it of at least
``MIN_PREFIX`` characters that ends where a cut value ends (the end of the text, an ellipsis, a closing quote or
bracket: a truncated echo), becomes ``***`` (issue 11, B11).
"""

from __future__ import annotations

import base64
import functools
import json
import re
import urllib.parse
from collections.abc import Iterable

MASK = "***"
#: A prefix this long of a secret (or of one of its spellings) is treated as the secret cut short.
MIN_PREFIX = 8
#: Shorter secrets are matched only whole: a 3-character "secret" would mask ordinary words.
MIN_SECRET = 4
#: What follows a cut-short echo: the end of the text, an ellipsis, or the quote or bracket that closed the value.
#: A prefix followed by anything else is ordinary text ("emulator line" is not "emulator-readwrite-secret" cut).
_CUT_ENDS = ("...", "…", '"', "'", "`", ")", "]", "}", ">", "\\")


def _base64_spellings(raw: bytes) -> set[str]:
    """Base64 of ``raw`` alone, and the part of it that is the same wherever ``raw`` sits inside a longer value."""
    found: set[str] = set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw).decode()
        whole = encoded if offset == 0 else None
        # Characters mixing padding or neighbouring bytes: the first group when shifted, the last when incomplete.
        start = 4 if offset else 0
        end = len(encoded) - (4 if (offset + len(raw)) % 3 else 0)
        for text in (whole, encoded[start:end]):
            if text:
                found.update({text, text.rstrip("="), text.replace("+", "-").replace("/", "_")})
    return found


def spellings(secret: str) -> set[str]:
    """Every spelling of ``secret`` the scrubber looks for (before prefixes and case)."""
    cased = {secret, secret.upper(), secret.lower(), secret.casefold(), secret.swapcase()}
    found: set[str] = set()
    for text in cased:
        found.add(text)
        found.add(json.dumps(text)[1:-1])
        found.add(json.dumps(text, ensure_ascii=False)[1:-1])
        found.add(json.dumps(text)[1:-1].replace("/", "\\/"))
        try:
            raw = text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: no URL or base64 spelling exists
            continue
        found.add(urllib.parse.quote(raw, safe=""))
        found.add(urllib.parse.quote(raw))
        found.add(urllib.parse.quote_plus(raw))
        found.update(_base64_spellings(raw))
    return {text for text in found if len(text) >= MIN_SECRET}


@functools.lru_cache(maxsize=64)
def _variants(secrets: frozenset[str]) -> tuple[tuple[str, re.Pattern[str]], ...]:
    """Each spelling with a pattern for its first ``MIN_PREFIX`` characters (all of it when shorter)."""
    variants = {text for secret in secrets if len(secret) >= MIN_SECRET for text in spellings(secret)}
    return tuple((text, re.compile(re.escape(text[:MIN_PREFIX]), re.IGNORECASE)) for text in sorted(variants))


def _extent(text: str, start: int, end: int, variant: str) -> int:
    """Where a match of ``variant``'s head at ``start`` ends: as far as ``text`` goes on spelling ``variant``."""
    offset = end - start
    while offset < len(variant) and end < len(text) and text[end].lower() == variant[offset].lower():
        end += 1
        offset += 1
    return end


def _cut_here(text: str, end: int) -> bool:
    return end == len(text) or text.startswith(_CUT_ENDS, end)


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every spelling of every secret (of at least ``MIN_SECRET`` characters) replaced by ``***``.

    Every spelling is searched separately and the spans merged, so where two spellings share a beginning the longer
    match is masked whole rather than the first alternative's prefix with the rest left in clear.
    """
    spans: list[tuple[int, int]] = []
    for variant, head in _variants(frozenset(s for s in secrets if s)):
        for match in head.finditer(text):
            end = _extent(text, match.start(), match.end(), variant)
            whole = end - match.start() == len(variant)
            if whole or (end - match.start() >= MIN_PREFIX and _cut_here(text, end)):
                spans.append((match.start(), end))
    if not spans:
        return text
    spans.sort()
    merged = [spans[0]]
    for start, end in spans[1:]:
        if start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    pieces: list[str] = []
    cursor = 0
    for start, end in merged:
        pieces.append(text[cursor:start])
        pieces.append(MASK)
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)
