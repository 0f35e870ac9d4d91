"""Client secrets, uploaded values, PFX passwords and tokens never reach logs or exception messages, even at DEBUG."""

from __future__ import annotations

import base64
import json
import logging
import urllib.parse
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from b2c_policy_keys.emulator import Emulator
from b2c_policy_keys.errors import B2CKeysError
from b2c_policy_keys.graph import GraphClient
from b2c_policy_keys.graph.mapping import read_error_answer, to_exception
from b2c_policy_keys.graph.scrub import MIN_PREFIX, scrub
from b2c_policy_keys.graph.transport import Transport

from .support import app_certificate, emulator_settings

CLIENT_SECRET = "scan-client-secret-7f3a9c"
UPLOADED = "scan-uploaded-value-d41e8b"
PFX_PASSWORD = "scan-pfx-password-90ab"


class Everything(logging.Handler):
    """Every record of every logger (urllib3, msal, ours), formatted, plus its raw arguments."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(record.getMessage())
        self.texts.append(repr(record.args))
        if record.exc_info and record.exc_info[1] is not None:
            self.texts.append(repr(record.exc_info[1]))


@pytest.fixture
def everything() -> Everything:
    handler = Everything()
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler  # type: ignore[misc]
    root.removeHandler(handler)
    root.setLevel(previous)


def test_nothing_secret_is_logged_or_raised(emulator: Emulator, everything: Everything, tmp_path: Path) -> None:
    emulator.add_client("b2c00000-0000-4000-8000-0000000000d1", secret=CLIENT_SECRET)
    settings = emulator_settings(
        emulator, **{"b2c:clientId": "b2c00000-0000-4000-8000-0000000000d1", "b2c:clientSecret": CLIENT_SECRET}
    )
    transport = Transport(settings)
    client = GraphClient(settings, transport)
    messages: list[str] = []

    def expect_error(call: object) -> None:
        try:
            call()  # type: ignore[operator]
        except B2CKeysError as error:
            messages.append(str(error))
            messages.append(repr(error))
        else:
            raise AssertionError("expected an error")

    client.create_keyset("scan")
    client.upload_secret("scan", use="sig", value=UPLOADED)
    expect_error(lambda: client.upload_secret("scan", use="enc", value=UPLOADED))  # use differs from the set's
    emulator.add_fault(method="POST", path_regex="uploadSecret$", kind="drop_after", count=1)
    expect_error(lambda: client.upload_secret("scan", use="sig", value=UPLOADED))
    emulator.add_fault(method="POST", path_regex="uploadSecret$", kind="status", status=400, code="AADB2C95026")
    expect_error(lambda: client.upload_secret("scan", use="sig", value=UPLOADED))
    emulator.clear_faults()

    pki = app_certificate("scan")
    encryption = (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
        .build(PFX_PASSWORD.encode())
    )
    pfx = base64.b64encode(pkcs12.serialize_key_and_certificates(b"k", pki.key, pki.cert, None, encryption)).decode()
    client.create_keyset("scan-pfx")
    client.upload_pkcs12("scan-pfx", pfx=pfx, password=PFX_PASSWORD)
    expect_error(lambda: client.upload_pkcs12("scan-pfx", pfx=pfx, password=PFX_PASSWORD + "-wrong"))

    wrong = emulator_settings(emulator, **{"b2c:clientSecret": CLIENT_SECRET + "-wrong"})
    expect_error(lambda: GraphClient(wrong).list_keysets())

    token = transport.tokens.token()
    assert len(messages) == 10  # five errors, each as str and repr
    assert any(t.startswith("POST /beta/trustFramework") for t in everything.texts)  # we did log
    assert any('"POST /beta/trustFramework' in t for t in everything.texts)  # and so did urllib3
    haystack = "\n".join(everything.texts + messages)
    for secret in (CLIENT_SECRET, UPLOADED, PFX_PASSWORD, token, pfx[:40], emulator.client_secret):
        assert secret not in haystack


def test_federated_tokens_identity_headers_and_key_passwords_are_not_logged(
    emulator: Emulator, everything: Everything, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assertion = emulator.federated_token()
    token_file = tmp_path / "token"
    token_file.write_text(assertion)
    oidc = emulator_settings(
        emulator, **{"b2c:clientSecret": None, "b2c:useOidc": "true", "b2c:oidcTokenFilePath": str(token_file)}
    )
    GraphClient(oidc).list_keysets()

    monkeypatch.setenv("IDENTITY_ENDPOINT", f"{emulator.authority_host}/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", emulator.msi_header)
    msi = emulator_settings(emulator, **{"b2c:clientId": None, "b2c:clientSecret": None, "b2c:useMsi": "true"})
    GraphClient(msi).list_keysets()

    pki = app_certificate("scan-cert")
    emulator.add_client("b2c00000-0000-4000-8000-0000000000d2", certificate_pem=pki.cert_pem)
    pem = tmp_path / "app.pem"
    pem.write_text(pki.key_pem(PFX_PASSWORD) + pki.cert_pem)
    cert = emulator_settings(
        emulator,
        **{
            "b2c:clientId": "b2c00000-0000-4000-8000-0000000000d2",
            "b2c:clientSecret": None,
            "b2c:clientCertificatePath": str(pem),
            "b2c:clientCertificatePassword": PFX_PASSWORD,
        },
    )
    GraphClient(cert).list_keysets()

    haystack = "\n".join(everything.texts)
    assert "/msi/token" in haystack  # the scan saw the managed-identity exchange
    for secret in (assertion, emulator.msi_header, PFX_PASSWORD, pki.key_pem().splitlines()[1]):
        assert secret not in haystack


# --- every spelling (issue 11, B11) --------------------------------------------------------------------------

_SPELLINGS: dict[str, Callable[[str], str]] = {
    "exact": lambda s: s,
    "json": lambda s: json.dumps(s)[1:-1],
    "json-unicode": lambda s: json.dumps(s, ensure_ascii=False)[1:-1],
    "url": lambda s: urllib.parse.quote(s, safe=""),
    "url-plus": urllib.parse.quote_plus,
    "base64": lambda s: base64.b64encode(s.encode()).decode(),
    "base64url-unpadded": lambda s: base64.urlsafe_b64encode(s.encode()).decode().rstrip("="),
    "basic-auth": lambda s: base64.b64encode(f"client-id:{s}".encode()).decode(),
    "upper": str.upper,
    "lower": str.lower,
    "swapcase": str.swapcase,
}

_secrets = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)),  # a lone surrogate is no secret anyone can type
    min_size=8,
    max_size=48,
)


def _core(spelled: str, spelling: str, full_length: int) -> str:
    """The part of a spelling that must not survive: for Basic auth, only the characters encoding the secret's bytes
    ("client-id:" is 10 bytes, so the first 16 characters encode it; the last group may mix in padding)."""
    if spelling != "basic-auth":
        return spelled
    return spelled[16 : min(len(spelled), full_length - 4)]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    secret=_secrets,
    spelling=st.sampled_from(sorted(_SPELLINGS)),
    then=st.sampled_from(["whole", "upper", "truncated"]),
    cut=st.integers(min_value=8, max_value=60),
    before=st.text(max_size=20),
    after=st.text(max_size=20),
)
def test_no_spelling_of_a_secret_survives_scrubbing(
    secret: str, spelling: str, then: str, cut: int, before: str, after: str
) -> None:
    spelled = _SPELLINGS[spelling](secret)
    full_length = len(spelled)
    if then == "upper":
        spelled = spelled.upper()
    elif then == "truncated":
        spelled = spelled[:cut]
    text = f"{before}the service echoed '{spelled}'{after}"
    scrubbed = scrub(text, [secret])
    core = _core(spelled, spelling, full_length)
    assume(len(core) >= MIN_PREFIX)
    assert core not in scrubbed
    assert "***" in scrubbed


def test_scrubbing_leaves_other_text_alone() -> None:
    assert scrub("AADB2C90073: key set B2C_1A_Facebook not found", ["scan-client-secret-7f3a9c"]) == (
        "AADB2C90073: key set B2C_1A_Facebook not found"
    )
    assert scrub("short abc", ["abc"]) == "short abc"  # under 4 characters: never masked, it would eat words


def test_an_error_answer_echoing_the_secret_json_escaped_or_truncated_is_scrubbed() -> None:
    """The emulator never echoes a secret, so the answer is built here: what a proxy or a service bug could send."""
    secret = 'Sec"ret/Value+Z9'
    for echo in (json.dumps(secret)[1:-1], urllib.parse.quote(secret, safe=""), secret.upper(), secret[:10]):
        body = json.dumps({"error": {"code": "BadRequest", "message": f"invalid value {echo}"}}).encode()
        answer = read_error_answer(400, body, "application/json", {}, None)
        assert echo not in str(to_exception(answer, secrets=[secret]))
