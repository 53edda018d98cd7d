"""The benchmark's smoke mode runs end to end (a few seconds, sane numbers); the figures live in docs/."""

import json
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
    sqlite = json.loads((tmp_path / "smoke.json").read_text())["databases"]["sqlite"]
    # The list with a bearer token ran, on the service alone, beside its list with the API key.
    bearer = [run["config"] for run in sqlite["runs"] if run["endpoint"] == "list-bearer"]
    assert bearer == ["service"]
    assert len(sqlite["summary"]["bearer_vs_api_key"]["per_round"]) == 1


def test_bench__scale_mode__measures_every_count_against_the_control(tmp_path):
    pg_url = os.environ.get("WC_TEST_DATABASE_URL", "")
    if not pg_url.startswith("postgresql") or shutil.which("wrk") is None:
        pytest.skip("--scale needs PostgreSQL (WC_TEST_DATABASE_URL) and wrk")
    arguments = ["--scale", "--scale-counts", "20,40", "--rounds", "2", "--duration", "1", "--warmup", "0"]
    arguments += ["--startups", "1", "--rsa-key-bits", "2048", "--pg-url", pg_url, "--output", str(tmp_path / "s.json")]

    done = subprocess.run([sys.executable, str(BENCH), *arguments], capture_output=True, text=True, timeout=300)

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    scale = json.loads((tmp_path / "s.json").read_text())["scale"]
    assert (scale["control"]["organisations"], scale["control"]["wrk_organisations"]) == (20, 20)
    assert [point["organisations"] for point in scale["points"]] == [20, 40]
    # Only the table grows: wrk draws from as many organisations at 40 as at 20.
    assert [point["wrk_organisations"] for point in scale["points"]] == [20, 20]
    for point in scale["points"]:
        assert sorted(point["servers"]) == ["reference-gthread", "service", "service-control", "service-no-key-cache"]
        assert sorted(point["against_control"]) == ["reference-gthread", "service", "service-no-key-cache"]
        for ratio in point["against_control"].values():
            assert len(ratio["per_round"]) == 2 and ratio["median"] > 0


def test_bench__tests_hanging__refuses_beyond_the_limit_while_the_admitted_hang_and_a_healthy_test_passes(tmp_path):
    if shutil.which("wrk") is None and not os.environ.get("WC_REQUIRE_BENCH_TOOLS"):
        pytest.skip("the benchmark needs wrk (Debian: apt-get install -y wrk)")
    arguments = "--tests-hanging --db sqlite --organisations 20 --rounds 1 --duration 1 --warmup 0 --healthy-tests 2"
    arguments = [*arguments.split(), "--rsa-key-bits", "2048", "--output", str(tmp_path / "t.json")]

    done = subprocess.run([sys.executable, str(BENCH), *arguments], capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    db = json.loads((tmp_path / "t.json").read_text())["tests"]["sqlite"]
    [round_] = db["rounds"]
    refused = [call for call in round_["answered_at_once"] if call["status"] == 503]
    assert (len(refused), round_["hung_throughout"]) == (16, 4)
    assert all(call["retry_after"] and call["ms"] > 0 for call in refused)
    assert db["summary"]["list_non_2xx"] == 0
    assert round_["at_rest"]["requests"] > 0 and round_["hanging"]["requests"] > 0
    assert (db["healthy"]["tests"], db["healthy"]["passed"]) == (2, 2)


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        (["--scale", "--db", "sqlite"], "--scale runs on PostgreSQL only"),
        (["--db", "mysql"], "--db takes sqlite, postgresql or both, not 'mysql'"),
        (["--configs", "service,service-control"], "--configs: service-control is added by --scale itself"),
        (
            ["--tests-hanging", "--hanging-tests", "4"],
            "--hanging-tests must be more than the 4 tests the service runs at once",
        ),
    ],
)
def test_bench__database_it_cannot_run__is_refused_before_anything_runs(arguments, error):
    result = subprocess.run([sys.executable, str(BENCH), *arguments], capture_output=True, text=True, timeout=60)

    assert (result.returncode, result.stderr.splitlines()[-1]) == (2, f"run.py: error: {error}")
