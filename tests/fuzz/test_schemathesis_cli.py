"""The schemathesis CLI, every check and phase, against `warehouse-connections serve` on a real port, reading
the spec the server serves, as a consumer would.

Not part of the default run (`-m fuzz`; tox -e fuzz / fuzz-pg). WC_FUZZ_SEED replays a run; CI uses the
fixed default. WC_FUZZ_EXAMPLES sets cases per operation and phase. The junit report goes to reports/.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from warehouse_connections.devtools.snowflake_emulator.command import public_keys_of_user

pytestmark = pytest.mark.fuzz

CONFIG = Path(__file__).with_name("schemathesis.toml")
REPORTS = Path(__file__).parents[2] / "reports"
SEED = os.environ.get("WC_FUZZ_SEED", "20261125")
EXAMPLES = os.environ.get("WC_FUZZ_EXAMPLES", "150")
MIN_CASES = 1000


def test_fuzz__every_check_and_phase__finds_no_failure(
    start_server, snowflake_emulator, organisation, api_key, settings, dev_issuer, mint, closed_port
):
    snowflake_emulator.resolve_user = public_keys_of_user
    snowflake_emulator.every_stage_exists = True
    # Both schemes: an admin token of the organisation, signed by the dev issuer (tests/fuzz/hooks.py).
    token = mint(organisation.id)
    # PostgreSQL connections go to a closed loopback port (tests/fuzz/aiming.py): never beyond this machine.
    base_url = start_server(WC_SNOWFLAKE_ENDPOINT=snowflake_emulator.url, WC_ALLOW_PRIVATE_HOSTS="true", **dev_issuer)
    database_kind = "postgresql" if settings.database_url.startswith("postgresql") else "sqlite"
    junit = REPORTS / f"schemathesis-{database_kind}.xml"

    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "--config-file",
            str(CONFIG),
            "run",
            f"{base_url}/api/v1/openapi.json",
            "--url",
            f"{base_url}/api/v1",
            "--checks",
            "all",
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--max-examples",
            EXAMPLES,
            "--seed",
            SEED,
            "--workers",
            "2",
            "--report",
            "junit",
            "--report-junit-path",
            str(junit),
            "--no-color",
        ],
        env={
            **os.environ,
            "SCHEMATHESIS_HOOKS": "tests.fuzz.hooks",
            "WC_FUZZ_API": f"{base_url}/api/v1",
            "WC_FUZZ_API_KEY": api_key,
            "WC_FUZZ_BEARER_TOKEN": token,
            "WC_FUZZ_ORGANISATION": str(organisation.id),
            "WC_FUZZ_CLOSED_PORT": str(closed_port),
        },
        capture_output=True,
        text=True,
        timeout=1800,
    )

    print(run.stdout[-6000:])
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    generated = sum(int(n) for n in re.findall(r"(\d+) generated", run.stdout))
    assert generated >= MIN_CASES, f"only {generated} cases were generated"
    assert any(entry.get("authenticated") for entry in snowflake_emulator.requests), "no test call logged in"
    logged = start_server.logs[base_url].read_text()
    assert '"auth_scheme":"bearer"' in logged and '"auth_scheme":"api-key"' in logged, "a scheme was never used"
