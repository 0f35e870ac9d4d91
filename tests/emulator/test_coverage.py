"""The coverage table: every operation and option of Microsoft's metadata is marked, the marks are what the emulator
really does, the generated files are current, and metadata that grows an operation fails the check."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from b2c_policy_keys.emulator import coverage, graph_metadata, sdk_metadata
from b2c_policy_keys.emulator.envelope import RequestIds
from b2c_policy_keys.emulator.sdk_metadata import Operation
from b2c_policy_keys.emulator.service import GraphService, Reply
from b2c_policy_keys.emulator.store import Store

from .test_service import TENANT, WRITER

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "emulator-coverage.md"
#: A value for each option that the emulator would accept if it implemented the option.
OPTION_VALUES = {"$top": "1", "$select": "id", "$count": "true", "$expand": "keys", "$filter": "id eq 'x'"}
OPTION_VALUES |= {"$orderby": "id", "$search": "x", "$skip": "1"}
BODIES: dict[str, Any] = {
    "generateKey": {"use": "sig", "kty": "oct"},
    "uploadSecret": {"use": "sig", "k": "v"},
    "uploadCertificate": {},
    "uploadPkcs12": {},
}


def test_every_advertised_operation_and_option_has_a_mark() -> None:
    assert coverage.unmarked(graph_metadata.OPERATIONS) == []
    assert coverage.stale(graph_metadata.OPERATIONS) == []


def test_the_generated_files_are_current() -> None:
    """Regenerate with ``python -m b2c_policy_keys.emulator.coverage``; the metadata module is never hand-edited."""
    expected = coverage.render(graph_metadata.OPERATIONS, graph_metadata.WHEEL, graph_metadata.WHEEL_SHA256)
    assert DOC.read_text(encoding="utf-8") == expected
    module = sdk_metadata.module_text(
        list(graph_metadata.OPERATIONS), graph_metadata.WHEEL, graph_metadata.WHEEL_SHA256
    )
    assert coverage.METADATA_MODULE.read_text(encoding="utf-8") == module
    assert coverage.main(["--check", "--output", str(DOC)]) == 0


# --- the marks against the emulator ------------------------------------------------------------------------


def _service() -> tuple[GraphService, str]:
    service = GraphService(Store.open(None), tenant_id=TENANT, graph_url="https://graph.test")
    _call(service, "POST", "/beta/trustFramework/keySets", {"id": "coverage"})
    key = _call(service, "POST", "/beta/trustFramework/keySets/B2C_1A_coverage/uploadSecret", BODIES["uploadSecret"])
    assert key.body is not None
    return service, str(key.body["kid"])


def _call(service: GraphService, method: str, path: str, body: Any = None, query: str = "") -> Reply:
    raw = b"" if body is None else json.dumps(body).encode()
    return service.handle(method, path, query, raw, WRITER, RequestIds.for_request(None))


def _request(op: Operation, query: str = "") -> Reply:
    service, kid = _service()
    path = op.path.replace("{trustFrameworkKeySet-id}", "B2C_1A_coverage").replace("{trustFrameworkKey_v2-kid}", kid)
    body = BODIES.get(path.rsplit("/", 1)[-1], {"id": "fresh"} if op.method == "POST" else None)
    if op.method in ("PUT", "PATCH"):
        body = {"status": "enabled"} if "keys_v2" in path else {"keys": []}
    return _call(service, op.method, "/beta" + path, body, query)


def _refused(reply: Reply) -> bool:
    """The route itself was refused (not served), as opposed to a served route refusing a bad body."""
    if reply.status == 405 or (reply.status == 404 and reply.body and reply.body["error"]["code"] == "UnknownError"):
        return True
    message = reply.body["error"]["message"] if reply.body and "error" in reply.body else ""
    return message.startswith(("Resource not found for the segment", "Query option '"))


@pytest.mark.parametrize("op", graph_metadata.OPERATIONS, ids=lambda op: op.key)
def test_each_operation_mark_is_what_the_emulator_does(op: Operation) -> None:
    reply = _request(op)
    assert _refused(reply) == (coverage.OPERATIONS[op.key].status == "refused"), reply


@pytest.mark.parametrize(
    ("op", "option"),
    [(op, option) for op in graph_metadata.OPERATIONS for option in op.query_options],
    ids=lambda value: value.key if isinstance(value, Operation) else value,
)
def test_each_query_option_mark_is_what_the_emulator_does(op: Operation, option: str) -> None:
    if coverage.OPERATIONS[op.key].status == "refused":  # the route refuses before any option is read
        assert _refused(_request(op))
        return
    reply = _request(op, f"{option}={OPTION_VALUES[option]}")
    assert _refused(reply) == (coverage.QUERY_OPTIONS[op.key][option].status == "refused"), reply


@pytest.mark.parametrize("key", list(coverage.BEYOND_METADATA))
def test_what_is_served_beyond_the_metadata_is_served(key: str) -> None:
    method, path = key.split(" ", 1)
    reply = _request(Operation(path, method))
    assert not _refused(reply) and reply.status < 300, reply


# --- metadata that grows -------------------------------------------------------------------------------------

#: A builder as the SDK generates them, grown by a PUT and a ``$format`` option.
GROWN_BUILDER = """
class TrustFrameworkKeySetItemRequestBuilder(BaseRequestBuilder):
    def __init__(self, request_adapter, path_parameters) -> None:
        super().__init__(request_adapter, "{+baseurl}/trustFramework/keySets/{trustFrameworkKeySet%2Did}{?%24expand,%24select}", path_parameters)

    def to_get_request_information(self, request_configuration: Optional[RequestConfiguration[TrustFrameworkKeySetItemRequestBuilderGetQueryParameters]] = None) -> RequestInformation:
        return RequestInformation(Method.GET, self.url_template, self.path_parameters)

    def to_put_request_information(self, body, request_configuration: Optional[RequestConfiguration[QueryParameters]] = None) -> RequestInformation:
        return RequestInformation(Method.PUT, self.url_template, self.path_parameters)

    @dataclass
    class TrustFrameworkKeySetItemRequestBuilderGetQueryParameters():
        def get_query_parameter(self, original_name: str) -> str:
            if original_name == "expand":
                return "%24expand"
            if original_name == "select":
                return "%24select"
            if original_name == "format":
                return "%24format"
            return original_name
"""  # noqa: E501 (the shape of the SDK's generated lines, long as they are)


def _wheel(tmp_path: Path, source: str) -> Path:
    wheel = tmp_path / "msgraph_beta_sdk-99.0.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        name = f"{sdk_metadata.BUILDERS_DIR}item/trust_framework_key_set_item_request_builder.py"
        archive.writestr(name, source)
        archive.writestr("msgraph_beta/generated/users/users_request_builder.py", "class Unrelated: ...\n")
    return wheel


def test_the_builders_are_read_as_the_sdk_generates_them(tmp_path: Path) -> None:
    operations = sdk_metadata.operations_in_wheel(_wheel(tmp_path, GROWN_BUILDER))
    path = "/trustFramework/keySets/{trustFrameworkKeySet-id}"
    assert operations == [Operation(path, "GET", ("$expand", "$select", "$format")), Operation(path, "PUT", ())]


def test_metadata_that_grows_an_operation_or_option_fails_the_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wheel = _wheel(tmp_path, GROWN_BUILDER)
    vendored = coverage.METADATA_MODULE.read_text(encoding="utf-8")
    grown = sdk_metadata.operations_in_wheel(wheel)
    assert "PUT /trustFramework/keySets/{trustFrameworkKeySet-id}" in coverage.unmarked(grown)
    assert "GET /trustFramework/keySets/{trustFrameworkKeySet-id} $format" in coverage.unmarked(grown)
    assert coverage.main(["--check", "--wheel", str(wheel), "--output", str(DOC)]) == 1
    err = capsys.readouterr().err
    assert "no mark for PUT /trustFramework/keySets/{trustFrameworkKeySet-id}" in err
    assert coverage.METADATA_MODULE.read_text(encoding="utf-8") == vendored  # --check wrote nothing


def test_a_wheel_without_builders_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no request builders"):
        sdk_metadata.operations_in_wheel(_empty_wheel(tmp_path))


def _empty_wheel(tmp_path: Path) -> Path:
    wheel = tmp_path / "empty.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("msgraph_beta/__init__.py", "")
    return wheel
