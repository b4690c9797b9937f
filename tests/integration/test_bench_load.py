"""A smoke run of the load benchmark with tiny numbers: every figure is produced (no timing
assertions: performance is bench/'s business, not the tests')."""

from __future__ import annotations

import math

import pytest

from bench import load

pytestmark = pytest.mark.slow


def test_a_tiny_load_run_produces_every_figure() -> None:
    args = load.parse_args(["--users", "2", "--seconds", "3", "--reports", "1",
                            "--workers", "1", "--threads", "4"])

    results = load.measure(args)

    for figures in (results.direct, results.bare, results.upload, results.stream,
                    results.loaded_upload):
        assert figures.requests > 0
        assert figures.rate > 0
        assert not any(math.isnan(v) for v in (figures.p50, figures.p95, figures.p99))
    assert results.direct.failures == 0
    assert results.bare.failures == 0
    assert results.upload.failures == 0
    assert results.events
    assert results.reports == 1
    assert results.alone_s > 0
    assert results.loaded_s > 0
    text = load.table(results, args)
    assert "nan" not in text
    for label in ("direct presigned PUT", "bare upload", "platform upload", "outbox created_at",
                  "XADD -> XREADGROUP", "CPU ms per request", "reports: 1 cycle reports"):
        assert label in text
