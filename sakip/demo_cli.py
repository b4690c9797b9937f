"""`sakip demo ...`: the demo environment's own commands (refused anywhere but SAKIP_ENV=demo)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import click

from shared import clock
from shared.config import Settings
from shared.i18n import format_datetime, format_decimal


@click.group()
def demo() -> None:
    """The demo environment: its clock and the scripted city."""


def demo_clock_path(settings: Settings) -> Path:
    path = settings.demo_clock_path
    if path is None:
        raise click.ClickException(
            f"the demo clock exists only with SAKIP_ENV=demo (this is {settings.env!r})")
    return path


@demo.group("clock")
def demo_clock() -> None:
    """Show or move the clock every demo process reads."""


@demo_clock.command("show")
def clock_show() -> None:
    """Print the demo time and how far it is ahead of the real time."""
    from sakip.cli import _settings

    path = demo_clock_path(_settings())
    _print(path)


@demo_clock.command("advance")
@click.option("--days", type=float, default=0.0)
@click.option("--hours", type=float, default=0.0)
@click.option("--minutes", type=float, default=0.0)
def clock_advance(days: float, hours: float, minutes: float) -> None:
    """Move the demo clock forward (every demo process sees it at once)."""
    from sakip.cli import _settings

    path = demo_clock_path(_settings())
    try:
        clock.advance(path, timedelta(days=days, hours=hours, minutes=minutes))
    except clock.ClockError as exc:
        raise click.ClickException(str(exc)) from exc
    _print(path)


@demo_clock.command("set")
@click.argument("moment", type=click.DateTime(["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z"]))
def clock_set(moment: datetime) -> None:
    """Move the demo clock forward to MOMENT, e.g. 2026-04-06T08:15+07:00."""
    from sakip.cli import _settings

    path = demo_clock_path(_settings())
    try:
        clock.set_to(path, moment)
    except clock.ClockError as exc:
        raise click.ClickException(str(exc)) from exc
    _print(path)


def _print(path: Path) -> None:
    offset = clock.demo_offset(path)
    hours = format_decimal(offset.total_seconds() / 3600, 1)
    click.echo(f"waktu demo: {format_datetime(clock.real_now() + offset)} "
               f"(maju {hours} jam dari waktu nyata; {path})")
