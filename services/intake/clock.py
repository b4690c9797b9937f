"""The time the intake's views act at (`at` of every domain change they make).

Real UTC time, unless the app was given a clock: `use_clock(app, clock)` (tests put the intake
inside or after a cycle's collection window this way; the domain functions always take `at`).
Sessions, tokens and audit timestamps keep the real time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import Flask, current_app, has_app_context

from shared.clock import now

CLOCK_KEY = "SAKIP_CLOCK"
Clock = Callable[[], datetime]


def use_clock(app: Flask, clock: Clock | None) -> None:
    """Let `app`'s views act at `clock()`; None returns them to the real time."""
    app.config[CLOCK_KEY] = clock


def current_time() -> datetime:
    clock: Clock | None = current_app.config.get(CLOCK_KEY) if has_app_context() else None
    return clock() if clock is not None else now()
