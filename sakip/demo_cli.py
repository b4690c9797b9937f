"""`sakip demo ...`: the demo environment's own commands. The clock commands are refused
anywhere but SAKIP_ENV=demo; `sakip demo city` starts a demo stack of its own (refused in
production)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from shared import clock
from shared.config import Settings
from shared.i18n import format_datetime, format_decimal

if TYPE_CHECKING:
    from sakip.city.run import CityOutcome


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


@demo.command("city")
@click.option("--dinas", "dinas_count", type=click.IntRange(1, 30), default=30, show_default=True)
@click.option("--seed", type=int, default=2026, show_default=True)
@click.option("--bidang", "bidang_range", default="6-10", show_default=True,
              help="Bidang per dinas, LOW-HIGH")
@click.option("--max-file-kb", type=click.IntRange(50), default=5120, show_default=True)
@click.option("--database-url", default=None,
              help="PostgreSQL server to create the city's own database on "
                   "(default: postgresql+psycopg://postgres@127.0.0.1:5432/test)")
@click.option("--state-dir", type=click.Path(path_type=Path), default=None,
              help="where the stack keeps its files (default: a new temporary folder)")
@click.option("--keep", is_flag=True, help="keep the database and the state folder")
def city(dinas_count: int, seed: int, bidang_range: str, max_file_kb: int,
         database_url: str | None, state_dir: Path | None, keep: bool) -> None:
    """Play a scripted city through the services' HTTP APIs on a demo stack, then check it."""
    import shutil
    import sys
    import tempfile

    from sakip.city.plan import plan_city
    from sakip.city.run import run_city
    from sakip.cli import _settings

    if _settings().env == "production":
        raise click.ClickException("sakip demo city is refused in production")
    try:
        low, _, high = bidang_range.partition("-")
        bidang = (int(low), int(high or low))
        plan = plan_city(dinas=dinas_count, seed=seed, bidang_per_dinas=bidang,
                         max_file_bytes=max_file_kb * 1024)
    except ValueError as exc:
        raise click.BadParameter(f"LOW-HIGH, e.g. 6-10 ({exc})", param_hint="--bidang") from exc
    folder = state_dir or Path(tempfile.mkdtemp(prefix="sakip-city-"))
    try:
        outcome = run_city(plan, database_url=database_url, state_dir=folder, out=sys.stdout,
                           keep=keep)
    finally:
        if not keep and state_dir is None:
            shutil.rmtree(folder, ignore_errors=True)
    click.echo(city_summary(outcome))
    if keep:
        click.echo(f"basis data: {outcome.database_url}; folder: {folder}")
    if not outcome.ok:
        raise SystemExit(1)


def city_summary(outcome: CityOutcome) -> str:
    gigabytes = outcome.bytes / 1024**3
    size = (f"{format_decimal(gigabytes, 1)} GB" if gigabytes >= 1
            else f"{format_decimal(outcome.bytes / 1024**2, 1)} MB")
    lines = [f"{outcome.dinas} dinas, {outcome.bidang} Bidang, {outcome.files} berkas ({size}), "
             f"{outcome.clock_jumps} kali jam demo dimajukan, "
             f"{format_decimal(outcome.seconds, 0)} detik, "
             f"{len(outcome.inconsistencies)} ketidaksesuaian"]
    lines += [f"  {name}: {format_decimal(seconds, 1)} detik"
              for name, seconds in outcome.timings.items()]
    if outcome.error:
        lines.append(f"GAGAL: {outcome.error}")
    lines += [f"  - {line}" for line in outcome.inconsistencies[:200]]
    if len(outcome.inconsistencies) > 200:
        lines.append(f"  ... dan {len(outcome.inconsistencies) - 200} lagi")
    return "\n".join(lines)
