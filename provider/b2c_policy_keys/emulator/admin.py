"""The admin API under ``/_emulator``: health, request log, faults, reset, clients, federation, secret checks, clock.

No token: it is a test and operator tool, answered to loopback clients only (``routes.py`` enforces that).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from b2c_policy_keys.emulator.routes import graph_error, parse_json_object
from b2c_policy_keys.emulator.server import Request, Response

JSON = {"Content-Type": "application/json; charset=utf-8"}


class AdminTarget(Protocol):
    """What the admin API drives: the ``Emulator`` itself."""

    def health(self) -> dict[str, Any]: ...
    def requests_log(self) -> list[dict[str, Any]]: ...
    def clear_requests(self) -> None: ...
    def list_faults(self) -> list[dict[str, Any]]: ...
    def add_fault(self, **fault: Any) -> dict[str, Any]: ...
    def clear_faults(self) -> None: ...
    def reset(self) -> None: ...
    def add_client_from_spec(self, spec: dict[str, Any]) -> dict[str, Any]: ...
    def federated_token(self, subject: str = ..., client_id: str | None = None) -> str: ...
    def secret_matches(self, keyset_id: str, kid: str, value: str) -> bool: ...
    def clock(self) -> dict[str, int]: ...
    def advance_clock(self, seconds: object) -> dict[str, int]: ...


def admin_handler(target: AdminTarget) -> Callable[[Request], Response]:
    def ok(status: int, body: dict[str, Any] | None = None) -> Response:
        return Response(status, body, dict(JSON) if body is not None else {})

    def handle(request: Request) -> Response:
        route = request.path.removeprefix("/_emulator").rstrip("/") or "/"
        method = request.method
        try:
            if route == "/health" and method == "GET":
                return ok(200, target.health())
            if route == "/requests" and method == "GET":
                return ok(200, {"value": target.requests_log()})
            if route == "/requests" and method == "DELETE":
                target.clear_requests()
                return ok(204)
            if route == "/faults" and method == "GET":
                return ok(200, {"value": target.list_faults()})
            if route == "/faults" and method == "POST":
                return ok(201, target.add_fault(**parse_json_object(request.body)))
            if route == "/faults" and method == "DELETE":
                target.clear_faults()
                return ok(204)
            if route == "/clock" and method == "GET":
                return ok(200, target.clock())
            if route == "/clock" and method == "POST":
                return ok(200, target.advance_clock(parse_json_object(request.body).get("advance_s")))
            if route == "/reset" and method == "POST":
                target.reset()
                return ok(204)
            if route == "/clients" and method == "POST":
                return ok(201, target.add_client_from_spec(parse_json_object(request.body)))
            if route == "/federated-token" and method == "POST":
                spec = parse_json_object(request.body)
                subject = spec.get("subject") or "repo:example/app:ref:refs/heads/main"
                client_id = spec.get("client_id")
                if not isinstance(subject, str) or (client_id is not None and not isinstance(client_id, str)):
                    raise ValueError("'subject' and 'client_id' must be strings")
                return ok(200, {"token": target.federated_token(subject=subject, client_id=client_id)})
            if route == "/secret-check" and method == "POST":
                spec = parse_json_object(request.body)
                fields = [spec.get(name) for name in ("keyset_id", "kid", "value")]
                if not all(isinstance(value, str) for value in fields):
                    raise ValueError("'keyset_id', 'kid' and 'value' must be strings")
                keyset_id, kid, value = (str(v) for v in fields)
                return ok(200, {"matches": target.secret_matches(keyset_id, kid, value)})
        except (ValueError, TypeError) as error:
            return graph_error(400, "BadRequest", str(error))
        return graph_error(404, "UnknownRoute", f"The admin API has no route {method} {request.path}.")

    return handle
