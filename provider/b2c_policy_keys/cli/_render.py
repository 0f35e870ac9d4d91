"""What the inspection commands show: JSON shapes for machines and ``rich`` tables for people.

Pure functions of model values and a moment, so the rendering is tested without a service. Nothing here ever holds
secret material: the model carries none.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table

from b2c_policy_keys.expiry import Finding, earliest_upcoming_expiry
from b2c_policy_keys.model import Key, KeySet, iso_utc


def _date(seconds: int | None) -> str:
    return "-" if seconds is None else iso_utc(seconds)


def _short(kid: str, width: int = 12) -> str:
    return kid if len(kid) <= width else kid[: width - 1] + "…"


# --- JSON shapes ------------------------------------------------------------------------------------------------


def keyset_summary(keyset: KeySet, now: int) -> dict[str, Any]:
    """One row of ``list --json``: the key count, the active key and the next expiry of an enabled key."""
    active = keyset.active_key(now)
    upcoming = earliest_upcoming_expiry(keyset, now)
    return {
        "id": keyset.id,
        "key_count": len(keyset.keys),
        "active_kid": None if active is None else active.kid,
        "use": None if active is None else active.use,
        "kty": None if active is None else active.kty,
        "earliest_expiry": None if upcoming is None else upcoming.exp,
        "earliest_expiry_iso": None if upcoming is None or upcoming.exp is None else iso_utc(upcoming.exp),
    }


def keyset_detail(keyset: KeySet, now: int) -> dict[str, Any]:
    """``show --json``: every key as the model shows it, the active one marked."""
    active = keyset.active_key(now)
    active_kid = None if active is None else active.kid
    keys = [{**key.to_output(), "active": key.kid == active_kid} for key in keyset.keys]
    return {"id": keyset.id, "active_kid": active_kid, "keys": keys}


def findings_report(findings: Sequence[Finding], *, checked: int, window: int, now: int) -> dict[str, Any]:
    """``expiring --json``: what an alert pipeline needs, stable keys, dates as epoch seconds and ISO-8601."""
    return {
        "checked_at": now,
        "checked_at_iso": iso_utc(now),
        "window_seconds": window,
        "keysets_checked": checked,
        "findings": [f.to_output() for f in findings],
    }


def write_json(data: object, stream: TextIO | None = None) -> None:
    out = sys.stdout if stream is None else stream
    json.dump(data, out, indent=2, sort_keys=False)
    out.write("\n")


# --- tables -----------------------------------------------------------------------------------------------------


def keysets_table(keysets: Iterable[KeySet], now: int) -> Table:
    table = Table(title="Policy key sets", title_justify="left")
    table.add_column("Key set", no_wrap=True)
    for column in ("Keys", "Active key", "Use", "Type", "Next expiry"):
        table.add_column(column, justify="right" if column == "Keys" else "left", no_wrap=True)
    for keyset in keysets:
        row = keyset_summary(keyset, now)
        active = row["active_kid"]
        table.add_row(
            keyset.id,
            str(row["key_count"]),
            "[red]none[/red]" if active is None else _short(active),
            row["use"] or "-",
            row["kty"] or "-",
            _date(row["earliest_expiry"]),
        )
    return table


def _status(key: Key, active: Key | None, now: int) -> str:
    if active is not None and key.kid == active.kid:
        return "[bold green]active[/bold green]"
    if not key.enabled:
        return "disabled"
    if key.exp is not None and key.exp <= now:
        return "[red]expired[/red]"
    if key.nbf is not None and key.nbf > now:
        return "not yet valid"
    return "enabled"


def keys_table(keyset: KeySet, now: int) -> Table:
    active = keyset.active_key(now)
    table = Table(title=f"{keyset.id}: {len(keyset.keys)} key(s)", title_justify="left")
    table.add_column("")
    table.add_column("Key id", overflow="fold")
    for column in ("Use", "Type", "Status", "Not before", "Expires"):
        table.add_column(column, no_wrap=True)
    for key in keyset.keys:
        is_active = active is not None and key.kid == active.kid
        table.add_row(
            "*" if is_active else "",
            key.kid,
            key.use,
            key.kty,
            _status(key, active, now),
            _date(key.nbf),
            _date(key.exp),
        )
    return table


def findings_table(findings: Iterable[Finding]) -> Table:
    table = Table(title="Key sets needing attention", title_justify="left")
    table.add_column("Key set", no_wrap=True)
    table.add_column("Reason", no_wrap=True)
    table.add_column("Detail", overflow="fold")
    table.add_column("Fix", overflow="fold")
    for finding in findings:
        table.add_row(finding.keyset_id, f"[red]{finding.reason}[/red]", finding.message, finding.fix)
    return table


def stdout_console() -> Console:
    # Off a terminal (a pipe, a CI log) 160 columns, so 43-character key ids are not wrapped, unless COLUMNS says.
    sized = sys.stdout.isatty() or "COLUMNS" in os.environ
    return Console(file=sys.stdout, width=None if sized else 160)


@contextlib.contextmanager
def progress(label: str) -> Iterator[None]:
    """A spinner on stderr while the service answers; only on a terminal, so pipes and CI logs stay clean."""
    if not sys.stderr.isatty():
        yield
        return
    console = Console(file=sys.stderr)
    with console.status(label):
        yield
