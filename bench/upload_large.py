"""One large upload through the intake service vs a direct minio put of the same file.

    .venv/bin/python -m bench.upload_large [--size-mb 200] [--runs 5]

The service is gunicorn (one worker) in front of the real S3 server (SeaweedFS) and PostgreSQL;
the file goes as a browser sends it (multipart/form-data, fields first, file last), streamed
from disk. Runs alternate (service, direct, service, direct, ...); medians and the ratio are
printed, with the gunicorn worker's peak resident memory (VmHWM) while it served the uploads.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from minio import Minio

from bench.stack import BenchStack, bench_stack
from sakip.seeding import seed_collecting_cycle
from services.intake.accounts import create_bidang, create_tenant, create_user
from services.intake.packages import ensure_package, items_of
from shared.clock import now
from shared.cycles.models import Cycle
from shared.db import transaction
from shared.identity.api_tokens import create_api_token
from shared.identity.loading import principal_for
from shared.identity.roles import Role
from shared.storage import ObjectStore

CHUNK = 1024 * 1024


def make_file(path: Path, size: int) -> None:
    header = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    block = os.urandom(CHUNK)  # incompressible, like scanned pages
    with path.open("wb") as out:
        out.write(header)
        written = len(header)
        while written < size:
            piece = block[: min(CHUNK, size - written)]
            out.write(piece)
            written += len(piece)


def small_file(workdir: Path) -> Path:
    path = workdir / "warm-up.pdf"
    make_file(path, 64 * 1024)
    return path


def stamp(path: Path, run: int) -> None:
    """Make each run's bytes distinct (an identical re-upload would store nothing new)."""
    with path.open("r+b") as f:
        f.seek(64)
        f.write(f"run-{run:04d}-{uuid.uuid4().hex}".encode())


def seed(stack: BenchStack) -> tuple[uuid.UUID, str]:
    factory = stack.session_factory()
    with transaction(factory) as session:
        tenant = create_tenant(session, slug="bench", name="Dinas Bench")
        bidang = create_bidang(session, tenant=tenant, name="Bidang Bench")
        user = create_user(session, username="bench.staf", full_name="Staf Bench",
                           password="kata-sandi-bench-panjang",
                           roles=[(Role.BIDANG_STAFF, tenant.id)], tenant_id=tenant.id,
                           bidang_id=bidang.id)
        kepala, tim = (principal_for(create_user(
            session, username=f"bench.{role.value}", full_name=f"Bench {role.label}",
            password="kata-sandi-bench-panjang", roles=[(role, tenant.id)],
            tenant_id=tenant.id)) for role in (Role.KEPALA_DINAS, Role.TIM_EVALUASI))
        cycle = seed_collecting_cycle(session, ObjectStore.from_settings(stack.settings),
                                      tenant_id=tenant.id, year=2026, at=now(),
                                      owed={bidang.id: ["LKJIP"]}, kepala=kepala, tim=tim)
        package = ensure_package(session, cycle=session.get_one(Cycle, cycle.id),
                                 bidang_id=bidang.id)
        item_id = items_of(session, package)[0].id
        _row, token = create_api_token(session, user=user, name="bench")
    return item_id, token


def multipart(path: Path, boundary: str) -> tuple[list[bytes], int]:
    fields = {"title": "Laporan Kinerja Instansi Pemerintah", "year": "2026"}
    head = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items())
    head += (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
             f'filename="lkjip.pdf"\r\nContent-Type: application/pdf\r\n\r\n').encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    return [head, tail], len(head) + path.stat().st_size + len(tail)


def upload_through_service(url: str, token: str, item_id: uuid.UUID, path: Path) -> float:
    boundary = uuid.uuid4().hex
    (head, tail), length = multipart(path, boundary)
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=600)
    started = time.perf_counter()
    conn.putrequest("POST", f"/api/v1/items/{item_id}/versions")
    conn.putheader("Authorization", f"Bearer {token}")
    conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    conn.putheader("Content-Length", str(length))
    conn.endheaders()
    conn.send(head)
    for chunk in _chunks(path):
        conn.send(chunk)
    conn.send(tail)
    response = conn.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - started
    conn.close()
    if response.status not in (200, 201):
        raise SystemExit(f"service upload failed: {response.status} {body[:500]!r}")
    json.loads(body)
    return elapsed


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk


def upload_direct(client: Minio, bucket: str, path: Path, run: int) -> float:
    started = time.perf_counter()
    client.fput_object(bucket, f"direct/run-{run}", str(path), content_type="application/pdf")
    return time.perf_counter() - started


def peak_rss_mib(gunicorn_pid: int) -> float:
    """The largest VmHWM among the gunicorn arbiter's worker processes."""
    peaks = []
    for child in Path(f"/proc/{gunicorn_pid}/task/{gunicorn_pid}/children").read_text().split():
        status = Path(f"/proc/{child}/status").read_text()
        line = next(x for x in status.splitlines() if x.startswith("VmHWM:"))
        peaks.append(int(line.split()[1]) / 1024)
    return max(peaks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    size = args.size_mb * 1024 * 1024
    with bench_stack(MAX_UPLOAD_BYTES=str(size + CHUNK)) as stack:
        path = stack.workdir / "upload.pdf"
        make_file(path, size)
        item_id, token = seed(stack)
        s = stack.settings
        client = Minio(s.s3_endpoint, access_key=s.s3_access_key, secret_key=s.s3_secret_key,
                       secure=False)
        service_times, direct_times = [], []
        with stack.gunicorn("intake", workers=1, threads=4) as (url, process):
            upload_through_service(url, token, item_id, small_file(stack.workdir))
            baseline = peak_rss_mib(process.pid)
            for run in range(args.runs):
                stamp(path, run)
                service_times.append(upload_through_service(url, token, item_id, path))
                direct_times.append(upload_direct(client, s.s3_bucket, path, run))
                print(f"run {run + 1}: service {size / service_times[-1] / 1e6:7.1f} MB/s   "
                      f"direct {size / direct_times[-1] / 1e6:7.1f} MB/s", flush=True)
            peak = peak_rss_mib(process.pid)
    service = size / statistics.median(service_times) / 1e6
    direct = size / statistics.median(direct_times) / 1e6
    print(f"\nfile: {args.size_mb} MiB, {args.runs} interleaved runs, medians")
    print(f"service (multipart through intake): {service:7.1f} MB/s")
    print(f"direct minio put, same S3 server:   {direct:7.1f} MB/s")
    print(f"ratio service/direct:               {service / direct:7.2f}  (target >= 0.80)")
    print(f"intake worker peak RSS (VmHWM):     {peak:7.1f} MiB (target < 150); "
          f"{baseline:.1f} MiB after one small upload, before the large ones")


if __name__ == "__main__":
    main()
