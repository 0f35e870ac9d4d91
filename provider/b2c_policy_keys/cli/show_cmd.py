"""``b2c-keys show NAME``: the keys of one key set with status and dates, the active one marked."""

from __future__ import annotations

import argparse

from b2c_policy_keys.cli import _render, _target
from b2c_policy_keys.cli._errors import CliError
from b2c_policy_keys.errors import NotFoundError
from b2c_policy_keys.model import normalise_keyset_id, now_epoch


class KeySetNotFound(CliError):
    """``show`` of a key set the tenant does not hold: the cause and the command that lists what exists."""

    def __init__(self, keyset_id: str) -> None:
        super().__init__(
            "not found", f"no key set {keyset_id} in this tenant", "`b2c-keys list` shows the key sets it holds"
        )


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "show",
        help="show the keys of one key set",
        description="Show the keys of one key set: status, not-before and expiry; the active key is marked with *.",
    )
    parser.add_argument("name", metavar="NAME", help="key set name, with or without the B2C_1A_ prefix")
    _target.add_output_and_target(parser, run)


def run(args: argparse.Namespace) -> int:
    client = _target.client_from(args)
    keyset_id = normalise_keyset_id(args.name)
    try:
        with _render.progress(f"Reading {keyset_id}…"):
            keyset = client.get_keyset(keyset_id)
    except NotFoundError:
        raise KeySetNotFound(keyset_id) from None
    now = now_epoch()
    if args.json:
        _render.write_json(_render.keyset_detail(keyset, now))
    else:
        console = _render.stdout_console()
        _render.print_table(console, _render.keys_table(keyset, now, console.width))
    return 0
