"""Pure ASGI middleware (cheap per request): request id, access log, Prometheus metrics,
an in-flight cap that answers 503 ``overloaded`` instead of queueing without bound."""

from __future__ import annotations

import time
import uuid

import structlog
from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from slotwise import errors
from slotwise.core.problems import problem_response
from slotwise.i18n import negotiate

log = structlog.get_logger("slotwise.access")

REQUESTS = Counter("slotwise_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "slotwise_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


def _route_of(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, max_in_flight: int = 512) -> None:
        self.app = app
        self.max_in_flight = max_in_flight
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = (
            incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else uuid.uuid4().hex
        )
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status_holder = [500]
        streaming = scope["path"].endswith("/events")

        if self.in_flight >= self.max_in_flight and not streaming:
            locale = negotiate(headers.get(b"accept-language", b"").decode("latin-1"))
            response = problem_response(
                errors.Overloaded(headers={"Retry-After": "1"}), locale, scope["path"]
            )
            await response(scope, receive, send)
            return

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder[0] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"x-request-id", request_id.encode("latin-1")),
                ]
            await send(message)

        if not streaming:
            self.in_flight += 1
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            if not streaming:
                self.in_flight -= 1
            elapsed = time.perf_counter() - started
            route = _route_of(scope)
            REQUESTS.labels(scope["method"], route, str(status_holder[0])).inc()
            LATENCY.labels(scope["method"], route).observe(elapsed)
            log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=status_holder[0],
                ms=round(elapsed * 1000, 2),
            )
            structlog.contextvars.clear_contextvars()
