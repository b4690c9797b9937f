"""`sakip up`: the whole local stack in the foreground.

Starts (or reuses) Redis and the S3 server, migrates and seeds the database, then runs every
service and worker as child processes in their own process groups, waits until each is ready,
prints the URLs and demo logins, and on Ctrl-C/SIGTERM stops them all (children first, servers
last). If `sakip up` itself is killed, the kernel signals its children (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import IO

from sakip.localinfra import (
    WEB_PROCESS_ENV,
    InfraError,
    ManagedServer,
    RedisServer,
    SeaweedS3,
    die_with_parent,
    free_ports,
    port_open,
    wait_until,
)
from shared.config import Settings, load_settings


@dataclass
class Ports:
    intake: int = 8080
    workflow: int = 8081
    reporting: int = 8082
    s3: int = 8333


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    ready_url: str | None = None
    metrics_url: str | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)


class Stack:
    def __init__(self, state_dir: Path, ports: Ports, *, out: IO[str] = sys.stdout,
                 environ: Mapping[str, str] | None = None) -> None:
        """`environ` (default: this process's environment) is what the stack's settings and
        children start from; `sakip demo city` and the benchmarks pass their own."""
        self.environ = dict(os.environ if environ is None else environ)
        self.state_dir = state_dir.resolve()
        self.ports = ports
        self.out = out
        self.servers: list[ManagedServer] = []
        self.children: list[Child] = []
        self._log_dir = self.state_dir / "logs"

    # -- start ------------------------------------------------------------------------------
    def start(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._log_dir.mkdir(exist_ok=True)
        secrets_env = self._local_secrets()
        env = {**self.environ, **secrets_env, "SAKIP_STATE_DIR": str(self.state_dir),
               # The portal calls the workflow and reporting services this stack starts,
               # whatever else is configured.
               "WORKFLOW_URL": f"http://127.0.0.1:{self.ports.workflow}",
               "REPORTING_URL": f"http://127.0.0.1:{self.ports.reporting}"}
        env.setdefault("REDIS_URL", "")
        if not env["REDIS_URL"]:
            redis_server = RedisServer(self.state_dir / "redis")
            self._start_server(redis_server)
            env["REDIS_URL"] = redis_server.url
        if not self.environ.get("S3_ENDPOINT"):
            self._check_port_free(self.ports.s3, "--s3-port")
            s3 = SeaweedS3(self.state_dir / "s3", env["S3_ACCESS_KEY"], env["S3_SECRET_KEY"],
                           s3_port=self.ports.s3)
            self._start_server(s3)
            env["S3_ENDPOINT"] = s3.endpoint
        settings = load_settings(env)
        self._prepare(settings)
        for child in self._children(env):
            self._spawn(child)
        for child in self.children:
            if child.ready_url:
                wait_until(partial(self._ready, child), 60, f"{child.name} ({child.ready_url})")
        self._print_banner(settings)

    def _local_secrets(self) -> dict[str, str]:
        """Generated once per state dir, kept 0600, reused so logins and S3 data survive."""
        path = self.state_dir / "local-secrets.json"
        if not path.exists():
            path.write_text(json.dumps({
                "SECRET_KEY": secrets.token_urlsafe(32),
                "SERVICE_TOKEN_SECRET": secrets.token_urlsafe(32),
                "S3_ACCESS_KEY": "sakip-" + secrets.token_hex(6),
                "S3_SECRET_KEY": secrets.token_urlsafe(24),
            }))
            path.chmod(0o600)
        values: dict[str, str] = json.loads(path.read_text())
        # Configured values win over generated ones.
        return {k: self.environ.get(k) or v for k, v in values.items()}

    def _check_port_free(self, port: int, option: str) -> None:
        if port_open("127.0.0.1", port):
            raise InfraError(f"port {port} is already in use; choose another with {option}")

    def _start_server(self, server: ManagedServer) -> None:
        server.start()
        self.servers.append(server)

    def _prepare(self, settings: Settings) -> None:
        from sakip.demo import seed_demo_data
        from services.reporting.archive import Archive
        from shared.db import make_engine, make_session_factory, migrate, transaction
        from shared.storage import ObjectStore

        migrate.upgrade(settings.effective_database_url)
        store = ObjectStore.from_settings(settings)
        store.ensure_bucket()
        Archive.from_settings(settings).ensure_bucket()  # approved reports, object lock on
        engine = make_engine(settings.effective_database_url)
        try:
            with transaction(make_session_factory(engine)) as session:
                seed_demo_data(session, store)
        finally:
            engine.dispose()

    def _children(self, base_env: dict[str, str]) -> list[Child]:
        py = sys.executable
        bindir = Path(py).parent
        gunicorn = str(bindir / "gunicorn") if (bindir / "gunicorn").exists() else "gunicorn"
        celery = str(bindir / "celery") if (bindir / "celery").exists() else "celery"
        relay_port, consumer_port, scheduler_port, worker_port = free_ports(4)
        children = []
        for name, port in (("intake", self.ports.intake), ("workflow", self.ports.workflow),
                           ("reporting", self.ports.reporting)):
            self._check_port_free(port, f"--{name}-port")
            url = f"http://127.0.0.1:{port}"
            children.append(Child(
                name, [gunicorn, "-c", "python:shared.web.gunicorn_conf", "--bind",
                       f"127.0.0.1:{port}", f"services.{name}.wsgi:app"],
                self._env(base_env, name, **WEB_PROCESS_ENV), ready_url=f"{url}/readyz",
                metrics_url=f"{url}/metrics",
            ))
        for name, argv, port in (
            ("relay", [py, "-m", "shared.events.relay"], relay_port),
            ("workflow-consumer", [py, "-m", "services.workflow.consumer"], consumer_port),
            ("workflow-scheduler", [py, "-m", "services.workflow.scheduler"], scheduler_port),
            ("reporting-worker", [celery, "-A", "services.reporting.celery_app", "worker",
                                  "--concurrency", "2", "--loglevel", "INFO",
                                  "--hostname", "reporting@%h"], worker_port),
        ):
            env = self._env(base_env, name, METRICS_PORT=str(port))
            metrics = f"http://127.0.0.1:{port}/metrics"
            children.append(Child(name, argv, env, ready_url=metrics, metrics_url=metrics))
        return children

    def _env(self, base: dict[str, str], name: str, **extra: str) -> dict[str, str]:
        metrics_dir = self.state_dir / "metrics" / name
        shutil.rmtree(metrics_dir, ignore_errors=True)  # stale worker files would mislead
        metrics_dir.mkdir(parents=True)
        return {**base, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), **extra}

    def _spawn(self, child: Child) -> None:
        log = (self._log_dir / f"{child.name}.log").open("ab")
        child.process = subprocess.Popen(
            child.argv, env=child.env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=die_with_parent,
        )
        log.close()
        self.children.append(child)

    def _ready(self, child: Child) -> bool:
        assert child.process is not None
        assert child.ready_url is not None
        if child.process.poll() is not None:
            raise InfraError(f"{child.name} exited with {child.process.returncode}; "
                             f"see {self._log_dir / (child.name + '.log')}")
        try:
            with urllib.request.urlopen(child.ready_url, timeout=2) as response:  # noqa: S310
                return bool(response.status == 200)
        except OSError:
            return False

    def _print_banner(self, settings: Settings) -> None:
        from services.intake.seed import DEMO_PASSWORD, DEMO_TENANT_NAME, DEMO_USERS

        w = self.out.write
        w("\nSAKIP berjalan / the SAKIP stack is up\n\n")
        w(f"  Portal (intake):   http://127.0.0.1:{self.ports.intake}/\n")
        w(f"  Workflow API:      http://127.0.0.1:{self.ports.workflow}/\n")
        w(f"  Reporting API:     http://127.0.0.1:{self.ports.reporting}/\n")
        w(f"  S3 endpoint:       http://{settings.s3_endpoint}/ (bucket {settings.s3_bucket})\n")
        w(f"  Redis:             {settings.redis_url}\n")
        w(f"  Database:          {settings.effective_database_url}\n")
        w("  Metrics:\n")
        for child in self.children:
            w(f"    {child.name:<18} {child.metrics_url}\n")
        w(f"  Logs:              {self._log_dir}/\n")
        if settings.demo_clock_path is not None:
            w(f"  Demo clock:        {settings.demo_clock_path} "
              "(`sakip demo clock advance --days N` moves every process's time)\n")
        w("\n")
        w(f"  Demo tenant: {DEMO_TENANT_NAME}\n")
        w(f"  Demo logins (password {DEMO_PASSWORD}):\n")
        for u in DEMO_USERS:
            w(f"    {u.username:<18} {u.role.label}\n")
        w("\nCtrl-C menghentikan semuanya / Ctrl-C stops everything.\n")
        self.out.flush()

    # -- run and stop -----------------------------------------------------------------------
    def wait(self) -> int:
        """Block until a signal arrives or a child dies; returns the exit status to use."""
        stop = {"signal": 0}

        def _on_signal(signum: int, _frame: object) -> None:
            stop["signal"] = signum

        signal.signal(signal.SIGINT, _on_signal)
        signal.signal(signal.SIGTERM, _on_signal)
        while not stop["signal"]:
            for child in self.children:
                assert child.process is not None
                if child.process.poll() is not None:
                    self.out.write(f"{child.name} stopped unexpectedly "
                                   f"(exit {child.process.returncode}); stopping the stack\n")
                    return 1
            time.sleep(0.2)
        return 0

    def stop(self) -> None:
        for child in reversed(self.children):
            _signal_group(child.process, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for child in self.children:
            assert child.process is not None
            try:
                child.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(child.process, signal.SIGKILL)
                child.process.wait()
            # gunicorn/celery workers live in the child's group: make sure none lingers.
            _signal_group(child.process, signal.SIGKILL)
        for server in reversed(self.servers):
            server.stop(timeout=8)
        self.out.write("SAKIP dihentikan / stopped.\n")
        self.out.flush()


def _signal_group(process: subprocess.Popen[bytes] | None, sig: signal.Signals) -> None:
    if process is None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)
