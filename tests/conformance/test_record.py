"""The loop closed: the committed emulator record is replayed, and held to a real tenant's baseline when one exists."""

from __future__ import annotations

import io
import json
from pathlib import Path

from rich.console import Console

from b2c_policy_keys.cli import main
from b2c_policy_keys.cli.conformance_cmd import differences_table
from b2c_policy_keys.conformance import Record, Scope
from b2c_policy_keys.conformance.baseline import ALLOWED, TENANT_RECORD, check_redacted, load_allowed
from b2c_policy_keys.conformance.caller import Caller
from b2c_policy_keys.conformance.diff import Difference, differences, stale, unexplained
from b2c_policy_keys.conformance.probe import Probe, Target
from b2c_policy_keys.conformance.script import STEPS
from b2c_policy_keys.emulator import Emulator
from b2c_policy_keys.graph import resolve_settings

from .support import COMMITTED, HERE, PREFIX

REGENERATE = "b2c-keys conformance --prefix ConfProbe --yes --emulator --out tests/conformance/emulator-record.json"


def _table(found: list[Difference], a: str, b: str) -> str:
    text = io.StringIO()
    Console(file=text, width=200).print(differences_table(found, a, b))
    return text.getvalue()


def _caller(emu: Emulator, client_id: str, secret: str) -> Caller:
    config = {
        "b2c:tenantId": emu.tenant_id,
        "b2c:clientId": client_id,
        "b2c:clientSecret": secret,
        "b2c:graphUrl": emu.graph_url,
        "b2c:authorityHost": emu.authority_host,
        "b2c:caBundle": str(emu.ca_bundle),
    }
    return Caller(resolve_settings(config.get, {}))


def test_a_fresh_emulator_answers_exactly_as_the_committed_record_says(emulator: Emulator) -> None:
    main = _caller(emulator, emulator.client_id, emulator.client_secret)
    read_only = _caller(emulator, emulator.readonly_client_id, emulator.readonly_client_secret)
    record = Probe(Target("emulator", main, read_only), Scope(PREFIX), run_token="a1b2c3").run(STEPS)

    committed = Record.load(COMMITTED)
    found = differences(committed, record)
    assert found == [], (
        f"the emulator no longer answers as {COMMITTED.name} records; if the change is intended, regenerate it "
        f"with `{REGENERATE}`:\n{_table(found, 'committed', 'emulator now')}"
    )
    assert committed.complete and committed.target == "emulator" and committed.read_only_app


def test_the_committed_records_hold_no_id_or_token() -> None:
    for path in HERE.glob("*.json"):
        check_redacted(path.read_text(encoding="utf-8"), str(path))


def test_the_emulator_differs_from_the_tenant_baseline_only_where_the_allow_list_says() -> None:
    allowed = load_allowed(HERE / ALLOWED)
    baseline = HERE / TENANT_RECORD
    if not baseline.exists():
        # No real tenant's record has been contributed yet: nothing may be excused before there is a baseline.
        assert allowed == []
        return
    found = differences(Record.load(COMMITTED), Record.load(baseline))
    missing = unexplained(found, allowed)
    table = _table(missing, "emulator", "tenant")
    assert missing == [], f"fix the emulator, or allow the difference with a reason in {ALLOWED}:\n{table}"
    assert stale(found, allowed) == [], f"{ALLOWED} excuses differences that are gone: remove them"


def test_the_committed_record_is_stable_json() -> None:
    """Regenerating writes the same bytes for the same answers (what keeps the lead's one-command refresh clean)."""
    record = Record.load(COMMITTED)
    assert record.dumps() == COMMITTED.read_text(encoding="utf-8")
    assert json.loads(record.dumps())["format"] == "b2c-keys-conformance/1"
    assert Path(COMMITTED).name == "emulator-record.json"


def test_the_regeneration_command_writes_the_committed_record(tmp_path: Path) -> None:
    """``--emulator`` alone: a fresh in-memory emulator in the process, the command the docs give to regenerate."""
    out = tmp_path / "emulator-record.json"
    assert main(["conformance", "--prefix", "ConfProbe", "--yes", "--emulator", "--out", str(out)]) == 0
    assert differences(Record.load(COMMITTED), Record.load(out)) == []
    assert REGENERATE.split()[1:-1] == ["conformance", "--prefix", "ConfProbe", "--yes", "--emulator", "--out"]
