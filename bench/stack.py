"""A throw-away stack for benchmarks: own Redis and SeaweedFS, a fresh PostgreSQL database on
TEST_DATABASE_URL's server (dropped afterwards), and gunicorn-served services."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, make_url, text
from sqlalchemy.orm import Session, sessionmaker

from sakip.localinfra import (
    WEB_PROCESS_ENV,
    RedisServer,
    SeaweedS3,
    die_with_parent,
    free_ports,
    wait_until,
)
from shared.config import Settings, load_settings
from shared.db import make_engine, make_session_factory, migrate

DEFAULT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@dataclass
class BenchStack:
    workdir: Path
    env: dict[str, str]
    settings: Settings
    engine: Engine | None = None  # one per stack, disposed with it

    def session_factory(self) -> sessionmaker[Session]:
        if self.engine is None:
            self.engine = make_engine(self.settings.effective_database_url)
        return make_session_factory(self.engine)

    @contextmanager
    def gunicorn(self, service: str, *, workers: int = 1, threads: int = 4,
                 app: str | None = None,
                 **extra_env: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
        """A service (`services.<service>.wsgi:app`, or the WSGI target `app`) under gunicorn
        with the services' settings, ready once its /readyz answers."""
        port = free_ports(1)[0]
        metrics = self.workdir / f"metrics-{service}-{port}"
        metrics.mkdir()
        env = {**self.env, **WEB_PROCESS_ENV, "PROMETHEUS_MULTIPROC_DIR": str(metrics),
               "GUNICORN_WORKERS": str(workers), "GUNICORN_THREADS": str(threads), **extra_env}
        bindir = Path(sys.executable).parent
        with (self.workdir / f"{service}.log").open("ab") as log:
            process = subprocess.Popen(
                [str(bindir / "gunicorn"), "-c", "python:shared.web.gunicorn_conf", "--bind",
                 f"127.0.0.1:{port}", app or f"services.{service}.wsgi:app"],
                env=env, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True,
                preexec_fn=die_with_parent)
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: _ok(f"{url}/readyz"), 60, f"{service} gunicorn")
        try:
            yield url, process
        finally:
            process.terminate()
            process.wait(30)


    @contextmanager
    def process(self, name: str, argv: list[str]) -> Iterator[subprocess.Popen[bytes]]:
        """A platform process (`[sys.executable, "-m", "shared.events.relay"]`, ...) on this
        stack, ready once its /metrics port opens; stopped with SIGTERM afterwards."""
        port = free_ports(1)[0]
        metrics = self.workdir / f"metrics-{name}"
        metrics.mkdir()
        env = {**self.env, "PROMETHEUS_MULTIPROC_DIR": str(metrics), "METRICS_PORT": str(port)}
        with (self.workdir / f"{name}.log").open("ab") as log:
            process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=log,
                                       start_new_session=True, preexec_fn=die_with_parent)
        wait_until(lambda: process.poll() is not None or _ok(f"http://127.0.0.1:{port}/metrics"),
                   60, name)
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}; see {name}.log")
        try:
            yield process
        finally:
            process.terminate()
            process.wait(30)


def _ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
            return bool(response.status == 200)
    except OSError:
        return False


@contextmanager
def bench_stack(**settings_env: str) -> Iterator[BenchStack]:
    workdir = Path(tempfile.mkdtemp(prefix="sakip-bench-"))
    redis_server = RedisServer(workdir / "redis")
    s3 = SeaweedS3(workdir / "s3", "bench", "bench-secret-key")
    base = make_url(os.environ.get("TEST_DATABASE_URL", DEFAULT_DATABASE))
    name = f"sakip_bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(base.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    redis_server.start()
    s3.start()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        migrate.upgrade(url)
        env = {**os.environ, "SAKIP_ENV": "test", "DATABASE_URL": url,
               "REDIS_URL": redis_server.url, "S3_ENDPOINT": s3.endpoint,
               "S3_ACCESS_KEY": "bench", "S3_SECRET_KEY": "bench-secret-key",
               "S3_BUCKET": "bench", "LOG_LEVEL": "WARNING", "SAKIP_STATE_DIR": str(workdir),
               **settings_env}
        settings = load_settings(env)
        from shared.storage import ObjectStore

        ObjectStore.from_settings(settings).ensure_bucket()
        stack = BenchStack(workdir=workdir, env=env, settings=settings)
        try:
            yield stack
        finally:
            if stack.engine is not None:
                stack.engine.dispose()
    finally:
        s3.stop(timeout=5)
        redis_server.stop()
        time.sleep(0.2)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        shutil.rmtree(workdir, ignore_errors=True)
