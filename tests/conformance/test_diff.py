"""``conformance diff`` and ``conformance baseline`` on records, and the templates a record keeps (pure logic)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from b2c_policy_keys.cli import main
from b2c_policy_keys.conformance import Entry, Record
from b2c_policy_keys.conformance.baseline import ALLOWED, EMULATOR_RECORD, TENANT_RECORD, UNREVIEWED
from b2c_policy_keys.conformance.diff import differences
from b2c_policy_keys.conformance.redact import Redactor

from .support import COMMITTED


def flipped_kty(data: dict[str, Any]) -> tuple[str, str]:
    """uploadSecret's ``kty`` in the committed record, and its other spelling (the emulator may say either)."""
    entry = next(entry for entry in data["entries"] if entry["step"] == "uploadSecret")
    original = entry["body"]["kty"]
    return original, "string=OCT" if original == "string=oct" else "string=oct"


def tenant_like(tmp_path: Path, name: str = "tenant.json") -> tuple[Path, dict[str, Any]]:
    """The committed record as a tenant that spells uploadSecret's ``kty`` otherwise and skipped keys_v2 collection."""
    data = json.loads(COMMITTED.read_text(encoding="utf-8"))
    data["target"] = "tenant"
    _, other = flipped_kty(data)
    for entry in data["entries"]:
        if entry["step"] == "uploadSecret":
            entry["body"]["kty"] = other
    data["entries"] = [entry for entry in data["entries"] if entry["step"] != "keys_v2.collection"]
    path = tmp_path / name
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path, data


def repository_dir(tmp_path: Path) -> Path:
    """A stand-in for the repository's tests/conformance: the emulator's record only."""
    into = tmp_path / "conformance"
    into.mkdir()
    shutil.copy(COMMITTED, into / EMULATOR_RECORD)
    return into


@pytest.fixture(autouse=True)
def _wide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")


def test_diff_of_equal_records_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["conformance", "diff", str(COMMITTED), str(COMMITTED)]) == 0
    assert "record the same answers" in capsys.readouterr().out


def test_diff_prints_each_difference_as_a_table_row_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    original, other = flipped_kty(json.loads(COMMITTED.read_text(encoding="utf-8")))
    tenant, _ = tenant_like(tmp_path)
    assert main(["conformance", "diff", str(COMMITTED), str(tenant)]) == 1
    out = capsys.readouterr().out
    assert "2 difference(s)" in out
    rows = [line for line in out.splitlines() if "uploadSecret" in line or "keys_v2.collection" in line]
    assert any("body.kty" in row and json.dumps(original) in row and json.dumps(other) in row for row in rows), out
    assert any("keys_v2.collection" in row and "not run" in row for row in rows), out


def test_diff_refuses_what_is_not_a_record(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "other.json"
    other.write_text('{"format": "something-else"}')
    assert main(["conformance", "diff", str(COMMITTED), str(other)]) == 2
    assert "not a conformance record" in capsys.readouterr().err


def test_baseline_installs_a_tenant_record_and_lists_each_new_difference_unreviewed(tmp_path: Path) -> None:
    into = repository_dir(tmp_path)
    tenant, data = tenant_like(tmp_path, "contributed.json")

    assert main(["conformance", "baseline", str(tenant), "--into", str(into)]) == 0

    assert json.loads((into / TENANT_RECORD).read_text()) == data
    allowed = json.loads((into / ALLOWED).read_text())["allowed"]
    assert {(item["step"], item["field"]) for item in allowed} == {("uploadSecret", "body.kty"),
                                                                   ("keys_v2.collection", "step")}  # fmt: skip
    assert all(item["reason"] == UNREVIEWED for item in allowed)


def test_baseline_keeps_reviewed_reasons_and_drops_what_no_longer_differs(tmp_path: Path) -> None:
    into = repository_dir(tmp_path)
    reviewed = {"step": "uploadSecret", "field": "body.kty", "reason": "the docs' example says OCT (kept on purpose)"}
    gone = {"step": "get", "field": "status", "reason": "fixed since"}
    (into / ALLOWED).write_text(json.dumps({"allowed": [reviewed, gone]}))
    tenant, _ = tenant_like(tmp_path, "contributed.json")

    assert main(["conformance", "baseline", str(tenant), "--into", str(into)]) == 0

    allowed = json.loads((into / ALLOWED).read_text())["allowed"]
    assert reviewed in allowed and gone not in allowed and len(allowed) == 2


def test_baseline_refuses_a_record_holding_an_id_or_an_emulator_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    into = repository_dir(tmp_path)
    leaky, data = tenant_like(tmp_path, "leaky.json")
    data["entries"][0]["message"] = "directory 'b2c00000-0000-4000-8000-000000000001'"
    leaky.write_text(json.dumps(data))
    assert main(["conformance", "baseline", str(leaky), "--into", str(into)]) == 2
    assert "holds a GUID or a token" in capsys.readouterr().err
    assert main(["conformance", "baseline", str(COMMITTED), "--into", str(into)]) == 2
    assert "a baseline comes from a real tenant" in capsys.readouterr().err
    assert not (into / TENANT_RECORD).exists()


# --- templates (pure logic) ------------------------------------------------------------------------------------


def redactor() -> Redactor:
    return Redactor(prefix="ConfProbe", graph_url="https://graph.microsoft.com", sensitive=["s3cr3t-value"])


def test_the_real_getactivekey_post_message_becomes_a_template() -> None:
    """The body pasted in microsoft-graph-docs PR 9963 (reference, "What independent evidence says")."""
    message = (
        '{"message":"No HTTP resource was found that matches the request URI '
        "'https://cpim.windows.net/graph/trustFramework/keySets('B2C_1A_ConfProbeRsa1a2b3c')/"
        'Microsoft.Cpim.Api.DataModels.getActiveKey\'.","messageDetail":"No action was found on the controller '
        '\'trustframework\' that matches the request.","stackTrace":null}'
    )
    template = redactor().template(message)
    assert "keySets('{0}')/Microsoft.Cpim.Api.DataModels.getActiveKey" in template
    assert "https://cpim.windows.net/graph/" in template  # the internal URL is behaviour, kept
    assert "ConfProbe" not in template


def test_tenant_ids_names_dates_kids_and_secrets_become_numbered_placeholders() -> None:
    kid = "A" * 20 + "b-_" + "9" * 20
    message = (
        "The expiry date for the key container in tenant 'contoso.onmicrosoft.com' with storageReferenceId "
        "'b2c_1a_confprobeoct9f9f9f' is in the past. Passed date :'2026-12-01T11:09:15'. Tenant "
        f"b2c00000-0000-4000-8000-000000000001, kid {kid}, at 12/1/2026 11:09:15 AM, nbf 1764586155, "
        "again 'B2C_1A_ConfProbeOct9f9f9f' and s3cr3t-value"
    )
    assert redactor().template(message) == (
        "The expiry date for the key container in tenant '{0}' with storageReferenceId '{1}' is in the past. "
        "Passed date :'{2}'. Tenant {3}, kid {4}, at {5}, nbf {6}, again '{1}' and {7}"
    )


def test_a_shape_keeps_vocabulary_and_types_not_values() -> None:
    body = {"kid": "x" * 43, "kty": "oct", "use": "sig", "nbf": 1, "k": None, "x5c": ["a", "b"], "ok": True}
    assert redactor().shape(body) == {
        "k": "null",
        "kid": "string",
        "kty": "string=oct",
        "nbf": "integer",
        "ok": "boolean",
        "use": "string=sig",
        "x5c": ["string"],
    }


def test_a_record_with_a_sensitive_value_is_not_written() -> None:
    with pytest.raises(ValueError, match="sensitive value of 12 characters"):
        redactor().assert_clean({"message": "oops s3cr3t-value"})


def test_an_error_body_against_a_success_body_is_one_row_and_a_changed_leaf_is_its_own() -> None:
    error = {"error": {"code": "string", "message": "string"}}
    key = {"kid": "string", "kty": "string=RSA"}
    a = Record("emulator", entries=[Entry("x", "GET", "/p", 400, "E", "m", {}, error), Entry("y", "GET", "/p", 200,
               None, None, {"request-id": "present"}, key)])  # fmt: skip
    b = Record("tenant", entries=[Entry("x", "GET", "/p", 200, None, None, {}, key), Entry("y", "GET", "/p", 200,
               None, None, {}, {**key, "kty": "string=rsa"})])  # fmt: skip
    assert [(d.step, d.field) for d in differences(a, b)] == [
        ("x", "status"),
        ("x", "code"),
        ("x", "message"),
        ("x", "body"),
        ("y", "headers.request-id"),
        ("y", "body.kty"),
    ]
