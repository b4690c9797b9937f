"""Where a benchmark phase's CPU went: CPU seconds per kind of process of the bench stack (the
benchmark's descendants, classified by command line) and of the PostgreSQL backends serving its
database, from /proc (Linux only). Load tools run to completion within a phase count through
RUSAGE_CHILDREN."""

from __future__ import annotations

import os
import resource
from collections.abc import Mapping
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
KINDS = (  # (label, a piece of the command line), first match wins
    ("bare app (gunicorn)", "bench.bare_upload"),
    ("intake (gunicorn)", "gunicorn"),
    ("S3 (weed)", "weed"),
    ("Redis", "redis-server"),
    ("relay", "shared.events.relay"),
    ("workflow consumer", "services.workflow.consumer"),
    ("reporting worker", "celery"),
)
LOAD_TOOL = "load tool (locust)"
POSTGRES = "PostgreSQL backends"


def _stat(pid: str) -> tuple[int, float] | None:
    """(parent pid, CPU seconds) of a process, None if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS


def _cmdline(pid: str) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace")


def snapshot(database: str) -> dict[str, float]:
    """CPU seconds so far per kind of process (living ones, plus waited-for children)."""
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _stat(entry)):
            parents[int(entry)], cpu[int(entry)] = stat
    me = os.getpid()
    totals: dict[str, float] = {}
    for pid, seconds in cpu.items():
        ancestor = parents.get(pid)
        while ancestor not in (None, 0, 1, me):
            ancestor = parents.get(ancestor)
        cmdline = _cmdline(str(pid))
        if ancestor == me:
            kind = next((label for label, piece in KINDS if piece in cmdline), None)
            if kind:
                totals[kind] = totals.get(kind, 0.0) + seconds
        elif cmdline.startswith("postgres:") and f" {database} " in cmdline:
            totals[POSTGRES] = totals.get(POSTGRES, 0.0) + seconds
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    totals[LOAD_TOOL] = children.ru_utime + children.ru_stime
    return totals


def spent(before: Mapping[str, float], after: Mapping[str, float]) -> dict[str, float]:
    """CPU seconds per kind between two snapshots (processes that ended in between count only
    through RUSAGE_CHILDREN, i.e. the load tool)."""
    return {kind: max(0.0, seconds - before.get(kind, 0.0)) for kind, seconds in after.items()}
