"""The demo clock: the real time outside `demo`; in `demo` an offset file every process reads,
moved only forward, replaced atomically, seen at once by another process; refused (settings and
CLI) in any other environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from sakip.cli import main
from shared import clock
from shared.config import ConfigError, load_settings

SLACK = timedelta(seconds=30)  # generous bound between two readings of the real time


@pytest.fixture(autouse=True)
def real_time_again() -> Iterator[None]:
    yield
    clock.use_demo_clock(None)


@pytest.fixture
def clock_file(tmp_path: Path) -> Path:
    return tmp_path / "demo-clock.json"


def near(moment: datetime, expected: datetime) -> bool:
    return abs(moment - expected) < SLACK


def test_outside_demo_the_clock_is_the_real_time(tmp_path: Path):
    clock.advance(tmp_path / "demo-clock.json", timedelta(days=3))  # there, but not read
    clock.use_settings(load_settings({"SAKIP_ENV": "development",
                                      "SAKIP_STATE_DIR": str(tmp_path)}))
    assert near(clock.now(), clock.real_now())
    assert clock.now().tzinfo is not None


def test_in_demo_the_clock_reads_the_state_dir_file(tmp_path: Path):
    settings = load_settings({"SAKIP_ENV": "demo", "SAKIP_STATE_DIR": str(tmp_path)})
    assert settings.demo_clock_path == tmp_path / "demo-clock.json"
    clock.advance(tmp_path / "demo-clock.json", timedelta(days=2))
    clock.use_settings(settings)
    assert near(clock.now(), clock.real_now() + timedelta(days=2))


def test_no_file_yet_means_no_offset(clock_file: Path):
    clock.use_demo_clock(clock_file)
    assert near(clock.now(), clock.real_now())
    assert clock.demo_offset(clock_file) == timedelta(0)


def test_advance_adds_up_and_is_seen_at_once(clock_file: Path):
    clock.use_demo_clock(clock_file)
    clock.advance(clock_file, timedelta(hours=5))
    assert near(clock.now(), clock.real_now() + timedelta(hours=5))
    clock.advance(clock_file, timedelta(days=1))
    assert clock.demo_offset(clock_file) == timedelta(days=1, hours=5)
    assert near(clock.now(), clock.real_now() + timedelta(days=1, hours=5))


def test_the_clock_only_moves_forward(clock_file: Path):
    clock.advance(clock_file, timedelta(days=1))
    with pytest.raises(clock.ClockError, match="forward"):
        clock.advance(clock_file, timedelta(seconds=-1))
    with pytest.raises(clock.ClockError, match="forward"):
        clock.set_to(clock_file, clock.real_now() + timedelta(hours=1))
    with pytest.raises(clock.ClockError, match="zone"):
        clock.set_to(clock_file, datetime(2030, 1, 1))  # noqa: DTZ001 - the naive one refused
    assert clock.demo_offset(clock_file) == timedelta(days=1)


def test_set_to_moves_to_the_moment(clock_file: Path):
    moment = datetime(2031, 4, 6, 1, 15, tzinfo=UTC)
    assert clock.set_to(clock_file, moment) == moment
    clock.use_demo_clock(clock_file)
    assert near(clock.now(), moment)


def test_a_move_by_another_process_is_seen_at_once(clock_file: Path):
    clock.use_demo_clock(clock_file)
    assert near(clock.now(), clock.real_now())  # read (and cached) before the other process
    subprocess.run(
        [sys.executable, "-c", "import sys, datetime; from pathlib import Path; "
         "from shared import clock; "
         "clock.advance(Path(sys.argv[1]), datetime.timedelta(days=10))", str(clock_file)],
        check=True, cwd=Path(__file__).resolve().parents[2], timeout=60)
    assert near(clock.now(), clock.real_now() + timedelta(days=10))


def test_the_file_is_replaced_atomically(clock_file: Path):
    clock.advance(clock_file, timedelta(hours=1))
    first = os.stat(clock_file).st_ino
    clock.advance(clock_file, timedelta(hours=1))
    assert os.stat(clock_file).st_ino != first  # a new file renamed over the old one
    assert json.loads(clock_file.read_text())["offset_seconds"] == 7200
    assert [p.name for p in clock_file.parent.iterdir()] == [clock_file.name]  # no temp left


def test_an_unreadable_file_is_an_error_not_the_real_time(clock_file: Path):
    clock_file.write_text("{half")
    clock.use_demo_clock(clock_file)
    with pytest.raises(clock.ClockError, match="unreadable"):
        clock.now()


@pytest.mark.parametrize("env", ["development", "test", "production"])
def test_settings_refuse_a_demo_clock_outside_demo(env: str, tmp_path: Path):
    with pytest.raises(ConfigError, match="SAKIP_DEMO_CLOCK"):
        load_settings({"SAKIP_ENV": env, "SAKIP_DEMO_CLOCK": str(tmp_path / "c.json")})


def test_settings_accept_a_demo_clock_file_in_demo(tmp_path: Path):
    settings = load_settings({"SAKIP_ENV": "demo", "SAKIP_DEMO_CLOCK": str(tmp_path / "c.json")})
    assert settings.demo_clock_path == tmp_path / "c.json"


@pytest.mark.parametrize("args", [["show"], ["advance", "--days", "1"],
                                  ["set", "2031-01-01T08:00+07:00"]])
def test_the_cli_refuses_the_clock_outside_demo(args: list[str], tmp_path: Path):
    result = CliRunner().invoke(main, ["demo", "clock", *args], env={
        "SAKIP_ENV": "development", "SAKIP_STATE_DIR": str(tmp_path)})
    assert result.exit_code != 0
    assert "SAKIP_ENV=demo" in result.output
    assert not (tmp_path / "demo-clock.json").exists()


def test_the_cli_moves_the_clock_in_demo(tmp_path: Path):
    result = CliRunner().invoke(main, ["demo", "clock", "advance", "--hours", "3"], env={
        "SAKIP_ENV": "demo", "SAKIP_STATE_DIR": str(tmp_path)})
    assert result.exit_code == 0, result.output
    assert "waktu demo" in result.output
    assert clock.demo_offset(tmp_path / "demo-clock.json") == timedelta(hours=3)
