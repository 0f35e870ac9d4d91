"""Every error the emulated Graph answers with: status, code and message, worded as the reference records them.

Statuses the reference leaves undocumented are the choices listed in docs/emulator.md's behaviour table.
"""

from __future__ import annotations

PERMISSION_MESSAGE = (
    "The application does not have any of the required application permissions "
    "(TrustFrameworkKeySet.Read.All, TrustFrameworkKeySet.ReadWrite.All) to access the resource. "
)


class Refusal(Exception):
    """Graph refuses the request: the service turns it into the error envelope."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def segment_not_found(segment: str) -> Refusal:
    return Refusal(400, "BadRequest", f"Resource not found for the segment '{segment}'.")


def no_http_resource(method: str, url: str) -> Refusal:
    """What the B2C backend (ASP.NET Web API) says for a verb it has no action for, wrapped as Graph does."""
    inner = (
        '{"message":"No HTTP resource was found that matches the request URI \'' + url + "'.\","
        '"messageDetail":"No action was found on the controller that matches the request method \'' + method + "'.\"}"
    )
    return Refusal(405, "UnknownError", inner)


def malformed_json() -> Refusal:
    return Refusal(
        400,
        "BadRequest",
        "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON "
        "format.",
    )


def permission_denied() -> Refusal:
    return Refusal(403, "AADB2C", PERMISSION_MESSAGE)


def keyset_field_invalid() -> Refusal:
    return Refusal(
        400, "AADB2C", "The 'keySet' field is invalid in request. Please check the request body and parameters."
    )


def invalid_keyset_id(keyset_id: str, problems: list[str]) -> Refusal:
    return Refusal(400, "AADB2C", f"The key set id '{keyset_id}' is invalid: it {'; it '.join(problems)}.")


def already_exists(keyset_id: str) -> Refusal:
    return Refusal(
        409, "AADB2C95028", f"Can't create trustframework key set with name '{keyset_id}' because it already exists."
    )


def keyset_not_found(keyset_id: str, directory: str) -> Refusal:
    return Refusal(
        404, "AADB2C90073", f"KeyContainer with 'id': '{keyset_id}' cannot be found in the directory '{directory}'"
    )


def key_not_found(keyset_id: str, kid: str) -> Refusal:
    return Refusal(404, "AADB2C90073", f"Key with 'kid': '{kid}' cannot be found in the key set '{keyset_id}'")


def kid_in_payload() -> Refusal:
    return Refusal(400, "AADB2C95059", "One of the keys in the payload has 'kid' which is not empty.")


def mixed_types() -> Refusal:
    return Refusal(400, "AADB2C95032", "One can't mix RSA and Oct types in one key set.")


def mixed_uses() -> Refusal:
    return Refusal(400, "AADB2C95042", "One can't mix signature and encryption usage in one key set.")


def concurrent_write() -> Refusal:
    return Refusal(
        409,
        "AADB2C95053",
        "Multiple concurrent writes to the same object detected. Please perform update operations on the same object "
        "sequentially.",
    )


def bad_kty(kty: object) -> Refusal:
    return Refusal(400, "AADB2C95031", f"The key type '{kty}' is not supported. Must be RSA or oct.")


def bad_use(use: object) -> Refusal:
    return Refusal(400, "AADB2C95033", f"The key usage '{use}' is not supported. Must be sig or enc.")


def bad_jwk_format(reason: str) -> Refusal:
    return Refusal(400, "AADB2C95026", f"The uploaded JWK is not in the correct JSON format. {reason}")


def k_not_base64url() -> Refusal:
    return Refusal(400, "AADB2C95041", "The 'k' value of a key in the payload is not base64url encoded.")


def rsa_too_short(bits: int) -> Refusal:
    return Refusal(400, "AADB2C90137", f"The RSA key is {bits} bits long; the minimum is 2048 bits.")


def bad_certificate(reason: str) -> Refusal:
    message = f"The certificate provided in request is not a valid X.509 certificate: {reason}."
    return Refusal(400, "AADB2C90179", message)


def wrong_pfx_password() -> Refusal:
    return Refusal(400, "AADB2C90213", "The certificate password provided in request is incorrect.")


def expired(exp: int) -> Refusal:
    return Refusal(400, "AADB2C90214", f"The key expiry date ({exp}) is in the past.")


def badly_formatted(reason: str) -> Refusal:
    return Refusal(400, "AADB2C90215", f"The uploaded key is badly formatted. Reason: '{reason}'.")


def missing_parameter(name: str) -> Refusal:
    return Refusal(400, "AADB2C90253", f"A required keyset parameter is missing: '{name}'.")


def no_valid_key(keyset_id: str, tenant: str) -> Refusal:
    return Refusal(
        400,
        "AADB2C90019",
        f"The key container with id '{keyset_id}' in tenant '{tenant}' does not has a valid key. "
        "Reason: Valid key not found.",
    )


def bad_query(reason: str) -> Refusal:
    return Refusal(400, "BadRequest", reason)
