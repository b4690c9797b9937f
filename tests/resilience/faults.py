"""Small tools the fault tests share: a request body that pulls a plug half-way through, a
trigger that cuts the database connection of the transaction inserting a row, the whole local
stack (`sakip up`) run and stopped, and waiting."""

from __future__ import annotations

import contextlib
import io
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from sakip.localinfra import free_ports
from shared.config import Settings, load_settings
from tests.integration.test_sakip_up import BANNER_END


class PlugPullingStream(io.BytesIO):
    """A request body that calls `pull()` once `after` bytes have been read from it: the fault
    strikes while the server is still streaming the upload, not before or after."""

    def __init__(self, data: bytes, *, after: int, pull: Callable[[], None]) -> None:
        super().__init__(data)
        self._after = after
        self._pull: Callable[[], None] | None = pull

    def _maybe_pull(self) -> None:
        if self._pull is not None and self.tell() >= self._after:
            pull, self._pull = self._pull, None
            pull()

    def read(self, size: int | None = -1) -> bytes:
        self._maybe_pull()
        return super().read(size)

    def read1(self, size: int | None = -1) -> bytes:
        self._maybe_pull()
        return super().read1(size)

    def readinto(self, buffer: Any) -> int:
        self._maybe_pull()
        return super().readinto(buffer)

    def readline(self, size: int | None = -1) -> bytes:
        self._maybe_pull()
        return super().readline(size)


@contextmanager
def connection_cut_on_insert(engine: Engine, table: str) -> Iterator[None]:
    """While inside, the backend inserting into `table` terminates itself (what a network cut or
    a restarted server does to a request's connection): the client sees the connection die in
    the middle of its transaction, not a polite SQL error."""
    with engine.begin() as conn:
        conn.execute(text("CREATE FUNCTION cut_own_connection() RETURNS trigger AS $$ BEGIN "
                          "PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NEW; END $$ "
                          "LANGUAGE plpgsql"))
        conn.execute(text(f"CREATE TRIGGER cut_connection BEFORE INSERT ON {table} "
                          "FOR EACH ROW EXECUTE FUNCTION cut_own_connection()"))
    try:
        yield
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DROP TRIGGER cut_connection ON {table}"))
            conn.execute(text("DROP FUNCTION cut_own_connection()"))


def wait_for(check: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.05)


@dataclass
class RunningStack:
    """One `sakip up` on a state dir, and settings that reach its database, Redis and S3."""

    process: subprocess.Popen[str]
    banner: str
    settings: Settings


@contextmanager
def local_stack(state_dir: Path, *, scheduler_interval: int = 1) -> Iterator[RunningStack]:
    """Run `sakip up` on `state_dir` until its banner, yield it, then stop it with Ctrl-C (as a
    person would) and wait for it to exit."""
    intake, workflow, reporting, s3 = free_ports(4)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DATABASE_URL", "REDIS_URL", "S3_", "SAKIP_", "PROMETHEUS_"))}
    env.update(SAKIP_STATE_DIR=str(state_dir), LOG_JSON="false",
               SCHEDULER_INTERVAL_SECONDS=str(scheduler_interval))
    process = subprocess.Popen(
        [sys.executable, "-m", "sakip.cli", "up", "--intake-port", str(intake),
         "--workflow-port", str(workflow), "--reporting-port", str(reporting),
         "--s3-port", str(s3)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        banner = _read_banner(process, state_dir)
        redis_url = re.search(r"Redis:\s+(\S+)", banner)
        assert redis_url, banner
        secrets = json.loads((state_dir / "local-secrets.json").read_text())
        settings = load_settings({**secrets, "SAKIP_STATE_DIR": str(state_dir),
                                  "S3_ENDPOINT": f"127.0.0.1:{s3}",
                                  "REDIS_URL": redis_url.group(1), "LOG_JSON": "false"})
        yield RunningStack(process=process, banner=banner, settings=settings)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout:
            process.stdout.close()


def _read_banner(process: subprocess.Popen[str], state_dir: Path) -> str:
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in process.stdout or []:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    output: list[str] = []
    deadline = time.monotonic() + 120
    while not any(BANNER_END in line for line in output):
        if process.poll() is not None or time.monotonic() > deadline:
            logs = {p.name: p.read_text()[-2000:] for p in (state_dir / "logs").glob("*.log")}
            raise AssertionError(f"sakip up did not come up:\n{''.join(output)}\n{logs}")
        with contextlib.suppress(queue.Empty):
            output.append(lines.get(timeout=1))
    return "".join(output)
