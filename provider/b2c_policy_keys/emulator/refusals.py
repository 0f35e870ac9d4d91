"""Every error the emulated Graph answers with: status, code and message, worded as the reference records them.

B2C messages use the templates of Microsoft's B2C error catalogue (learn.microsoft.com/azure/active-directory-b2c/
error-codes, "doc" below). Statuses the record leaves undocumented are the choices listed in docs/emulator.md's
behaviour table.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

#: A read: both permissions are listed (real: the 403 pasted in public issues, reference "Where it lives").
PERMISSION_MESSAGE = (
    "The application does not have any of the required application permissions "
    "(TrustFrameworkKeySet.Read.All, TrustFrameworkKeySet.ReadWrite.All) to access the resource. "
)
#: A write (and keys_v2, documented as ReadWrite.All only): only the write permission is named (real for the
#: policies endpoint of the same backend; by analogy here).
WRITE_PERMISSION_MESSAGE = (
    "The application does not have any of the required application permissions "
    "(TrustFrameworkKeySet.ReadWrite.All) to access the resource. "
)
#: Where the B2C backend (cpim) lives: its ASP.NET routing errors name this URL (real: microsoft-graph-docs PR 9963).
CPIM_GRAPH_URL = "https://cpim.windows.net/graph"


class Refusal(Exception):
    """Graph refuses the request: the service turns it into the error envelope."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def segment_not_found(segment: str) -> Refusal:
    # Graph's own answer for a path it cannot resolve (the reference, "Where it lives").
    return Refusal(400, "BadRequest", f"Resource not found for the segment '{segment}'.")


def _wrapped(fields: dict[str, object]) -> str:
    """The backend's ASP.NET error object, serialised compactly into Graph's ``message`` (as PR 9963 shows it)."""
    return json.dumps(fields, separators=(",", ":"))


def no_action(keyset_id: str, action: str) -> Refusal:
    """An action called with a verb it has no binding for (getActiveKey by POST, uploadSecret by GET ...).

    Message real (microsoft-graph-docs PR 9963); status chosen: ASP.NET Web API's action selector answers this text
    ("No action was found on the controller ...") with 404.
    """
    uri = f"{CPIM_GRAPH_URL}/trustFramework/keySets('{keyset_id}')/Microsoft.Cpim.Api.DataModels.{action}"
    message = _wrapped(
        {
            "message": f"No HTTP resource was found that matches the request URI '{uri}'.",
            "messageDetail": "No action was found on the controller 'trustframework' that matches the request.",
            "stackTrace": None,
        }
    )
    return Refusal(404, "UnknownError", message)


def method_not_supported(method: str) -> Refusal:
    """A verb a key set, key or the collection has no handler for (PATCH on a key set ...).

    Chosen: ASP.NET Web API's 405 text ("The requested resource does not support http method '{0}'."), wrapped as
    the real 404 of ``no_action`` is.
    """
    message = _wrapped({"message": f"The requested resource does not support http method '{method}'."})
    return Refusal(405, "UnknownError", message)


def malformed_json() -> Refusal:
    # Graph's text for an unreadable payload (chosen: the reference records none for key sets).
    return Refusal(
        400,
        "BadRequest",
        "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON "
        "format.",
    )


def permission_denied(*, write: bool) -> Refusal:
    return Refusal(403, "AADB2C", WRITE_PERMISSION_MESSAGE if write else PERMISSION_MESSAGE)


def keyset_field_invalid() -> Refusal:
    # observed: what the official .NET SDK met for @odata.type in the body (the reference, "Semantics").
    return Refusal(
        400, "AADB2C", "The 'keySet' field is invalid in request. Please check the request body and parameters."
    )


def invalid_keyset_id(keyset_id: str, problems: list[str]) -> Refusal:
    # chosen: name rules and message are undocumented (docs/emulator.md).
    return Refusal(400, "AADB2C", f"The key set id '{keyset_id}' is invalid: it {'; it '.join(problems)}.")


def already_exists(keyset_id: str) -> Refusal:
    # doc (catalogue) text; the 409 is chosen.
    return Refusal(
        409, "AADB2C95028", f"Can't create trustframework key set with name '{keyset_id}' because it already exists."
    )


#: A missing key set is a 400 (tool: IEFPolicies, by a Microsoft B2C engineer, creates a set only when its GET answers
#: 400); every other 90073 answer takes the same status, since one backend lookup raises them all (chosen).
NOT_FOUND_STATUS = 400


def keyset_not_found(keyset_id: str, directory: str) -> Refusal:
    return Refusal(
        NOT_FOUND_STATUS,
        "AADB2C90073",
        f"KeyContainer with 'id': '{keyset_id}' cannot be found in the directory '{directory}'",
    )


def key_not_found(keyset_id: str, kid: str) -> Refusal:
    # The message is chosen (no record shows it); the code is the key container's not-found.
    return Refusal(
        NOT_FOUND_STATUS, "AADB2C90073", f"Key with 'kid': '{kid}' cannot be found in the key set '{keyset_id}'"
    )


def kid_in_payload() -> Refusal:
    # doc (catalogue)
    return Refusal(400, "AADB2C95059", "One of the keys in the payload has 'kid' which is not empty.")


def mixed_types() -> Refusal:
    # doc (catalogue)
    return Refusal(400, "AADB2C95032", "One can't mix RSA and Oct types in one key set.")


def mixed_uses() -> Refusal:
    # doc (catalogue)
    return Refusal(400, "AADB2C95042", "One can't mix signature and encryption usage in one key set.")


def concurrent_write() -> Refusal:
    # doc (catalogue) text; the 409 is chosen.
    return Refusal(
        409,
        "AADB2C95053",
        "Multiple concurrent writes to the same object detected. Please perform update operations on the same object "
        "sequentially.",
    )


def missing_kty() -> Refusal:
    return Refusal(400, "AADB2C95030", "Missing kty parameter for the trustframework key.")  # doc


def bad_kty(kty: object) -> Refusal:
    return Refusal(400, "AADB2C95031", f"Bad kty parameter '{kty}' for the trustframework key. Must be RSA or oct.")


def bad_use(use: object) -> Refusal:
    return Refusal(400, "AADB2C95033", f"Bad use parameter '{use}' for the trustframework key.")  # doc


def bad_jwk_format(tenant: str) -> Refusal:
    return Refusal(
        400, "AADB2C95026", f"The uploaded JSON Web Key for tenant '{tenant}' is not in the correct JSON format."
    )


def rsa_parts_missing() -> Refusal:
    return Refusal(
        400, "AADB2C95039", "The presented TrustFrameworkKey RSA entity is missing or the modulus or exponent."
    )  # doc


def k_not_base64url() -> Refusal:
    return Refusal(
        400, "AADB2C95041", "The trust framework key K parameter is wrongly encoded. Should be base64 URL encoded."
    )  # doc


def rsa_too_short(min_bits: int) -> Refusal:
    return Refusal(400, "AADB2C90137", f"A secure RSA key requires at least {min_bits} bits.")  # doc


def bad_certificate(keyset_id: str, tenant: str, reason: str) -> Refusal:
    # doc template; which name '{0}' is (the set's id here) is chosen.
    message = f"The presented X509 certificate '{keyset_id}' in tenant '{tenant}' is not a valid X.509 certificate: "
    return Refusal(400, "AADB2C90179", f"{message}'{reason}'")


def wrong_pfx_password() -> Refusal:
    return Refusal(400, "AADB2C90213", "The certificate password provided in request is incorrect.")  # doc


def expired(tenant: str, keyset_id: str, exp: int) -> Refusal:
    # doc template; the passed date is written as ISO 8601 UTC (chosen).
    passed = datetime.fromtimestamp(exp, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Refusal(
        400,
        "AADB2C90214",
        f"The expiry date for the key container in tenant '{tenant}' with storageReferenceId '{keyset_id}' is in "
        f"the past. Passed date :'{passed}'.",
    )


def badly_formatted(reason: str) -> Refusal:
    return Refusal(400, "AADB2C90215", f"The uploaded key is badly formatted. Reason: '{reason}'.")  # doc


def missing_parameter(name: str) -> Refusal:
    return Refusal(400, "AADB2C90253", f"The trustframework keyset parameter '{name}' is missing")  # doc


def no_valid_key(keyset_id: str, tenant: str) -> Refusal:
    # doc (catalogue: the runtime code); that getActiveKey answers it, with 400, is chosen.
    return Refusal(
        400,
        "AADB2C90019",
        f"The key container with id '{keyset_id}' in tenant '{tenant}' does not has a valid key. "
        "Reason: Valid key not found.",
    )


def bad_query(reason: str) -> Refusal:
    return Refusal(400, "BadRequest", reason)


def query_option_not_allowed(option: str) -> Refusal:
    """An OData query option the emulator does not implement: refused, never silently ignored (chosen).

    Worded as ASP.NET OData's query validator refuses an option a controller does not allow (the B2C backend is an
    ASP.NET OData service): "Query option '{0}' is not allowed. To allow it, set the '{1}' property ...".
    """
    name = {"orderby": "OrderBy"}.get(option.lstrip("$").lower(), option.lstrip("$").capitalize())
    return Refusal(
        400,
        "BadRequest",
        f"Query option '{name}' is not allowed. To allow it, set the 'AllowedQueryOptions' property on "
        "EnableQueryAttribute or QueryValidationSettings.",
    )


def unknown_property(name: str, entity: str) -> Refusal:
    """``$select`` of a property the entity has not: OData's own refusal, as Graph answers it for any entity."""
    return Refusal(400, "BadRequest", f"Could not find a property named '{name}' on type 'microsoft.graph.{entity}'.")
