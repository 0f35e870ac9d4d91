"""The probe against the emulator, in process: the whole script, refusals, the read-only half, faults, redaction."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from b2c_policy_keys.cli import main
from b2c_policy_keys.conformance import Record, Scope, ScopeError
from b2c_policy_keys.conformance.caller import Caller, Reply
from b2c_policy_keys.conformance.probe import Probe, Step, Target
from b2c_policy_keys.conformance.script import STEPS
from b2c_policy_keys.emulator import Emulator
from b2c_policy_keys.graph import resolve_settings
from b2c_policy_keys.testing.target import emulator_config

from .support import PREFIX, graph_client, keyset_ids, with_prefix, write_line

GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def probe_args(line: Path, out: Path, *extra: str) -> list[str]:
    return ["conformance", "--prefix", PREFIX, "--yes", "--emulator", str(line), "--out", str(out), *extra]


def test_the_whole_script_runs_records_every_step_and_leaves_nothing(emulator: Emulator, tmp_path: Path) -> None:
    # A real set outside the prefix, and one inside it the probe did not make: neither may be touched.
    graph_client(emulator).create_keyset("TokenSigningKeyContainer")
    graph_client(emulator).create_keyset(f"{PREFIX}Keep")
    before = set(keyset_ids(emulator))
    out = tmp_path / "record.json"

    assert main(probe_args(write_line(emulator, tmp_path), out)) == 0

    record = Record.load(out)
    assert record.complete and record.not_done == []
    assert [entry.step for entry in record.entries] == [step.name for step in STEPS]
    assert record.read_only_app  # the emulator's read-only client ran the permission half
    assert set(keyset_ids(emulator)) == before
    assert with_prefix(emulator) == [f"B2C_1A_{PREFIX}Keep"]
    statuses = {entry.step: (entry.status, entry.code) for entry in record.entries}
    assert statuses["create"] == (201, None)
    assert statuses["create.duplicate"][1] == "AADB2C95028"
    assert statuses["put.with_kid"] == (400, "AADB2C95059")
    assert statuses["readonly.create"][0] == 403


def test_the_probe_touches_no_key_set_outside_the_prefix(emulator: Emulator, tmp_path: Path) -> None:
    """Every request the emulator saw names a key set of the prefix (or is the create of one)."""
    emulator.clear_requests()
    assert main(probe_args(write_line(emulator, tmp_path), tmp_path / "r.json")) == 0
    graph = [entry for entry in emulator.requests_log() if entry["path"].startswith("/beta/")]
    assert len(graph) >= len(STEPS)
    for entry in graph:
        path = entry["path"]
        assert (path == "/beta/trustFramework/keySets" and entry["method"] == "POST") or re.match(
            rf"/beta/trustFramework/keySets/B2C_1A_{PREFIX}", path, re.IGNORECASE
        ), entry


def test_a_request_outside_the_prefix_is_never_sent(emulator: Emulator) -> None:
    settings = resolve_settings(
        {
            "b2c:tenantId": emulator.tenant_id,
            "b2c:clientId": emulator.client_id,
            "b2c:clientSecret": emulator.client_secret,
            "b2c:graphUrl": emulator.graph_url,
            "b2c:authorityHost": emulator.authority_host,
            "b2c:caBundle": str(emulator.ca_bundle),
        }.get,
        {},
    )
    probe = Probe(Target("emulator", Caller(settings)), Scope(PREFIX), run_token="abc123")
    emulator.clear_requests()
    with pytest.raises(ScopeError):
        probe.call("DELETE", "/trustFramework/keySets/{keySet}", keyset="B2C_1A_TokenSigningKeyContainer")
    with pytest.raises(ScopeError):
        probe.call("POST", "/trustFramework/keySets", body={"id": "Other"})
    with pytest.raises(ScopeError):
        probe.call("GET", "/trustFramework/keySets/$count")
    assert not [entry for entry in emulator.requests_log() if entry["path"].startswith("/beta/")]


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["conformance", "--yes"], "--prefix is required"),
        (["conformance", "--prefix", PREFIX], "without --yes"),
        (["conformance", "--prefix", "B2C_1A_ConfProbe", "--yes"], "name part only"),
        (["conformance", "--prefix", "Co", "--yes"], "not a scratch prefix"),
        (["conformance", "--prefix", "Conf_Probe", "--yes"], "not a scratch prefix"),
    ],
)
def test_it_refuses_without_an_explicit_prefix_and_yes(
    emulator: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], needle: str
) -> None:
    emulator.clear_requests()
    out = tmp_path / "record.json"
    assert main([*argv, "--emulator", str(write_line(emulator, tmp_path)), "--out", str(out)]) == 2
    assert needle in capsys.readouterr().err
    assert emulator.requests_log() == [] and not out.exists()


def test_a_read_only_credential_runs_only_the_read_half(emulator: Emulator, tmp_path: Path) -> None:
    emulator.clear_requests()
    out = tmp_path / "record.json"
    argv = probe_args(write_line(emulator, tmp_path), out, "--client-id", emulator.readonly_client_id)
    secret_file = tmp_path / "readonly-secret"  # b2c-keys takes no secret as a flag value (shell history)
    secret_file.write_text(emulator.readonly_client_secret)
    argv += ["--client-secret-file", str(secret_file)]

    assert main(argv) == 1  # partial: the writes were not attempted

    record = Record.load(out)
    assert not record.complete
    assert {entry.step for entry in record.entries} >= {"get.missing", "getActiveKey.missing"}
    reasons = {item["step"]: item["reason"] for item in record.not_done}
    writes = [step.name for step in STEPS if step.write]
    assert all("read-only" in reasons[name] for name in writes)
    methods = {entry["method"] for entry in emulator.requests_log() if entry["path"].startswith("/beta/")}
    assert methods == {"GET"}


def test_a_fault_mid_script_leaves_a_partial_record_and_nothing_behind(emulator: Emulator, tmp_path: Path) -> None:
    """The emulator's admin API drops the answer of generateKey (the key is made, the probe sees a lost connection)."""
    emulator.add_fault(method="POST", path_regex="generateKey$", kind="drop_after", count=1)
    out = tmp_path / "record.json"

    assert main(probe_args(write_line(emulator, tmp_path), out)) == 1

    record = Record.load(out)
    assert not record.complete
    failed = {item["step"]: item["reason"] for item in record.not_done}
    assert "ConnectionError" in failed["generateKey.rsa"]
    assert "keys_v2.get" in failed  # needed the kid the lost answer carried
    assert {"create", "uploadSecret", "delete"} <= {entry.step for entry in record.entries}
    assert with_prefix(emulator) == []


class RecordingCaller(Caller):
    """A real caller that also remembers every string it sent in a body and every kid it was answered."""

    sent: list[str]
    kids: list[str]

    def send(self, method: str, path: str, body: Any = None) -> Reply:
        self.__dict__.setdefault("sent", [])
        self.__dict__.setdefault("kids", [])
        if isinstance(body, dict):
            self.sent.extend(_strings(body))
        reply = super().send(method, path, body)
        if isinstance(reply.json, dict) and isinstance(reply.json.get("kid"), str):
            self.kids.append(reply.json["kid"])
        return reply


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return [value] if isinstance(value, str) else []


def test_a_record_holds_no_secret_token_kid_tenant_or_client_id(emulator: Emulator) -> None:
    def settings(client_id: str, secret: str) -> Any:
        config = {
            "b2c:tenantId": emulator.tenant_id,
            "b2c:clientId": client_id,
            "b2c:clientSecret": secret,
            "b2c:graphUrl": emulator.graph_url,
            "b2c:authorityHost": emulator.authority_host,
            "b2c:caBundle": str(emulator.ca_bundle),
        }
        return resolve_settings(config.get, {})

    main_caller = RecordingCaller(settings(emulator.client_id, emulator.client_secret))
    read_only = RecordingCaller(settings(emulator.readonly_client_id, emulator.readonly_client_secret))
    sensitive = (emulator.tenant_id, emulator.client_id, emulator.client_secret, emulator.readonly_client_id)
    probe = Probe(Target("emulator", main_caller, read_only, sensitive), Scope(PREFIX), run_token="f00d42")
    text = json.dumps(probe.run(STEPS).to_json())

    uploaded = [value for value in main_caller.sent if len(value) >= 16]  # secrets, PFX, certificate, password
    assert len(uploaded) >= 5
    tokens = [main_caller.token(), read_only.token()]
    forbidden = [*uploaded, *main_caller.kids, *tokens, *sensitive, emulator.readonly_client_secret]
    assert main_caller.kids
    for value in forbidden:
        assert value not in text and value.lower() not in text.lower()
    assert not GUID.search(text) and not JWT.search(text)
    assert f"{PREFIX}Rsa" not in text and "f00d42" not in text  # key set names are placeholders
    assert "127.0.0.1" not in text  # the Graph root is a placeholder too


def _settings(emu: Emulator) -> Any:
    return resolve_settings(emulator_config(emu).get, {})


def test_an_unexpected_error_stops_the_script_but_cleans_up_and_keeps_the_record(emulator: Emulator) -> None:
    def boom(probe: Probe) -> None:
        raise RuntimeError(f"a bug near {probe.ctx['rsa']}")

    steps = [STEPS[0], Step("boom", boom), STEPS[1]]
    probe = Probe(Target("emulator", Caller(_settings(emulator))), Scope(PREFIX), run_token="0badc0")
    record = probe.run(steps)

    assert probe.error == "RuntimeError: a bug near {0}"  # the key set id is a placeholder even here
    assert [entry.step for entry in record.entries] == ["create"]
    assert [item["step"] for item in record.not_done] == ["boom", "create.duplicate"]
    assert not record.complete and record.cleanup == {"deleted": 2, "left": 0}
    assert with_prefix(emulator) == []


def test_a_throttled_call_is_waited_out_and_noted(emulator: Emulator, tmp_path: Path) -> None:
    """A B2C 429 (emulator fault, Retry-After 0) on getActiveKey: the answer recorded is the one after the wait."""
    emulator.add_fault(method="GET", path_regex="getActiveKey$", kind="status", status=429, retry_after=0, count=1)
    out = tmp_path / "record.json"
    assert main(probe_args(write_line(emulator, tmp_path), out)) == 0
    record = Record.load(out)
    assert record.notes == [{"step": "getActiveKey.missing", "note": "throttled 1 time(s), waited"}]
    assert {entry.step: entry.code for entry in record.entries}["getActiveKey.missing"] == "AADB2C90073"


@pytest.mark.parametrize(("failures", "left"), [(1, 0), (None, 1)])
def test_cleanup_deletes_again_what_is_still_there_and_names_what_stays(
    emulator: Emulator, failures: int | None, left: int
) -> None:
    """The first DELETE (or every DELETE) of the set fails with a 500 (emulator fault): a later round retries."""
    fault: dict[str, Any] = {"method": "DELETE", "path_regex": "Rsa0ddba1$", "kind": "status", "status": 500}
    if failures is not None:
        fault["count"] = failures
    emulator.add_fault(**fault)
    out = io.StringIO()
    probe = Probe(
        Target("emulator", Caller(_settings(emulator))), Scope(PREFIX), run_token="0ddba1", out=out, cleanup_wait_s=0
    )
    record = probe.run([STEPS[0]])

    assert record.cleanup["left"] == left
    assert (f"could not delete B2C_1A_{PREFIX}Rsa0ddba1" in out.getvalue()) == bool(left)
    assert record.complete == (left == 0)
    emulator.clear_faults()
    remaining = with_prefix(emulator)
    assert len(remaining) == left  # when every delete fails the set stays (and no .bak is ever made)
