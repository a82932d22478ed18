"""OpenTelemetry trace/span ids as profile labels (opt-in), with the real OpenTelemetry SDK."""

from __future__ import annotations

import threading
import time

import pytest

import pprofx
from pprofx.http.wsgi import PprofMiddleware
from pprofx.otel import SpanLabels, current_trace_labels

trace_sdk = pytest.importorskip("opentelemetry.sdk.trace")
trace = pytest.importorskip("opentelemetry.trace")


def spin(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def labels_of(profile, key):
    out = {}
    for s in profile.samples:
        for lab in s.labels:
            if lab.key == key:
                out[lab.str] = out.get(lab.str, 0) + s.values[1]
    return out


def test_span_processor_labels_cpu_samples_with_the_active_span():
    provider = trace_sdk.TracerProvider()
    provider.add_span_processor(SpanLabels())
    tracer = provider.get_tracer("test")
    ids = {}

    def request(name):
        with tracer.start_as_current_span(name) as span:
            ctx = span.get_span_context()
            ids[name] = (format(ctx.trace_id, "032x"), format(ctx.span_id, "016x"))
            assert pprofx.current_labels()["span_id"] == ids[name][1]
            spin(0.4)
        assert "span_id" not in pprofx.current_labels()  # restored at span end

    threads = [threading.Thread(target=request, args=(n,)) for n in ("a", "b")]
    with pprofx.cpu_profile() as prof:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    p = prof.profile
    by_span = labels_of(p, "span_id")
    by_trace = labels_of(p, "trace_id")
    for name in ("a", "b"):
        trace_id, span_id = ids[name]
        assert by_span.get(span_id, 0) > 0.15e9, (by_span, ids)
        assert by_trace.get(trace_id, 0) > 0.15e9


def test_root_only_skips_child_spans():
    provider = trace_sdk.TracerProvider()
    provider.add_span_processor(SpanLabels(root_only=True))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("root") as root:
        with tracer.start_as_current_span("child"):
            assert pprofx.current_labels()["span_id"] == format(root.get_span_context().span_id, "016x")


def test_middleware_labels_requests_with_the_current_span():
    provider = trace_sdk.TracerProvider()
    tracer = provider.get_tracer("test")
    seen = {}

    def app(environ, start_response):
        seen.update(pprofx.current_labels())
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    wrapped = PprofMiddleware(app, trace_labels=True)

    def otel_outside(environ, start_response):  # what an OpenTelemetry WSGI middleware does
        with tracer.start_as_current_span("GET /x") as span:
            seen["expected"] = format(span.get_span_context().span_id, "016x")
            return list(wrapped(environ, start_response))

    otel_outside({"REQUEST_METHOD": "GET", "PATH_INFO": "/x"}, lambda *a: None)
    assert seen["span_id"] == seen["expected"] and len(seen["trace_id"]) == 32
    assert seen["http.route"] == "/x"
    assert current_trace_labels() == {}  # no span outside


def test_off_by_default():
    seen = {}

    def app(environ, start_response):
        seen.update(pprofx.current_labels())
        start_response("200 OK", [])
        return [b""]

    tracer = trace_sdk.TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("s"):
        list(PprofMiddleware(app)({"REQUEST_METHOD": "GET", "PATH_INFO": "/"}, lambda *a: None))
    assert "span_id" not in seen and seen["http.route"] == "/"
