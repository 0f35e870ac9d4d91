"""What the inspection commands show: JSON shapes for machines and ``rich`` tables for people.

Pure functions of model values and a moment, so the rendering is tested without a service. Nothing here ever holds
secret material: the model carries none.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from b2c_policy_keys.expiry import Finding, earliest_upcoming_expiry
from b2c_policy_keys.model import Key, KeySet, iso_utc


def _date(seconds: int | None) -> str:
    return "-" if seconds is None else iso_utc(seconds)


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
# A key id is what people copy into a policy or a `disable` command: it is never wrapped, cut or dropped. When the
# console is narrow the other columns give way first: dates lose their time, then columns are cut (with an
# ellipsis) from the least needed up; the marker and the kid stay whole.


def _day(seconds: int | None) -> str:
    return "-" if seconds is None else iso_utc(seconds)[:10]


def _fit(natural: Sequence[int], keep: Sequence[int], cut_order: Sequence[int], width: int) -> list[int]:
    """Column widths that fit ``width`` (one space between columns): the ``keep`` columns whole, the others cut in
    ``cut_order`` down to one character each."""
    widths = list(natural)
    excess = sum(widths) + len(widths) - 1 - width
    for index in cut_order:
        if excess <= 0:
            break
        if index in keep:
            continue
        cut = min(excess, widths[index] - 1)
        widths[index] -= cut
        excess -= cut
    return widths


def _table(
    title: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    keep: Sequence[int],
    cut_order: Sequence[int],
    width: int | None,
    right: Sequence[int] = (),
) -> Table:
    """A borderless table whose columns are sized here, not by rich, so ``keep`` columns survive any width."""
    natural = [
        max([Text.from_markup(h).cell_len, *(Text.from_markup(r[i]).cell_len for r in rows)])
        for i, h in enumerate(headers)
    ]
    widths = natural if width is None else _fit(natural, keep, cut_order, width)
    table = Table(
        title=title,
        title_justify="left",
        box=None,
        padding=(0, 1, 0, 0),
        pad_edge=False,
        header_style="bold",
        expand=False,
    )
    for index, header in enumerate(headers):
        table.add_column(
            header,
            width=widths[index],
            min_width=natural[index] if index in keep else None,
            no_wrap=True,
            overflow="fold" if index in keep else "ellipsis",
            justify="right" if index in right else "left",
        )
    for row in rows:
        table.add_row(*row)
    # Narrower than the kept columns need: wider lines (the terminal wraps them) rather than a cut key id.
    table.min_width = sum(widths) + len(widths) - 1
    return table


def print_table(console: Console, table: Table) -> None:
    """Print ``table`` at the console's width, or wider when its kept columns need it (see ``_table``)."""
    width = console.width
    console.width = max(width, table.min_width or 0)  # print(width=...) cannot exceed the console's own
    try:
        console.print(table)
    finally:
        console.width = width


def _narrow(natural_width: int, width: int | None) -> bool:
    return width is not None and natural_width > width


def keysets_table(keysets: Iterable[KeySet], now: int, width: int | None = None) -> Table:
    headers = ("Key set", "#", "Active key", "Use", "Type", "Expiry")  # short headers: 100 columns hold a row
    summaries = [(keyset, keyset_summary(keyset, now)) for keyset in keysets]

    def rows(date: Callable[[int | None], str]) -> list[list[str]]:
        return [
            [
                keyset.id,
                str(row["key_count"]),
                "[red]none[/red]" if row["active_kid"] is None else row["active_kid"],
                row["use"] or "-",
                row["kty"] or "-",
                date(row["earliest_expiry"]),
            ]
            for keyset, row in summaries
        ]

    full = rows(_date)
    natural = sum(max([len(h), *(Text.from_markup(r[i]).cell_len for r in full)]) + 1 for i, h in enumerate(headers))
    chosen = rows(_day) if _narrow(natural - 1, width) else full
    return _table("Policy key sets", headers, chosen, keep=(2,), cut_order=(4, 3, 5, 1, 0), width=width, right=(1,))


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


def keys_table(keyset: KeySet, now: int, width: int | None = None) -> Table:
    active = keyset.active_key(now)
    headers = ("", "Key id", "Use", "Type", "Status", "Not before", "Expires")

    def rows(date: Callable[[int | None], str]) -> list[list[str]]:
        return [
            [
                "*" if active is not None and key.kid == active.kid else "",
                key.kid,
                key.use,
                key.kty,
                _status(key, active, now),
                date(key.nbf),
                date(key.exp),
            ]
            for key in keyset.keys
        ]

    full = rows(_date)
    natural = sum(max([len(h), *(Text.from_markup(r[i]).cell_len for r in full)]) + 1 for i, h in enumerate(headers))
    chosen = rows(_day) if _narrow(natural - 1, width) else full
    title = f"{keyset.id}: {len(keyset.keys)} key(s)"
    return _table(title, headers, chosen, keep=(0, 1), cut_order=(5, 3, 2, 4, 6), width=width)


def findings_text(findings: Iterable[Finding]) -> Text:
    """``expiring``'s findings as lines, not a table: their detail and fix quote kids, which a table column would
    wrap. Printed with ``soft_wrap``, so rich never breaks a line (the terminal may, and copies it back whole)."""
    text = Text("Key sets needing attention\n", style="bold")
    for finding in findings:
        text.append(f"{finding.keyset_id}  ")
        text.append(str(finding.reason), style="red")
        text.append(f"\n  {finding.message}\n  fix: {finding.fix}\n")
    return text


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
