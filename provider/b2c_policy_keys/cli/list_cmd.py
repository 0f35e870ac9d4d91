"""``b2c-keys list``: every key set with its key count, active key, use and type, and the next expiry."""

from __future__ import annotations

import argparse

from b2c_policy_keys.cli import _render, _target
from b2c_policy_keys.model import now_epoch


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "list",
        help="list every key set with its active key and next expiry",
        description="List every key set of the tenant: key count, active key, its use and type, next expiry.",
    )
    _target.add_output_and_target(parser, run)


def run(args: argparse.Namespace) -> int:
    client = _target.client_from(args)
    with _render.progress("Reading key sets…"):
        keysets = sorted(client.list_keysets(), key=lambda ks: ks.id.lower())
    now = now_epoch()
    if args.json:
        _render.write_json({"keysets": [_render.keyset_summary(ks, now) for ks in keysets]})
    else:
        console = _render.stdout_console()
        _render.print_table(console, _render.keysets_table(keysets, now, console.width))
    return 0
