"""The benchmark's smoke mode runs end to end (a few seconds, sane numbers); the figures live in docs/."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[1] / "bench" / "run.py"


def test_bench__smoke_mode__runs_end_to_end(tmp_path):
    missing = [tool for tool in ("wrk", "taskset") if shutil.which(tool) is None]
    if missing and not os.environ.get("WC_REQUIRE_BENCH_TOOLS"):
        pytest.skip(f"the benchmark needs {', '.join(missing)} (Debian: apt-get install -y wrk)")

    result = subprocess.run(
        [sys.executable, str(BENCH), "--smoke", "--output", str(tmp_path / "smoke.json")],
        capture_output=True,
        text=True,
        timeout=180,
    )

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "smoke: ran end to end; the numbers are sane" in result.stdout
    assert (tmp_path / "smoke.json").stat().st_size > 0


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        (["--scale", "--db", "sqlite"], "--scale runs on PostgreSQL only"),
        (["--db", "mysql"], "--db takes sqlite, postgresql or both, not 'mysql'"),
    ],
)
def test_bench__database_it_cannot_run__is_refused_before_anything_runs(arguments, error):
    result = subprocess.run([sys.executable, str(BENCH), *arguments], capture_output=True, text=True, timeout=60)

    assert (result.returncode, result.stderr.splitlines()[-1]) == (2, f"run.py: error: {error}")
