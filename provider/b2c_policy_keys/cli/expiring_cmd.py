"""``b2c-keys expiring --within 30d``: key sets that will break sign-in soon; exit 1 when any, for CI alerts."""

from __future__ import annotations

import argparse
import sys

from b2c_policy_keys.cli import EXIT_FINDINGS, EXIT_OK, _render, _target
from b2c_policy_keys.expiry import find_attention, is_backup, parse_window
from b2c_policy_keys.model import now_epoch


def _window(text: str) -> int:
    """A window with its unit: ``30`` alone is refused (days? hours?), though ``parse_window`` reads it as days."""
    if text.strip().isdigit():
        raise argparse.ArgumentTypeError(
            f"{text.strip()[:20]!r} has no unit: write {text.strip()[:20]}d for days (or h, w, m, s)"
        )
    try:
        return parse_window(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "expiring",
        help="find key sets whose keys expire soon or are already broken (exit 1 if any)",
        description=(
            "Find every key set whose active key expires within the window (with no successor key taking over), "
            "that has no valid key at all, or whose only valid keys are disabled. "
            "Exit status: 0 none found, 1 some found, 2 error."
        ),
    )
    parser.add_argument(
        "--within",
        metavar="WINDOW",
        default="30d",
        type=_window,
        help="window with its unit: 30d (default), 12h, 2w, 90m, 45s",
    )
    _target.add_output_and_target(parser, run, "print JSON for alert pipelines instead of a table")


def run(args: argparse.Namespace) -> int:
    client = _target.client_from(args)
    with _render.progress("Reading key sets…"):
        keysets = client.list_keysets()
    now = now_epoch()
    window: int = args.within
    findings = find_attention(keysets, now=now, window=window)
    checked = sum(1 for ks in keysets if not is_backup(ks))
    if args.json:
        _render.write_json(_render.findings_report(findings, checked=checked, window=window, now=now))
    elif findings:
        _render.stdout_console().print(_render.findings_text(findings), soft_wrap=True, end="")
    else:
        print(f"All {checked} key set(s) have a valid active key beyond the window.", file=sys.stdout)
    return EXIT_FINDINGS if findings else EXIT_OK
