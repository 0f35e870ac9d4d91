"""OData query options on the emulated Graph: the few it implements, and the refusal of every other one.

The metadata advertises ``$count``, ``$expand``, ``$filter``, ``$orderby``, ``$search``, ``$select``, ``$skip`` and
``$top`` on the lists (docs/emulator-coverage.md); what the service does with them is unverified. ``$top`` (with our
own ``$skiptoken`` in ``@odata.nextLink``) and ``$select`` are cheap and sure; any other ``$`` option is refused
rather than silently ignored, so a caller learns it was not applied (chosen, docs/emulator.md). Parameters without
``$`` are ignored, as Graph ignores them.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qs

from b2c_policy_keys.emulator import refusals

#: The options each GET route implements, by route kind.
IMPLEMENTED: Mapping[str, frozenset[str]] = {
    "collection": frozenset({"$top", "$skiptoken", "$select"}),
    "keyset": frozenset({"$select"}),
}
KEYSET_PROPERTIES = ("id", "keys")


def parse(query: str | Mapping[str, str]) -> dict[str, str]:
    """The query as a mapping, ``$`` option names lower-cased (OData system query options are case-insensitive)."""
    if isinstance(query, str):
        pairs = {name: values[-1] for name, values in parse_qs(query, keep_blank_values=True).items()}
    else:
        pairs = dict(query)
    return {(name.lower() if name.startswith("$") else name): value for name, value in pairs.items()}


def check(params: Mapping[str, str], route_kind: str) -> None:
    """Refuse the first ``$`` option the route does not implement."""
    implemented = IMPLEMENTED.get(route_kind, frozenset())
    for name in params:
        if name.startswith("$") and name not in implemented:
            raise refusals.query_option_not_allowed(name)


def selection(params: Mapping[str, str]) -> list[str] | None:
    """``$select`` of a key set: the named properties in the entity's order; None when not given."""
    if "$select" not in params:
        return None
    wanted = [name.strip() for name in params["$select"].split(",") if name.strip()]
    for name in wanted:
        if name.lower() not in KEYSET_PROPERTIES:
            raise refusals.unknown_property(name, "trustFrameworkKeySet")
    lowered = {name.lower() for name in wanted}
    return [name for name in KEYSET_PROPERTIES if name in lowered] or list(KEYSET_PROPERTIES)


def context_suffix(selected: list[str] | None) -> str:
    """``(id,keys)`` after the entity set in ``@odata.context`` when ``$select`` was given (OData JSON format)."""
    return "" if selected is None else f"({','.join(selected)})"
