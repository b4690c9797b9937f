"""The newcomer's default: `sakip up` on the embedded SQLite file, its own Redis and SeaweedFS.

Real HTTP requests to every service, a task taken off the broker by the real Celery worker, then
Ctrl-C, after which no process of the stack may remain and every port is closed again.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from celery import Celery
from sqlalchemy import create_engine, select

from sakip.localinfra import free_ports, port_open
from services.intake.seed import DEMO_TENANT_NAME
from shared.identity.models import Tenant

BANNER_END = "Ctrl-C stops everything"


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback only
        return response.status, response.read().decode()


def _stack_pids(state_dir: Path) -> list[int]:
    """Processes whose command line or environment names this stack's state dir."""
    needle = str(state_dir).encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            names = (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in names:
            pids.append(int(entry.name))
    return pids


@pytest.fixture
def stack(tmp_path: Path):
    state_dir = tmp_path / "state"
    intake, workflow, reporting, s3 = free_ports(4)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DATABASE_URL", "REDIS_URL", "S3_", "SAKIP_", "PROMETHEUS_"))}
    env.update(SAKIP_STATE_DIR=str(state_dir), LOG_JSON="false")
    process = subprocess.Popen(
        [sys.executable, "-m", "sakip.cli", "up", "--intake-port", str(intake),
         "--workflow-port", str(workflow), "--reporting-port", str(reporting),
         "--s3-port", str(s3)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout or []],
                     daemon=True).start()
    output: list[str] = []
    deadline = time.monotonic() + 120
    while not any(BANNER_END in line for line in output):
        if process.poll() is not None or time.monotonic() > deadline:
            log_dir = state_dir / "logs"
            logs = {p.name: p.read_text()[-2000:] for p in log_dir.glob("*.log")}
            pytest.fail(f"sakip up did not come up:\n{''.join(output)}\n{logs}")
        with contextlib.suppress(queue.Empty):
            output.append(lines.get(timeout=1))
    yield {"process": process, "banner": "".join(output), "state_dir": state_dir,
           "ports": {"intake": intake, "workflow": workflow, "reporting": reporting, "s3": s3}}
    if process.poll() is None:  # the test failed before its Ctrl-C: stop the stack cleanly
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stdout:
        process.stdout.close()


def test_sakip_up_serves_every_service_and_stops_clean(stack):
    banner, ports, state_dir = stack["banner"], stack["ports"], stack["state_dir"]
    for name in ("intake", "workflow", "reporting"):
        status, body = _get(f"http://127.0.0.1:{ports[name]}/readyz")
        assert status == 200, (name, body)
        status, body = _get(f"http://127.0.0.1:{ports[name]}/metrics")
        assert status == 200
        assert "sakip_http_requests_total" in body, name
    for url in re.findall(r"(http://127\.0\.0\.1:\d+/metrics)", banner):
        assert _get(url)[0] == 200, url

    # gunicorn runs several workers: /metrics must add up what every one of them counted.
    for _ in range(20):
        _get(f"http://127.0.0.1:{ports['intake']}/healthz")
    _, body = _get(f"http://127.0.0.1:{ports['intake']}/metrics")
    counted = sum(float(line.rsplit(" ", 1)[1]) for line in body.splitlines()
                  if line.startswith("sakip_http_requests_total{") and '"/healthz"' in line)
    assert counted == 20

    # The demo tenant was seeded into the SQLite file of the state dir.
    engine = create_engine(f"sqlite:///{state_dir / 'sakip.db'}")
    with engine.connect() as conn:
        assert conn.scalar(select(Tenant.name)) == DEMO_TENANT_NAME
    engine.dispose()
    assert "kepala.dinas" in banner

    # The real Celery worker takes a task off the stack's own Redis and answers a ping.
    redis_url = re.search(r"Redis:\s+(\S+)", banner)
    assert redis_url
    app = Celery(broker=redis_url.group(1))
    replies = app.control.ping(timeout=5)
    app.close()
    assert replies, "no reporting worker answered"

    process = stack["process"]
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0
    time.sleep(0.5)
    assert _stack_pids(state_dir) == []
    assert not any(port_open("127.0.0.1", p) for p in ports.values())
