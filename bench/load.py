"""The load benchmark (issue 9): small uploads, event latency and report throughput on a local
stack, each figure beside a reference measured in the same run with the same load tool (locust).

    .venv/bin/python -m bench.load [--users 16] [--seconds 30] [--size-kb 200] [--reports 4]
                                   [--workers 2] [--threads 8] [--write]

The stack (bench/stack.py): own Redis and SeaweedFS, a fresh PostgreSQL database, intake under
gunicorn (gthread), the outbox relay, the workflow consumer and one Celery reporting worker.
Phases, in this order:
1. direct presigned PUTs of SIZE objects to SeaweedFS (URLs prepared beforehand), USERS users;
2. the same multipart body POSTed to a bare Flask -> S3 -> PostgreSQL app (bench/bare_upload.py)
   under gunicorn with intake's workers and threads, USERS users: the framework's own cost;
3. the intake API's multipart upload of a new version, USERS users, Bearer API tokens of 48
   Bidang staff of one dinas, each request a random item of that staff's package (distinct bytes
   every time, so every request stores a new version and commits a document event);
4. for the events of (3): outbox created_at -> the workflow consumer's inbox processed_at;
   reference: XADD -> XREADGROUP round trips on the same Redis at the rate (3) reached;
5. REPORTS cycle reports (distinct collected cycles seeded like bench/reports.py) requested at
   once and built by the worker, alone, then again while (3) runs a second time.
A table of figures and ratios is printed; `--write` puts it into bench/README.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from minio import Minio
from sqlalchemy import func, make_url, select
from sqlalchemy.orm import Session, sessionmaker

from bench import cpu
from bench import reports as report_bench
from bench.stack import BenchStack, bench_stack
from sakip.seeding import SEED_TEMPLATE, seed_collecting_cycle
from services.intake.accounts import create_bidang, create_tenant, create_user
from services.intake.packages import ensure_package, items_of
from services.workflow.consumer import GROUP as WORKFLOW_GROUP
from services.workflow.cycles import publish_template
from shared.clock import now
from shared.config import Settings
from shared.db import transaction
from shared.documents.events import DOCUMENT_REPLACED, DOCUMENT_UPLOADED
from shared.events.models import InboxEntry, OutboxEvent
from shared.identity.api_tokens import create_api_token
from shared.identity.loading import principal_for
from shared.identity.principal import Principal
from shared.identity.roles import Role
from shared.sop.template import load_shipped_template
from shared.storage import ObjectStore

BARE_APP = "bench.bare_upload:create_app()"
LOCUSTFILE = Path(__file__).with_name("locustfiles") / "load.py"
README = Path(__file__).with_name("README.md")
BEGIN, END = "<!-- bench.load results: begin -->", "<!-- bench.load results: end -->"
UPLOADER_BIDANG = 48
PASSWORD = "kata-sandi-bench-panjang"
TARGET_RATIO, TARGET_UPLOAD_P99, TARGET_EVENT_P99 = 0.40, 500.0, 250.0


@dataclass
class LocustFigures:
    requests: int
    failures: int
    rate: float
    p50: float
    p95: float
    p99: float


# -- seeding ------------------------------------------------------------------------------------

def seed_uploaders(factory: sessionmaker[Session], store: ObjectStore,
                   bidang_count: int) -> list[tuple[str, list[str]]]:
    """One collecting dinas; per Bidang a staff's API token and the items of its package (every
    document type of the shipped SOP)."""
    with transaction(factory) as session:
        tenant = create_tenant(session, slug="unggah", name="Dinas Unggah Bench")
        kepala, tim = (principal_for(create_user(
            session, username=f"unggah.{role.value}", full_name=f"Unggah {role.label}",
            password=PASSWORD, roles=[(role, tenant.id)], tenant_id=tenant.id))
            for role in (Role.KEPALA_DINAS, Role.TIM_EVALUASI))
        template = publish_template(session, load_shipped_template(*SEED_TEMPLATE))
        codes = [t["code"] for t in template.definition["document_types"]]
        staff = []
        for n in range(bidang_count):
            bidang = create_bidang(session, tenant=tenant, name=f"Bidang Unggah {n + 1:02d}")
            user = create_user(session, username=f"unggah.staf{n}", full_name=f"Staf {n}",
                               password=PASSWORD, roles=[(Role.BIDANG_STAFF, tenant.id)],
                               tenant_id=tenant.id, bidang_id=bidang.id)
            staff.append((bidang.id, user))
        cycle = seed_collecting_cycle(session, store, tenant_id=tenant.id, year=2026, at=now(),
                                      owed={b: codes for b, _ in staff}, kepala=kepala, tim=tim,
                                      template=template)
        plan = []
        for bidang_id, user in staff:
            package = ensure_package(session, cycle=cycle, bidang_id=bidang_id)
            _row, token = create_api_token(session, user=user, name="bench")
            plan.append((token, [str(item.id) for item in items_of(session, package)]))
    return plan


def presigned_urls(settings: Settings, count: int) -> list[str]:
    client = Minio(settings.s3_endpoint, access_key=settings.s3_access_key,
                   secret_key=settings.s3_secret_key, secure=False)
    return [client.presigned_put_object(settings.s3_bucket, f"direct/{uuid.uuid4().hex}",
                                        expires=timedelta(hours=2)) for _ in range(count)]


# -- locust -------------------------------------------------------------------------------------

def start_locust(workdir: Path, user_class: str, *, host: str, users: int, seconds: int,
                 plan: dict[str, object]) -> tuple[subprocess.Popen[bytes], Path]:
    run = workdir / f"locust-{user_class}-{uuid.uuid4().hex[:6]}"
    run.mkdir()
    (run / "plan.json").write_text(json.dumps(plan))
    argv = [str(Path(sys.executable).parent / "locust"), "-f", str(LOCUSTFILE), "--headless",
            "-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--stop-timeout", "10",
            "--host", host, "--csv", str(run / "out"), "--only-summary",
            "--loglevel", "WARNING", user_class]
    with (run / "locust.log").open("wb") as log:
        process = subprocess.Popen(argv, env={**os.environ, "BENCH_PLAN": str(run / "plan.json")},
                                   stdout=log, stderr=subprocess.STDOUT)
    return process, run


def finish_locust(process: subprocess.Popen[bytes], run: Path, name: str) -> LocustFigures:
    process.wait()
    with (run / "out_stats.csv").open() as f:
        row = next((r for r in csv.DictReader(f) if r["Name"] == name), None)
    if row is None or int(row["Request Count"]) == 0:
        raise RuntimeError(f"locust measured no '{name}'; see {run / 'locust.log'}:\n"
                           + (run / "locust.log").read_text()[-3000:])
    if int(row["Failure Count"]):
        with (run / "out_failures.csv").open() as f:
            for failure in list(csv.DictReader(f))[:3]:
                print(f"  {name} failed {failure['Occurrences']}x: {failure['Error']}",
                      flush=True)
    return LocustFigures(requests=int(row["Request Count"]), failures=int(row["Failure Count"]),
                         rate=float(row["Requests/s"]), p50=float(row["50%"]),
                         p95=float(row["95%"]), p99=float(row["99%"]))


def run_locust(stack: BenchStack, user_class: str, name: str,
               **kwargs: Any) -> tuple[LocustFigures, dict[str, float]]:
    """The figures of one locust run, and the CPU seconds each kind of process spent in it."""
    database = make_url(stack.settings.effective_database_url).database or ""
    before = cpu.snapshot(database)
    figures = finish_locust(*start_locust(stack.workdir, user_class, **kwargs), name)
    return figures, cpu.spent(before, cpu.snapshot(database))


# -- events -------------------------------------------------------------------------------------

def event_latencies(factory: sessionmaker[Session], since: datetime,
                    timeout: float = 120) -> list[float]:
    """Milliseconds from each document event's outbox row (written in the upload's transaction)
    to the workflow consumer's inbox row, once every such event has been applied."""
    types = (DOCUMENT_UPLOADED, DOCUMENT_REPLACED)
    outbox = select(func.count()).select_from(OutboxEvent).where(
        OutboxEvent.type.in_(types), OutboxEvent.created_at >= since)
    joined = (select(OutboxEvent.created_at, InboxEntry.processed_at)
              .join(InboxEntry, InboxEntry.event_id == OutboxEvent.event_id)
              .where(InboxEntry.consumer == WORKFLOW_GROUP, OutboxEvent.type.in_(types),
                     OutboxEvent.created_at >= since))
    deadline = time.monotonic() + timeout
    while True:
        with factory() as session:
            expected = session.scalar(outbox) or 0
            rows = session.execute(joined).all()
        if len(rows) >= expected or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    if len(rows) < expected:
        raise RuntimeError(f"only {len(rows)} of {expected} document events applied in time")
    return [(done - made).total_seconds() * 1000 for made, done in rows]


def percentile(values: Sequence[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else math.nan
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


# -- reports ------------------------------------------------------------------------------------

def build_reports(stack: BenchStack, factory: sessionmaker[Session], store: ObjectStore,
                  cycles: Sequence[tuple[uuid.UUID, Principal]]) -> float:
    """Seconds from requesting every report at once to the last one READY."""
    elapsed, _ = report_bench._timed(stack, factory, store, list(cycles))
    return elapsed


@contextmanager
def platform_processes(stack: BenchStack) -> Iterator[None]:
    with stack.process("relay", [sys.executable, "-m", "shared.events.relay"]), \
            stack.process("workflow-consumer", [sys.executable, "-m",
                                                "services.workflow.consumer"]), \
            report_bench.workers(stack, 1):
        yield


# -- the run ------------------------------------------------------------------------------------

@dataclass
class Results:
    direct: LocustFigures
    bare: LocustFigures
    upload: LocustFigures
    events: list[float]
    stream: LocustFigures
    reports: int
    alone_s: float
    loaded_s: float
    loaded_upload: LocustFigures
    overlap: bool
    direct_cpu: dict[str, float]
    bare_cpu: dict[str, float]
    upload_cpu: dict[str, float]


def measure(args: argparse.Namespace) -> Results:
    size = args.size_kb * 1024
    with bench_stack(LOG_LEVEL="WARNING", MAX_UPLOAD_BYTES=str(size * 4)) as stack:
        store = ObjectStore.from_settings(stack.settings)
        factory = stack.session_factory()
        t0 = time.perf_counter()
        cycles = report_bench.seed(stack, store, args.reports)
        staff = seed_uploaders(factory, store, UPLOADER_BIDANG)
        print(f"seeded in {time.perf_counter() - t0:.0f} s", flush=True)
        common = {"users": args.users, "seconds": args.seconds}
        put_plan = {"size": size, "presigned": presigned_urls(
            stack.settings, max(200, 1200 * args.seconds))}
        upload_plan = {"size": size, "staff": staff}
        web = {"workers": args.workers, "threads": args.threads}
        with stack.gunicorn("intake", **web) as (url, _), platform_processes(stack):
            build_reports(stack, factory, store, cycles[:1])  # warm-up of the worker
            print("1. direct presigned PUTs ...", flush=True)
            direct, direct_cpu = run_locust(
                stack, "DirectPut", "direct presigned PUT",
                host=f"http://{stack.settings.s3_endpoint}", plan=put_plan, **common)
            print("2. bare Flask -> S3 -> PostgreSQL uploads ...", flush=True)
            with stack.gunicorn("bare-upload", app=BARE_APP, **web) as (bare_url, _):
                bare, bare_cpu = run_locust(stack, "BareUpload", "bare upload", host=bare_url,
                                            plan={"size": size}, **common)
            print("3. platform uploads ...", flush=True)
            since = now()
            upload, upload_cpu = run_locust(stack, "PlatformUpload", "platform upload",
                                            host=url, plan=upload_plan, **common)
            print("4. event latency, then the Redis round trip reference ...", flush=True)
            events = event_latencies(factory, since)
            stream, _ = run_locust(stack, "StreamRoundTrip", "XADD -> XREADGROUP", host=url,
                                   plan={"redis_url": stack.settings.redis_url,
                                         "stream": f"bench-{uuid.uuid4().hex[:6]}",
                                         "per_user_rate": upload.rate / args.users},
                                   **common)
            print("5. reports alone, then while uploads run ...", flush=True)
            alone = build_reports(stack, factory, store, cycles)
            process, run = start_locust(stack.workdir, "PlatformUpload", host=url,
                                        plan=upload_plan, **common)
            time.sleep(min(3.0, args.seconds / 4))  # let the uploads ramp up
            loaded = build_reports(stack, factory, store, cycles)
            overlap = process.poll() is None
            loaded_upload = finish_locust(process, run, "platform upload")
    return Results(direct, bare, upload, events, stream, len(cycles), alone, loaded,
                   loaded_upload, overlap, direct_cpu, bare_cpu, upload_cpu)


# -- output -------------------------------------------------------------------------------------

def _ms(value: float) -> str:
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def _row(label: str, f: LocustFigures) -> str:
    return (f"| {label} | {f.rate:.1f} | {_ms(f.p50)} | {_ms(f.p95)} | {_ms(f.p99)} | "
            f"{f.requests} ({f.failures}) |")


def table(r: Results, args: argparse.Namespace) -> str:
    ratio, bare_ratio = r.upload.rate / r.direct.rate, r.bare.rate / r.direct.rate
    e50, e99 = percentile(r.events, 50), percentile(r.events, 99)
    per_min_alone, per_min_loaded = r.reports * 60 / r.alone_s, r.reports * 60 / r.loaded_s
    ok = {True: "met", False: "NOT met"}
    lines = [
        "| measure | req/s | p50 ms | p95 ms | p99 ms | n (failed) |",
        "|---|---:|---:|---:|---:|---:|",
        _row(f"1. direct presigned PUT to SeaweedFS ({args.size_kb} KB)", r.direct),
        _row(f"2. bare upload, Flask -> S3 -> PostgreSQL multipart ({args.size_kb} KB)", r.bare),
        _row(f"3. platform upload, intake API multipart ({args.size_kb} KB)", r.upload),
        f"| 4. event: outbox created_at -> workflow inbox processed_at | "
        f"{len(r.events) / args.seconds:.1f} | {_ms(e50)} | {_ms(percentile(r.events, 95))} | "
        f"{_ms(e99)} | {len(r.events)} (0) |",
        _row("4. reference: Redis XADD -> XREADGROUP at that rate", r.stream),
        _row("5. platform upload while the reports build", r.loaded_upload),
        "",
        f"- upload rate / direct-put rate: **{ratio:.0%}** (target >= 40 %: "
        f"{ok[ratio >= TARGET_RATIO]}); upload p99 {_ms(r.upload.p99)} ms (target < 500 ms: "
        f"{ok[r.upload.p99 < TARGET_UPLOAD_P99]})",
        f"- bare upload rate / direct-put rate: **{bare_ratio:.0%}** (issue 9 quotes about 74 %); "
        f"platform upload rate / bare upload rate: **{r.upload.rate / r.bare.rate:.0%}**",
        f"- event latency p50 {_ms(e50)} ms, p99 **{_ms(e99)} ms** (target p99 < 250 ms: "
        f"{ok[e99 < TARGET_EVENT_P99]}); the raw Redis round trip p50 {_ms(r.stream.p50)} ms, "
        f"p99 {_ms(r.stream.p99)} ms",
        f"- reports: {r.reports} cycle reports, 1 Celery worker (prefork, concurrency 1): alone "
        f"{r.alone_s:.1f} s ({per_min_alone:.1f}/min), during uploads {r.loaded_s:.1f} s "
        f"({per_min_loaded:.1f}/min): ratio **{per_min_loaded / per_min_alone:.0%}**"
        + ("" if r.overlap else " (the batch outlasted the uploads: use more --seconds)"),
    ]
    return "\n".join(lines) + "\n\n" + cpu_table(r)


def cpu_table(r: Results) -> str:
    """CPU milliseconds per request of each kind of process, in runs (1), (2) and (3)."""
    runs = ((r.direct_cpu, r.direct), (r.bare_cpu, r.bare), (r.upload_cpu, r.upload))
    kinds = sorted({kind for spent, _ in runs for kind in spent},
                   key=lambda k: -r.upload_cpu.get(k, 0.0) - r.bare_cpu.get(k, 0.0))
    lines = ["| CPU ms per request | 1. direct PUT | 2. bare upload | 3. platform upload |",
             "|---|---:|---:|---:|"]
    for kind in [*kinds, "all"]:
        values = []
        for spent, figures in runs:
            seconds = sum(spent.values()) if kind == "all" else spent.get(kind, 0.0)
            values.append(f"{seconds * 1000 / max(1, figures.requests):.1f}")
        lines.append(f"| {kind} | {' | '.join(values)} |")
    return "\n".join(lines)


def machine(args: argparse.Namespace) -> str:
    mem_kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal:")))
    command = (f".venv/bin/python -m bench.load --users {args.users} --seconds {args.seconds} "
               f"--size-kb {args.size_kb} --reports {args.reports} --workers {args.workers} "
               f"--threads {args.threads}")
    return (f"{datetime.now(UTC):%Y-%m-%d}, {platform.machine()}, {os.cpu_count()} cores, "
            f"{mem_kb / 1024 / 1024:.0f} GiB RAM; intake and the bare app: gunicorn gthread "
            f"{args.workers} workers x {args.threads} threads; locust {locust_version()}, "
            f"{args.users} users, {args.seconds} s per phase\n\n    {command}")


def locust_version() -> str:
    from importlib.metadata import version

    return version("locust")


def write_readme(text: str) -> None:
    readme = README.read_text()
    start, end = readme.index(BEGIN) + len(BEGIN), readme.index(END)
    README.write_text(readme[:start] + "\n" + text + "\n" + readme[end:])


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--size-kb", type=int, default=200)
    parser.add_argument("--reports", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="intake gunicorn workers")
    parser.add_argument("--threads", type=int, default=8, help="threads per intake worker")
    parser.add_argument("--write", action="store_true", help="update bench/README.md")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    results = measure(args)
    text = machine(args) + "\n\n" + table(results, args)
    print("\n" + text, flush=True)
    if args.write:
        write_readme(text)


if __name__ == "__main__":
    main()
