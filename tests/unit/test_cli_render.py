"""The inspection commands' rendering, from model objects: JSON shapes and what the tables show."""

from __future__ import annotations

import io
import json
from typing import Any

from rich.console import Console
from rich.table import Table

from b2c_policy_keys.cli import _render
from b2c_policy_keys.expiry import DAY, find_attention
from b2c_policy_keys.model import Key, KeySet, iso_utc

NOW = 1_800_000_000
ACTIVE = Key(kid="kid-active-0123456789", kty="RSA", use="sig", nbf=NOW - DAY, exp=NOW + 100 * DAY)
OLD = Key(kid="kid-old", kty="RSA", use="sig", nbf=NOW - 300 * DAY, exp=NOW + 10 * DAY)
OFF = Key(kid="kid-off", kty="RSA", use="sig", nbf=NOW - 5 * DAY, status="disabled")
SIGNING = KeySet(id="B2C_1A_TokenSigningKeyContainer", keys=(OLD, ACTIVE, OFF))
EMPTY = KeySet(id="B2C_1A_Empty")


def text_of(table: Table) -> str:
    buffer = io.StringIO()
    Console(file=buffer, width=200, color_system=None).print(table)
    return buffer.getvalue()


def test_summary_shows_count_active_key_and_next_enabled_expiry() -> None:
    row = _render.keyset_summary(SIGNING, NOW)
    assert row == {
        "id": "B2C_1A_TokenSigningKeyContainer",
        "key_count": 3,
        "active_kid": "kid-active-0123456789",
        "use": "sig",
        "kty": "RSA",
        "earliest_expiry": NOW + 10 * DAY,
        "earliest_expiry_iso": iso_utc(NOW + 10 * DAY),
    }


def test_summary_of_an_empty_set_has_no_active_key() -> None:
    row = _render.keyset_summary(EMPTY, NOW)
    assert row["key_count"] == 0 and row["active_kid"] is None and row["earliest_expiry"] is None


def test_detail_marks_exactly_the_active_key() -> None:
    detail = _render.keyset_detail(SIGNING, NOW)
    assert detail["active_kid"] == ACTIVE.kid
    assert [k["active"] for k in detail["keys"]] == [False, True, False]
    assert detail["keys"][2]["status"] == "disabled"
    json.dumps(detail)  # serialisable as is


def test_keysets_table_lists_every_set_and_flags_a_missing_active_key() -> None:
    text = text_of(_render.keysets_table([SIGNING, EMPTY], NOW))
    assert "B2C_1A_TokenSigningKeyContainer" in text and "B2C_1A_Empty" in text
    assert ACTIVE.kid in text  # whole: people copy it
    assert "none" in text
    assert iso_utc(NOW + 10 * DAY) in text


def test_keys_table_marks_the_active_key_and_the_disabled_one() -> None:
    text = text_of(_render.keys_table(SIGNING, NOW))
    active_line = next(line for line in text.splitlines() if ACTIVE.kid in line)
    assert "*" in active_line and "active" in active_line
    off_line = next(line for line in text.splitlines() if "kid-off" in line)
    assert "disabled" in off_line and "*" not in off_line


def test_findings_report_is_stable_json_for_alert_pipelines() -> None:
    findings = find_attention([SIGNING, EMPTY], now=NOW, window=30 * DAY)
    report = _render.findings_report(findings, checked=2, window=30 * DAY, now=NOW)
    assert report["keysets_checked"] == 2 and report["window_seconds"] == 30 * DAY
    assert [f["keyset_id"] for f in report["findings"]] == ["B2C_1A_Empty"]
    assert report["findings"][0]["reason"] == "no-valid-key"
    buffer = io.StringIO()
    Console(file=buffer, width=60, color_system=None).print(_render.findings_text(findings), soft_wrap=True)
    text = buffer.getvalue()
    assert "B2C_1A_Empty  no-valid-key" in text and "fix: add a key to B2C_1A_Empty" in text


def test_findings_never_wrap_the_kid_they_quote() -> None:
    findings = find_attention([WIDE], now=NOW, window=400 * DAY)  # the successor ends before the window does
    assert findings and KID43 in findings[0].message
    buffer = io.StringIO()
    Console(file=buffer, width=40, color_system=None).print(_render.findings_text(findings), soft_wrap=True)
    assert any(KID43 in line for line in buffer.getvalue().splitlines())


def test_progress_stays_silent_when_stderr_is_not_a_terminal(capsys: object) -> None:
    with _render.progress("Reading key sets…"):
        pass
    captured = capsys.readouterr()  # type: ignore[attr-defined]
    assert captured.err == "" and captured.out == ""


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_spins_on_stderr_when_it_is_a_terminal(monkeypatch: Any) -> None:
    terminal, stdout = _Terminal(), io.StringIO()
    monkeypatch.setattr("sys.stderr", terminal)
    monkeypatch.setattr("sys.stdout", stdout)
    with _render.progress("Reading key sets…"):
        pass
    assert "Reading key sets" in terminal.getvalue()
    assert stdout.getvalue() == ""  # stdout stays clean for pipes and --json


KID43 = "yCPCqd8mVjFeQHbHVZgB5ww2A2w8RJ2pR8_Eb-7ulj0"
WIDE = KeySet(
    id="B2C_1A_TokenSigningKeyContainer",
    keys=(
        Key(kid=KID43, kty="RSA", use="sig", nbf=NOW - DAY, exp=NOW + 100 * DAY),
        Key(kid=KID43[::-1], kty="RSA", use="sig", nbf=NOW + DAY, exp=NOW + 300 * DAY),
    ),
)


def printed(table: Table, width: int) -> list[str]:
    buffer = io.StringIO()
    _render.print_table(Console(file=buffer, width=width, color_system=None), table)
    return buffer.getvalue().splitlines()


def test_fit_cuts_the_other_columns_in_order_and_never_the_kept_ones() -> None:
    assert _render._fit([1, 43, 3, 20], keep=(0, 1), cut_order=(3, 2), width=60) == [1, 43, 3, 10]
    assert _render._fit([1, 43, 3, 20], keep=(0, 1), cut_order=(3, 2), width=40) == [1, 43, 1, 1]
    assert _render._fit([1, 43, 3, 20], keep=(0, 1), cut_order=(3, 2), width=200) == [1, 43, 3, 20]


def test_keys_table_keeps_every_kid_and_the_marker_at_any_width() -> None:
    for width in (40, 60, 80, 100, 120, 160):
        lines = printed(_render.keys_table(WIDE, NOW, width), width)
        (active,) = [line for line in lines if KID43 in line]
        assert active.startswith("* ")
        assert any(KID43[::-1] in line and not line.startswith("*") for line in lines)
        if width >= 80:
            assert all(len(line) <= width for line in lines), width


def test_narrow_tables_show_dates_without_their_time() -> None:
    wide = "\n".join(printed(_render.keys_table(WIDE, NOW, 160), 160))
    narrow = "\n".join(printed(_render.keys_table(WIDE, NOW, 100), 100))
    assert iso_utc(NOW + 100 * DAY) in wide
    assert iso_utc(NOW + 100 * DAY) not in narrow and iso_utc(NOW + 100 * DAY)[:10] in narrow
