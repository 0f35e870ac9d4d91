"""Turning answers into what a record may hold: message templates, body shapes, and a last scan for leaks.

A template replaces every value that differs between tenants or runs (key set ids, tenant ids and names, GUIDs,
dates, kids, the Graph root) by ``{0}``, ``{1}``... numbered by first appearance, as the B2C error catalogue writes
its messages, so two records compare equal exactly when the services answer alike.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

#: Properties whose value is vocabulary, not data: recorded literally (``kty: "oct"`` vs ``"OCT"`` is a finding).
VOCABULARY = frozenset({"kty", "use", "status", "@odata.type"})
#: Properties whose value is a URL or id-bearing text: recorded as a template.
TEMPLATED = frozenset({"@odata.context", "@odata.id", "@odata.nextLink", "id"})

_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_TENANT_NAME = r"[A-Za-z0-9-]+\.(?:onmicrosoft\.com|b2clogin\.com|onmicrosoft\.us|partner\.onmschina\.cn)"
_ISO_DATE = r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
_US_DATE = r"\d{1,2}/\d{1,2}/\d{4}(?: \d{1,2}:\d{2}(?::\d{2})?(?: ?[AP]M)?)?"
_EPOCH = r"(?<![\w.])\d{10,13}(?![\w.])"
#: A kid as the service makes them: 43 base64url characters (a SHA-256 digest), or a JWT-looking token.
_KID = r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])"
_TOKEN = r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"  # noqa: S105 - a pattern, not a token


class Redactor:
    """Everything the probe knows to be sensitive or run-specific, and the rules that hide it."""

    def __init__(self, *, prefix: str, graph_url: str, sensitive: Iterable[str] = ()) -> None:
        self.graph_root = graph_url.rstrip("/")
        self._sensitive: set[str] = {value for value in sensitive if value}
        ids = rf"(?:B2C_1A_)?{re.escape(prefix)}[A-Za-z0-9_-]*(?:\.bak)?"
        self._generic = [
            rf"(?i:{ids})",
            _TOKEN,
            _GUID,
            _TENANT_NAME,
            _ISO_DATE,
            _US_DATE,
            _EPOCH,
            _KID,
        ]

    def add_sensitive(self, *values: str | None) -> None:
        """Values the record must never hold (secrets, kids, tokens); also replaced wherever they appear."""
        self._sensitive.update(value for value in values if value)

    def template(self, text: str) -> str:
        """``text`` with every run- or tenant-specific value replaced by ``{n}`` (same value, same number)."""
        literals = sorted(self._sensitive | {self.graph_root}, key=len, reverse=True)
        alternatives = [re.escape(value) for value in literals if value] + self._generic
        pattern = re.compile("|".join(f"(?:{alternative})" for alternative in alternatives))
        numbers: dict[str, int] = {}

        def number(match: re.Match[str]) -> str:
            value = match.group(0).lower()
            return f"{{{numbers.setdefault(value, len(numbers))}}}"

        # The service's own braces (a JSON message) stay as they are: placeholders are only ``{digits}``.
        return pattern.sub(number, text)

    def shape(self, value: Any, key: str | None = None) -> Any:
        """The body's structure: keys and value types; vocabulary literally, id-bearing text as a template."""
        if isinstance(value, dict):
            return {name: self.shape(value[name], name) for name in sorted(value)}
        if isinstance(value, list):
            shapes: list[Any] = []
            for item in value:
                item_shape = self.shape(item, key)
                if item_shape not in shapes:
                    shapes.append(item_shape)
            return shapes
        if isinstance(value, bool):
            return "boolean"
        if isinstance(value, int):
            return "integer"
        if isinstance(value, float):
            return "number"
        if value is None:
            return "null"
        if isinstance(value, str):
            if key in VOCABULARY:
                return f"string={self.template(value)}"
            if key in TEMPLATED:
                return f"string={self.template(value)}"
            return "string"
        return type(value).__name__

    def leaks(self, text: str) -> list[str]:
        """What of the sensitive values (or anything token-shaped) ``text`` still holds, described, not quoted."""
        found = [f"a sensitive value of {len(value)} characters" for value in self._sensitive if value in text]
        if re.search(_TOKEN, text):
            found.append("a JWT-shaped token")
        if re.search(_GUID, text):
            found.append("a GUID")
        return found

    def assert_clean(self, record: object) -> None:
        text = json.dumps(record)
        leaks = self.leaks(text)
        if leaks:
            raise ValueError(f"the record would hold {', '.join(sorted(set(leaks)))}: not written")
