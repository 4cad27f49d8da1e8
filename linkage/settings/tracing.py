"""Tracing (OpenTelemetry) where it is cheap: a span per API request, carried by the client's
calls into the workflows and activities they start (temporalio's TracingInterceptor), so one
trace shows a report from the platform's POST to the activity that wrote it.

Off, and costing nothing, unless OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT
names a collector; then spans are batched (a bounded queue) and sent over OTLP/HTTP, the other
standard OTEL_* variables applying (OTEL_SERVICE_NAME, headers, timeouts). Spans name workflows,
activities and routes, never a report's contents.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping

ENDPOINTS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
_state = {"on": False}
_lock = threading.Lock()


def tracing_wanted(environ: Mapping[str, str] | None = None) -> bool:
    environ = os.environ if environ is None else environ
    return any(environ.get(name, "").strip() for name in ENDPOINTS)


def tracing_on() -> bool:
    return _state["on"]


def configure_tracing(service: str, exporter=None) -> bool:
    """Set the process's tracer provider, once; True when tracing is on. `exporter`: where the
    spans go instead of OTLP (tests)."""
    with _lock:
        if _state["on"]:
            return True
        if exporter is None and not tracing_wanted():
            return False
        from opentelemetry import trace
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        if exporter is None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter()
        name = os.environ.get("OTEL_SERVICE_NAME", "").strip() or service
        provider = TracerProvider(resource=Resource.create({"service.name": name}))
        provider.add_span_processor(BatchSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        _state["on"] = True
        return True


def temporal_interceptors() -> list:
    """The client's interceptors (a worker takes them from its client): tracing when on."""
    if not tracing_on():
        return []
    from temporalio.contrib.opentelemetry import TracingInterceptor

    return [TracingInterceptor()]
