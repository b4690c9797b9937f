"""Locust users of `bench.load` (run by it as `locust -f bench/locustfiles/load.py --headless
... <UserClass>`; never imported by the platform). The plan (presigned URLs, API tokens and item
ids, Redis URL, rates) comes as JSON from the file named by BENCH_PLAN.

- DirectPut: PUT of a fresh 200 KB object through a presigned URL, straight to the S3 server.
- BareUpload: the same multipart body POSTed to the bare Flask -> S3 -> PostgreSQL app
  (bench/bare_upload.py), the reference for the framework's own cost.
- PlatformUpload: the intake API's multipart upload of a new version (Bearer API token of one of
  many Bidang staff, a random item of that staff's package).
- StreamRoundTrip: XADD at a fixed total rate; one reader greenlet (XREADGROUP, like the workflow
  consumer) reports each entry's XADD -> XREADGROUP time as a request.
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import time
import uuid
from pathlib import Path
from typing import Any, cast

import gevent
import redis
from locust import User, constant_throughput, events, task
from locust.contrib.fasthttp import FastHttpUser
from locust.env import Environment

PLAN: dict[str, Any] = (json.loads(Path(os.environ["BENCH_PLAN"]).read_text())
                        if "BENCH_PLAN" in os.environ else {})
HEADER = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
FIELDS = {"title": "Laporan Kinerja", "year": "2026"}  # fields first, the file last
STAMP_LENGTH = 32  # a uuid4 hex: every body is distinct, as real documents are


def _body_maker() -> Any:
    size = int(PLAN.get("size", 200 * 1024))
    rest = os.urandom(size - len(HEADER) - STAMP_LENGTH)  # incompressible, like scans
    return lambda: HEADER + uuid.uuid4().hex.encode() + rest


make_body = _body_maker() if PLAN else None
_pick = secrets.SystemRandom().choice
_urls = itertools.cycle(PLAN.get("presigned", []))


class DirectPut(FastHttpUser):
    """The reference: the same bytes straight to the S3 server."""

    @task
    def put(self) -> None:
        assert make_body is not None
        self.client.request("PUT", next(_urls), data=make_body(), name="direct presigned PUT",
                            headers={"Content-Type": "application/pdf"})


def multipart() -> tuple[bytes, str]:
    """A fresh document as a multipart/form-data body (fields first, the file last) and its
    Content-Type."""
    assert make_body is not None
    boundary = uuid.uuid4().hex
    head = "".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n'
                   f"{v}\r\n" for k, v in FIELDS.items())
    head += (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
             f'filename="dokumen.pdf"\r\nContent-Type: application/pdf\r\n\r\n')
    body = head.encode() + make_body() + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def post_upload(user: FastHttpUser, path: str, name: str, headers: dict[str, str]) -> None:
    body, content_type = multipart()
    # FastHttpSession sends bytes as they are (its annotation names str and dict only).
    with user.client.request("POST", path, data=cast(Any, body), name=name, catch_response=True,
                             headers={**headers, "Content-Type": content_type}) as r:
        if r.status_code != 201:
            r.failure(f"{r.status_code} {(r.text or '')[:200]}")


class BareUpload(FastHttpUser):
    """The reference for the web tier: no auth, checks, audit, outbox, ORM or events."""

    @task
    def upload(self) -> None:
        post_upload(self, "/upload", "bare upload", {})


class PlatformUpload(FastHttpUser):
    @task
    def upload(self) -> None:
        token, items = _pick(PLAN["staff"])
        post_upload(self, f"/api/v1/items/{_pick(items)}/versions", "platform upload",
                    {"Authorization": f"Bearer {token}"})


class StreamRoundTrip(User):
    """Each user XADDs at rate/users per second; the reader greenlet measures the round trip."""

    wait_time = constant_throughput(float(PLAN.get("per_user_rate", 1.0)))

    def on_start(self) -> None:
        self.redis = redis.Redis.from_url(PLAN["redis_url"])

    @task
    def add(self) -> None:
        self.redis.xadd(PLAN["stream"], {"t": repr(time.time())})


def _read_stream(environment: Environment) -> None:
    client = redis.Redis.from_url(PLAN["redis_url"])
    stream, group = PLAN["stream"], "bench"
    client.xgroup_create(stream, group, id="$", mkstream=True)
    while True:
        answer: Any = client.xreadgroup(group, "reader", {stream: ">"}, count=100, block=1000)
        for _name, entries in answer or []:
            got = time.time()
            for _entry_id, fields in entries:
                environment.events.request.fire(
                    request_type="redis", name="XADD -> XREADGROUP",
                    response_time=(got - float(fields[b"t"])) * 1000, response_length=0,
                    exception=None, context={})
            client.xack(stream, group, *(entry_id for entry_id, _ in entries))


@events.test_start.add_listener
def _start_reader(environment: Environment, **_kwargs: Any) -> None:
    if PLAN.get("stream") and any(u is StreamRoundTrip for u in environment.user_classes):
        gevent.spawn(_read_stream, environment)
