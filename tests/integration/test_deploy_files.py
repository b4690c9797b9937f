"""docker-compose.yml must be valid compose, checked by docker-compose itself (no engine needed)."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_compose_file_validates():
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.fail("docker-compose is missing; `scripts/install-system-deps --for-tests` "
                    "installs it")
    result = subprocess.run(
        [binary, "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
        env={**os.environ, "SAKIP_ENV_FILE": "deploy/env.example"},
    )
    assert result.returncode == 0, result.stderr
