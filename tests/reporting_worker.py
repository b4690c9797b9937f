"""A real reporting Celery worker in a subprocess of the test (prefork pool, the test session's
Redis as broker, its PostgreSQL and S3), ready once its metrics port opens (worker_ready).

The worker runs in a process group of its own, so a test can kill it whole (SIGKILL: no
acknowledgement, no cleanup) the way a crashed machine would.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from sakip.localinfra import free_ports, port_open, wait_until
from shared.config import Settings, as_environ

LEASE_SECONDS = 3  # short, so a killed build is reaped within seconds in the tests


@dataclass
class WorkerProcess:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    metrics_url: str

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool children) at once."""
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)  # warm shutdown
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextmanager
def running_worker(settings: Settings, log_dir: Path, *, name: str = "worker",
                   lease_seconds: int = LEASE_SECONDS,
                   concurrency: int = 1) -> Iterator[WorkerProcess]:
    (metrics_port,) = free_ports(1)
    metrics_dir = log_dir / f"metrics-{name}"  # the pool's processes write their samples here
    metrics_dir.mkdir(exist_ok=True)
    env = {**os.environ,
           **as_environ(dataclasses.replace(settings, report_lease_seconds=lease_seconds)),
           "METRICS_PORT": str(metrics_port), "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "services.reporting.celery_app", "worker",
             "--pool", "prefork", "--concurrency", str(concurrency), "--hostname",
             f"{name}@%h", "--without-gossip", "--without-mingle", "--loglevel", "INFO"],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    worker = WorkerProcess(name=name, process=process, log_path=log_path,
                           metrics_url=f"http://127.0.0.1:{metrics_port}/metrics")
    try:
        wait_until(lambda: port_open("127.0.0.1", metrics_port) or process.poll() is not None,
                   timeout=60, what=f"reporting worker {name}")
        if process.poll() is not None:
            raise RuntimeError(f"worker {name} exited at start:\n{worker.log()}")
        yield worker
    finally:
        worker.stop()
