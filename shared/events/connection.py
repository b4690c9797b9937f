"""The Redis client the event bus uses: bounded timeouts and few retries of its own, because the
relay and consumer loops do their own backoff while Redis is away."""

from __future__ import annotations

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry


def make_redis_client(
    url: str,
    *,
    socket_timeout: float = 5.0,
    connect_timeout: float = 2.0,
    retries: int = 1,
) -> redis.Redis:
    """A client for `url`; a consumer's `block_ms` must stay below `socket_timeout`."""
    return redis.Redis.from_url(
        url,
        socket_timeout=socket_timeout,
        socket_connect_timeout=connect_timeout,
        retry=Retry(ExponentialBackoff(cap=0.2, base=0.02), retries),
        health_check_interval=30,
    )
