"""Prometheus metrics for every process: a `/metrics` view for Flask services and a small HTTP
server for non-HTTP processes (relay, consumer, Celery worker).

Under gunicorn, PROMETHEUS_MULTIPROC_DIR (one fresh directory per service, set by whoever starts
it) makes every worker write its samples there; the view then aggregates them, and
`mark_process_dead` (gunicorn's child_exit hook) cleans up after a dead worker.
"""

from __future__ import annotations

import os
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
    """The registry to expose: the aggregate of every worker's files in multiprocess mode."""
    if _multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


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
