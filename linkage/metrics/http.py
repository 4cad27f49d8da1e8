"""The HTTP API's and the codec server's metrics, and `GET /metrics` on both: the Prometheus
text format, no token asked and no personal data in it (a deployment lets only its monitoring
network reach the path). Each app has a registry of its own.

A request is counted by its route's template (`/incidents/{incident_id}`), never by the path
asked, and every path no route matches is the one route "unmatched": no label takes values
without bound. A divert (`POST /reports`) is counted besides as received or refused, by the
report's origin (read from the body as the app reads it) and, for a refusal, a short reason
from the answer's status (errors.py's mapping) or, for a 200, its `resent` or `closed`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match

from linkage.metrics.names import METRICS
from linkage.metrics.records import RecordsCollector

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
ORIGINS = frozenset({"police", "hotline"})
UNMATCHED = "unmatched"
DIVERT = "/reports"
# an API call may wait 15 s for a worker to answer (linkage.client.errors.answer_within)
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 30.0)
READ_AT_MOST = 64 * 1024  # of a divert's body and answer, for its origin and flags
TEXT_FORMAT = "text/plain; version=0.0.4; charset=utf-8"  # what every Prometheus reads
REASONS = {401: "unauthorised", 403: "forbidden", 409: "duplicate", 422: "invalid"}


def new_registry() -> CollectorRegistry:
    """A registry of the app's own, with the process's CPU, memory and files beside."""
    disable_created_metrics()  # no `*_created` series beside each counter
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    return registry


def _made(kind, name: str, registry: CollectorRegistry, **options):
    spec = METRICS[name]
    return kind(name, spec.help, spec.labels, registry=registry, **options)


def add_metrics_route(app: Starlette, registry: CollectorRegistry) -> None:
    """`GET /metrics` (outside the OpenAPI schema)."""

    def metrics(_: Request) -> Response:  # not async: a scrape's queries run in a thread
        return Response(
            generate_latest(registry),
            media_type=TEXT_FORMAT,
            headers={"Cache-Control": "no-store"},
        )

    app.add_route("/metrics", metrics, methods=["GET"], include_in_schema=False)


def refusal(status: int, answer: bytes) -> str | None:
    """Why a divert was not taken, or None when it was (201 new, 202 queued, 200 joined)."""
    if status in (201, 202):
        return None
    if status == 200:
        flags = _object(answer)
        return "duplicate" if flags.get("resent") or flags.get("closed") else None
    return REASONS.get(status) or ("unavailable" if status >= 500 else "invalid")


def _object(data: bytes) -> dict:
    try:
        found = json.loads(data) if len(data) <= READ_AT_MOST else None
    except (ValueError, RecursionError):
        found = None
    return found if isinstance(found, dict) else {}


class ApiMetrics:
    """The API's counters and its requests' durations."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = _made(Counter, "linkage_api_requests_total", registry)
        self.duration = _made(
            Histogram, "linkage_api_request_duration_seconds", registry, buckets=BUCKETS
        )
        self.received = _made(Counter, "linkage_reports_received_total", registry)
        self.refused = _made(Counter, "linkage_reports_refused_total", registry)

    def answered(self, route: str, method: str, status: int, seconds: float) -> None:
        method = method if method in METHODS else "other"
        self.requests.labels(route=route, method=method, status=str(status)).inc()
        self.duration.labels(route=route, method=method).observe(seconds)

    def divert(self, body: bytes, status: int, answer: bytes) -> None:
        origin = _object(body).get("origin")
        origin = origin if origin in ORIGINS else "unknown"
        reason = refusal(status, answer)
        if reason is None:
            self.received.labels(origin=origin).inc()
        else:
            self.refused.labels(origin=origin, reason=reason).inc()


class RequestMetrics:
    """ASGI middleware: each request counted and timed by route template, and each divert."""

    def __init__(self, app, metrics: ApiMetrics, routes: list | None = None) -> None:
        self.app, self.metrics, self.routes = app, metrics, routes or []

    def _plain_route(self, scope) -> str | None:
        """A plain Starlette route (/metrics, /healthz) leaves no `route` in the scope: its
        template is found by matching, as the router did."""
        for candidate in self.routes:
            if candidate.matches(scope)[0] is Match.FULL:
                return getattr(candidate, "path", None)
        return None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        body, answer, status = bytearray(), bytearray(), [500]

        def route() -> str:  # known once the router has matched (before the body is read)
            return getattr(scope.get("route"), "path", None) or UNMATCHED

        def template() -> str:
            return (
                getattr(scope.get("route"), "path", None) or self._plain_route(scope) or UNMATCHED
            )

        def divert() -> bool:
            return scope["method"] == "POST" and route() == DIVERT

        async def receiving():
            message = await receive()
            if message["type"] == "http.request" and divert():
                body.extend(message.get("body", b"")[: READ_AT_MOST + 1 - len(body)])
            return message

        async def sending(message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            elif message["type"] == "http.response.body" and divert():
                answer.extend(message.get("body", b"")[: READ_AT_MOST + 1 - len(answer)])
            await send(message)

        try:
            await self.app(scope, receiving, sending)
        finally:
            seconds = time.perf_counter() - started
            self.metrics.answered(template(), scope["method"], status[0], seconds)
            if divert():
                self.metrics.divert(bytes(body), status[0], bytes(answer))


def install_api_metrics(app: Starlette, database_url: Callable[[], str]) -> CollectorRegistry:
    """The API's metrics, the work's gauges from the records database at `database_url()`
    (asked when first scraped) and `GET /metrics`."""
    registry = new_registry()
    app.add_middleware(RequestMetrics, metrics=ApiMetrics(registry), routes=app.router.routes)
    registry.register(RecordsCollector(database_url))
    add_metrics_route(app, registry)
    return registry


class CodecMetrics:
    """The codec server's decodes: by the principal's role ("none" without a valid token) and
    outcome (decoded | refused | malformed)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.decodes = _made(Counter, "linkage_codec_decodes_total", registry)

    def decode(self, role: str, outcome: str) -> None:
        self.decodes.labels(role=role or "none", outcome=outcome).inc()


def install_codec_metrics(app: Starlette) -> CodecMetrics:
    registry = new_registry()
    add_metrics_route(app, registry)
    return CodecMetrics(registry)
