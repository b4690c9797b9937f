"""Prometheus metrics for every process: a `/metrics` view for Flask services and a small HTTP
server for non-HTTP processes (relay, consumer, Celery worker).

Under gunicorn, PROMETHEUS_MULTIPROC_DIR (one fresh directory per service, set by whoever starts
it) makes every worker write its samples there; the view then aggregates them, and
`mark_process_dead` (gunicorn's child_exit hook) cleans up after a dead worker.
"""

from __future__ import annotations

import os
import threading
import time

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)
from prometheus_client.registry import Collector

HTTP_REQUESTS = Counter(
    "sakip_http_requests_total",
    "HTTP requests answered, by route template and status class",
    ["service", "endpoint", "method", "status_class"],
)
HTTP_LATENCY = Histogram(
    "sakip_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template",
    ["service", "endpoint", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)


def _multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def collecting_registry() -> CollectorRegistry:
    """The registry this process exposes: in multiprocess mode one (per directory) aggregating
    every worker's files at each scrape, else the default registry. Kept, so that the state
    collectors registered on it (`register_state_collector`) are scraped with it."""
    directory = _multiprocess_dir()
    if directory is None:
        return REGISTRY
    with _LOCK:
        if directory not in _MULTIPROCESS_REGISTRIES:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            _MULTIPROCESS_REGISTRIES[directory] = registry
        return _MULTIPROCESS_REGISTRIES[directory]


_MULTIPROCESS_REGISTRIES: dict[str, CollectorRegistry] = {}
_STATE_COLLECTORS: dict[tuple[int, str], Collector] = {}
_LOCK = threading.Lock()


def register_state_collector(name: str, collector: Collector) -> None:
    """Expose `collector` (state computed at scrape time, e.g. database counts) on this
    process's registry under `name`, replacing one registered before under that name (a
    process that restarts its loop, or a test, registers again). State gauges are collected
    by the one process that owns them, never written to multiprocess files: no worker's stale
    value can linger."""
    registry = collecting_registry()
    with _LOCK:
        previous = _STATE_COLLECTORS.pop((id(registry), name), None)
        if previous is not None:
            registry.unregister(previous)
        registry.register(collector)
        _STATE_COLLECTORS[(id(registry), name)] = collector


def unregister_state_collector(name: str) -> None:
    """Stop exposing the collector registered under `name` (its connections are closing)."""
    registry = collecting_registry()
    with _LOCK:
        previous = _STATE_COLLECTORS.pop((id(registry), name), None)
        if previous is not None:
            registry.unregister(previous)


def render_metrics() -> tuple[bytes, str]:
    return generate_latest(collecting_registry()), CONTENT_TYPE_LATEST


def mark_process_dead(pid: int) -> None:
    if _multiprocess_dir():
        multiprocess.mark_process_dead(pid)


def start_metrics_server(port: int) -> None:
    """Serve /metrics of a non-HTTP process (relay, consumer, Celery worker) on `port`."""
    if port:
        start_http_server(port, addr="127.0.0.1" if os.environ.get("SAKIP_ENV") != "production"
                          else "0.0.0.0", registry=collecting_registry())  # noqa: S104


def init_app(app: Flask, service: str) -> None:
    """Add `/metrics` and the RED metrics of every request to a Flask app."""

    @app.before_request
    def _start_timer() -> None:
        g.sakip_request_started = time.perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        started = g.pop("sakip_request_started", None)
        if started is None or request.endpoint == "metrics":
            return response
        endpoint = request.url_rule.rule if request.url_rule else "<unmatched>"
        HTTP_REQUESTS.labels(service, endpoint, request.method,
                             f"{response.status_code // 100}xx").inc()
        HTTP_LATENCY.labels(service, endpoint, request.method).observe(
            time.perf_counter() - started
        )
        return response

    def metrics() -> Response:
        body, content_type = render_metrics()
        return Response(body, content_type=content_type)

    app.add_url_rule("/metrics", endpoint="metrics", view_func=metrics)
