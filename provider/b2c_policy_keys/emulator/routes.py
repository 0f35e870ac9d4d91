"""Routing: OAuth endpoints, managed identity, the admin API and Graph, with faults and the request log around them."""

from __future__ import annotations

import base64
import ipaddress
import json
import re
import sys
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

from b2c_policy_keys.emulator.auth import Authority, BearerError, ManagedIdentityError, OAuthError, unknown_tenant
from b2c_policy_keys.emulator.clients import MANAGED_IDENTITY_CLIENT_ID
from b2c_policy_keys.emulator.envelope import RequestIds, error_body
from b2c_policy_keys.emulator.faults import GRAPH_THROTTLE_INNER, Fault, FaultBook
from b2c_policy_keys.emulator.requestlog import DROPPED, RequestLog
from b2c_policy_keys.emulator.server import Request, Response
from b2c_policy_keys.emulator.service import GraphService

GRAPH_CONTENT_TYPE = (
    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
)
JSON_CONTENT_TYPE = "application/json; charset=utf-8"
ADMIN_PREFIX = "/_emulator"
MSI_PATH = "/msi/token"
WWW_AUTHENTICATE = (
    'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
    'client_id="00000003-0000-0000-c000-000000000000"'
)

_DISCOVERY = re.compile(r"^/(?P<tenant>[^/]+)/v2\.0/\.well-known/openid-configuration$")
_JWKS = re.compile(r"^/(?P<tenant>[^/]+)/discovery(?:/v2\.0)?/keys$")
_TOKEN = re.compile(r"^/(?P<tenant>[^/]+)/oauth2/v2\.0/token$")
_OAUTH = re.compile(r"^/[^/]+/(?:oauth2|v2\.0|discovery)/")


class EmulatorApp:
    """Everything behind the socket. Thread-safe: every piece it holds is."""

    def __init__(
        self,
        *,
        authority: Authority,
        service: GraphService | None,
        faults: FaultBook,
        log: RequestLog,
        msi_header: str,
        authority_host: str,
        admin: Callable[[Request], Response],
    ) -> None:
        self.authority = authority
        self.service = service
        self.faults = faults
        self.log = log
        self.msi_header = msi_header
        self.authority_host = authority_host
        self.admin = admin

    def __call__(self, request: Request) -> Response:
        if request.path == ADMIN_PREFIX or request.path.startswith(ADMIN_PREFIX + "/"):
            if not _is_loopback(request.client_host):
                return _graph_error(403, "Forbidden", "The admin API answers loopback clients only.", None)
            return self.admin(request)
        started = time.perf_counter()
        response = self._with_faults(request)
        status = DROPPED if response.drop else response.status
        self.log.record(request.method, request.path, status, (time.perf_counter() - started) * 1000)
        return response

    def _with_faults(self, request: Request) -> Response:
        latency_ms, fault = self.faults.take(request.method, request.path)
        if latency_ms:
            time.sleep(latency_ms / 1000)
        if fault is None:
            return self._dispatch(request)
        if fault.kind == "drop_before":
            return Response(0, drop=True)
        if fault.kind == "drop_after":
            self._dispatch(request)
            return Response(0, drop=True)
        return self._fault_response(fault, request)

    def _fault_response(self, fault: Fault, request: Request) -> Response:
        retry_after = fault.retry_after_header()
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        if _OAUTH.match(request.path) or request.path == MSI_PATH:
            error = OAuthError(
                fault.status,
                "temporarily_unavailable" if fault.status >= 429 else "invalid_request",
                50196 if fault.status == 429 else 90033,
                fault.message,
            )
            return _json(fault.status, error.body(request.headers.get("client-request-id")), headers)
        ids = RequestIds.for_request(request.headers.get("client-request-id"))
        inner = dict(GRAPH_THROTTLE_INNER) if fault.kind == "graph_throttle" else None
        return _graph_response(fault.status, error_body(fault.code, fault.message, ids, inner=inner), headers, ids)

    def _dispatch(self, request: Request) -> Response:
        path = request.path
        if path.startswith(("/beta/", "/v1.0/")) or path in ("/beta", "/v1.0"):
            return self._graph(request)
        if path == MSI_PATH:
            return self._managed_identity(request)
        if match := _TOKEN.match(path):
            return self._token(request, match["tenant"])
        if match := _DISCOVERY.match(path):
            if request.method != "GET":
                return _graph_error(405, "MethodNotAllowed", "Use GET.", None)
            if not self.authority.knows_tenant(match["tenant"]):
                return _oauth_error(unknown_tenant(match["tenant"]), request)
            return _json(200, self.authority.discovery(self.authority_host))
        if match := _JWKS.match(path):
            if not self.authority.knows_tenant(match["tenant"]):
                return _oauth_error(unknown_tenant(match["tenant"]), request)
            return _json(200, self.authority.jwks())
        return _graph_error(404, "UnknownRoute", f"The emulator serves no route '{path}'.", request)

    def _graph(self, request: Request) -> Response:
        ids = RequestIds.for_request(request.headers.get("client-request-id"))
        try:
            principal = self.authority.verify_bearer(request.headers.get("Authorization"))
        except BearerError as error:
            body = error_body("InvalidAuthenticationToken", str(error), ids)
            return _graph_response(401, body, {"WWW-Authenticate": WWW_AUTHENTICATE}, ids)
        if self.service is None:
            return _graph_response(503, error_body("ServiceUnavailable", "The emulator is starting.", ids), {}, ids)
        try:
            reply = self.service.handle(request.method, request.path, request.query, request.body, principal, ids)
        except Exception as error:  # an emulator bug must still answer like a service would
            where = error.__traceback__.tb_frame.f_code.co_filename if error.__traceback__ else "?"
            print(f"b2c-keys emulator: internal error {type(error).__name__} in {where}", file=sys.stderr)
            return _graph_response(
                500, error_body("UnknownError", "An internal emulator error occurred.", ids), {}, ids
            )
        return _graph_response(reply.status, reply.body, dict(reply.headers), ids)

    def _token(self, request: Request, tenant: str) -> Response:
        if request.method != "POST":
            return _oauth_error(
                OAuthError(400, "invalid_request", 900561, "The endpoint only accepts POST requests."), request
            )
        form = dict(_parse_form(request.body))
        form.update(_basic_credentials(request.headers.get("Authorization", ""), form))
        audiences = {f"{base}/{tenant}/oauth2/v2.0/token" for base in (self.authority_host, request.host_url)}
        try:
            issued = self.authority.token(tenant, form, audiences)
        except OAuthError as error:
            return _oauth_error(error, request)
        return _json(
            200, self.authority.token_response(issued), {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"}
        )

    def _managed_identity(self, request: Request) -> Response:
        try:
            issued = self.authority.managed_identity_token(
                request.query, request.headers.get("X-IDENTITY-HEADER"), self.msi_header
            )
        except ManagedIdentityError as error:
            return _json(error.status, {"statusCode": error.status, "message": str(error)})
        return _json(
            200,
            {
                "access_token": issued.access_token,
                "expires_on": str(issued.expires_on),
                "resource": request.query.get("resource", ""),
                "token_type": "Bearer",
                "client_id": MANAGED_IDENTITY_CLIENT_ID,
            },
        )


def _parse_form(body: bytes) -> list[tuple[str, str]]:
    return parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)


def _basic_credentials(authorization: str, form: dict[str, str]) -> dict[str, str]:
    """``client_secret_basic``: the client id and secret in an ``Authorization: Basic`` header (RFC 6749 2.3.1)."""
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic" or "client_secret" in form:
        return {}
    try:
        client_id, _, secret = base64.b64decode(encoded.strip()).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        return {}
    return {"client_id": unquote_plus(client_id), "client_secret": unquote_plus(secret)}


def _is_loopback(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def _json(status: int, body: dict[str, Any] | None, headers: dict[str, str] | None = None) -> Response:
    merged = {"Content-Type": JSON_CONTENT_TYPE} if body is not None else {}
    merged.update(headers or {})
    return Response(status, body, merged)


def _oauth_error(error: OAuthError, request: Request) -> Response:
    return _json(error.status, error.body(request.headers.get("client-request-id")))


def _graph_response(status: int, body: dict[str, Any] | None, headers: dict[str, str], ids: RequestIds) -> Response:
    merged = {"Content-Type": GRAPH_CONTENT_TYPE} if body is not None else {}
    merged.update(headers)
    merged["request-id"] = ids.request_id
    merged["client-request-id"] = ids.client_request_id
    return Response(status, body, merged)


def _graph_error(status: int, code: str, message: str, request: Request | None) -> Response:
    ids = RequestIds.for_request(request.headers.get("client-request-id") if request else None)
    return _graph_response(status, error_body(code, message, ids), {}, ids)


def parse_json_object(body: bytes) -> dict[str, Any]:
    """An admin request body: a JSON object, or ValueError."""
    try:
        value = json.loads(body or b"{}")
    except json.JSONDecodeError as error:
        raise ValueError(f"the body is not JSON: {error.msg}") from error
    if not isinstance(value, dict):
        raise ValueError("the body must be a JSON object")
    return value


def graph_error(status: int, code: str, message: str) -> Response:
    return _graph_error(status, code, message, None)
