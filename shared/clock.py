"""The one place the platform reads the time: always timezone-aware UTC.

In every environment but `demo` this is the real time. With `SAKIP_ENV=demo` every process reads
the demo clock, a small JSON file (`SAKIP_DEMO_CLOCK`, default `<state dir>/demo-clock.json`)
holding an offset from the real time, so a scripted city can let working days pass in seconds
and the scheduler, the upload window and the reports all see the same moved time. Only
`advance()` and `set_to()` move it, and only a demo process may (the settings refuse
`SAKIP_DEMO_CLOCK` in any other environment at start-up). The file is looked at on every read
(one `stat`), so a move is seen by every process at once; it only ever moves forward.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.config import Settings


class ClockError(RuntimeError):
    """The demo clock cannot be used or moved as asked."""


def real_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class _DemoClock:
    path: Path
    offset: timedelta = timedelta(0)
    seen: tuple[int, int] | None = None  # (inode, mtime_ns) of the file last read

    def read(self) -> timedelta:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self.offset, self.seen = timedelta(0), None
            return self.offset
        key = (stat.st_ino, stat.st_mtime_ns)
        if key != self.seen:
            self.offset = _offset_in(self.path)
            self.seen = key
        return self.offset


_lock = threading.Lock()
_demo: _DemoClock | None = None


def now() -> datetime:
    demo = _demo
    if demo is None:
        return real_now()
    with _lock:
        return real_now() + demo.read()


def use_settings(settings: Settings) -> None:
    """Point this process at the clock its settings name: the demo clock file in `demo`, the
    real time anywhere else. Every process calls it at start-up (apps, workers, the CLI)."""
    global _demo
    path = settings.demo_clock_path
    with _lock:
        _demo = _DemoClock(path) if path is not None else None


def use_demo_clock(path: Path | None) -> None:
    """Read the demo clock at `path` (None: the real time again); for tests and scripts."""
    global _demo
    with _lock:
        _demo = _DemoClock(path) if path is not None else None


def demo_offset(path: Path) -> timedelta:
    return _offset_in(path) if path.exists() else timedelta(0)


def advance(path: Path, by: timedelta) -> datetime:
    """Move the demo clock at `path` forward by `by`; returns the new demo time."""
    if by < timedelta(0):
        raise ClockError("the demo clock only moves forward")
    offset = demo_offset(path) + by
    _write(path, offset)
    return real_now() + offset


def set_to(path: Path, moment: datetime) -> datetime:
    """Move the demo clock at `path` forward to `moment` (timezone-aware)."""
    if moment.tzinfo is None:
        raise ClockError("the moment needs a time zone")
    offset = moment - real_now()
    if offset < demo_offset(path):
        raise ClockError("the demo clock only moves forward")
    _write(path, offset)
    return moment


def _offset_in(path: Path) -> timedelta:
    try:
        data = json.loads(path.read_text())
        return timedelta(seconds=float(data["offset_seconds"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ClockError(f"demo clock file {path} is unreadable: {exc}") from exc


def _write(path: Path, offset: timedelta) -> None:
    """Replace the file atomically: a reader sees the old offset or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".demo-clock-")
    with os.fdopen(fd, "w") as out:
        json.dump({"offset_seconds": offset.total_seconds(),
                   "moved_at": real_now().isoformat()}, out)
    os.replace(tmp, path)
