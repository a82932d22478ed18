"""OpenTelemetry → profile labels: ``trace_id`` and ``span_id`` on the samples taken while a
span is active, so a slow trace leads to its CPU and wall profile (and back). Opt-in.

Two ways, both without a hard dependency (this module never imports OpenTelemetry; it uses
it only when the application has):

* :class:`SpanLabels`, a span processor: ``provider.add_span_processor(pprofx.otel.SpanLabels())``
  labels the code running inside every span (or only local root spans with
  ``root_only=True``), whatever creates the spans (instrumentations, manual spans);
* ``trace_labels=True`` on the WSGI/ASGI middleware: each request is labelled with the span
  that is current when it reaches the middleware, i.e. the server span of an OpenTelemetry
  middleware mounted outside pprofx's.

Labels are per sample, so each trace id is its own label value: keep this off for
long-term storage of profiles at fleet scale unless the backend expects it (Pyroscope's
span profiles do).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from .runtime.labels import labels

log = logging.getLogger("pprofx")


def _ids(span_context: Any) -> dict[str, str]:
    if span_context is None or not getattr(span_context, "is_valid", False):
        return {}
    return {"trace_id": format(span_context.trace_id, "032x"),
            "span_id": format(span_context.span_id, "016x")}


def current_trace_labels() -> dict[str, str]:
    """``trace_id``/``span_id`` of the current OpenTelemetry span, or {} (OTel not in use,
    no valid span)."""
    trace = sys.modules.get("opentelemetry.trace")
    if trace is None:
        return {}
    try:
        return _ids(trace.get_current_span().get_span_context())
    except Exception:  # noqa: BLE001 - never fail the request for a label
        return {}


class _SpanLabelling:
    """The behaviour of :func:`SpanLabels` (mixed into the SDK's ``SpanProcessor``)."""

    def __init__(self, root_only: bool = False) -> None:
        super().__init__()
        self.root_only = root_only
        self._active: dict[int, labels] = {}

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        try:
            if self.root_only:
                parent = getattr(span, "parent", None)
                if parent is not None and not getattr(parent, "is_remote", False):
                    return
            ctx = span.get_span_context()
            ids = _ids(ctx)
            if not ids:
                return
            lab = labels(**ids)
            lab.__enter__()
            self._active[ctx.span_id] = lab
        except Exception as e:  # noqa: BLE001 - a processor must not break tracing
            log.debug("pprofx: span labels skipped: %s", e)

    def on_end(self, span: Any) -> None:
        try:
            lab = self._active.pop(span.get_span_context().span_id, None)
            if lab is not None:
                lab.__exit__(None, None, None)
        except ValueError:
            # Ended in another context than it started in (e.g. handed to another task):
            # that context's labels end with it.
            pass
        except Exception as e:  # noqa: BLE001
            log.debug("pprofx: span labels not restored: %s", e)

    def shutdown(self) -> None:
        self._active.clear()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


_processor_class: list = []


def SpanLabels(root_only: bool = False) -> Any:  # noqa: N802 - reads as a class at call sites
    """An OpenTelemetry span processor that sets ``trace_id``/``span_id`` labels while a span
    is active; ``root_only``: only local root spans (one label set per request).

    Needs ``opentelemetry-sdk`` (imported here, when the application asks for it)."""
    if not _processor_class:
        from opentelemetry.sdk.trace import SpanProcessor

        _processor_class.append(type("SpanLabels", (_SpanLabelling, SpanProcessor), {}))
    return _processor_class[0](root_only)
