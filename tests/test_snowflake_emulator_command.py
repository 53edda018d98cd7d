"""`warehouse-connections snowflake-emulator`, the local green path: create, then test, with no Snowflake account.

Run as a user runs it, a process beside `serve` on the suite's database; `serve` itself never loads it.
"""

import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

BANNER_LINES = 6
ACCOUNT = "xy12345.us-east-1"


@dataclass
class EmulatorCommand:
    process: subprocess.Popen
    banner: list[str]

    @property
    def url(self) -> str:
        """The URL the banner's first line gives."""
        return self.banner[0].split(" ")[3]


@pytest.fixture
def emulator_command(server_env) -> Iterator[EmulatorCommand]:
    """The command on a free port, once it has printed its banner."""
    process = subprocess.Popen(
        [sys.executable, "-m", "warehouse_connections", "snowflake-emulator", "--port", "0"],
        env=server_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield EmulatorCommand(process, [process.stdout.readline() for _ in range(BANNER_LINES)])
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=15)
        process.stdout.close()
        process.stderr.close()


def test_snowflake_emulator_command__started__prints_its_url_and_how_to_point_serve_at_it(emulator_command):
    url = emulator_command.url

    assert url.startswith("http://127.0.0.1:")
    assert emulator_command.banner == [
        f"Snowflake emulator at {url} (loopback only): every connection in the configured database logs in with its\n",
        "key pair, and every stage exists. Point the service at it:\n",
        "\n",
        f"    WC_SNOWFLAKE_ENDPOINT={url} warehouse-connections serve\n",
        "\n",
        "Ctrl-C stops it.\n",
    ]


def test_snowflake_emulator_command__serve_pointed_at_it__a_created_connection_tests_successfully(
    emulator_command, start_server, organisation, api_key
):
    base_url = start_server(WC_SNOWFLAKE_ENDPOINT=emulator_command.url)
    connections = f"{base_url}/api/v1/organisations/{organisation.id}/integrations/warehouse-connections/"
    auth = {"Authorization": f"Api-Key {api_key}"}
    created = httpx.post(connections, headers=auth, json={"type": "snowflake", "account_identifier": ACCOUNT})

    tested = httpx.post(f"{connections}{created.json()['id']}/test/", headers=auth, timeout=30)

    detail = httpx.get(f"{connections}{created.json()['id']}/", headers=auth).json()
    assert created.status_code == 201
    result = tested.json()
    assert (tested.status_code, result["success"], result["tested_at"]) == (200, True, detail["last_tested_at"])
    assert {step["status"] for step in result["steps"]} == {"passed"}
    assert (detail["status"], detail["last_error"]) == ("connected", None)


def test_snowflake_emulator_command__a_rotation_started__completes_as_if_its_script_ran(
    emulator_command, start_server, organisation, api_key
):
    base_url = start_server(WC_SNOWFLAKE_ENDPOINT=emulator_command.url)
    connections = f"{base_url}/api/v1/organisations/{organisation.id}/integrations/warehouse-connections/"
    auth = {"Authorization": f"Api-Key {api_key}"}
    created = httpx.post(connections, headers=auth, json={"type": "snowflake", "account_identifier": ACCOUNT}).json()
    rotation = httpx.post(f"{connections}{created['id']}/key-rotation/", headers=auth).json()

    completed = httpx.post(f"{connections}{created['id']}/key-rotation/complete/", headers=auth, timeout=30)
    tested = httpx.post(f"{connections}{created['id']}/test/", headers=auth, timeout=30).json()

    assert completed.status_code == 200
    assert completed.json()["connection"]["public_key"] == rotation["public_key"]
    assert tested["success"] is True


@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_snowflake_emulator_command__signal__stops_it_with_exit_0(emulator_command, signal_number):
    emulator_command.process.send_signal(signal_number)

    assert emulator_command.process.wait(timeout=15) == 0
    assert emulator_command.process.stderr.read() == "Snowflake emulator stopped\n"


def test_serve__app_built_and_handed_to_uvicorn__has_not_loaded_the_devtools(server_env, organisation):
    # serve as the entry point runs it, up to the point uvicorn would start serving the app.
    probe = (
        "import sys, uvicorn; from warehouse_connections import launch; main = launch.load_cli(); "
        "uvicorn.run = lambda app, **options: print(type(app).__name__, "
        "sorted(name for name in sys.modules if name.startswith('warehouse_connections.devtools'))); "
        "main(['serve'])"
    )

    result = subprocess.run([sys.executable, "-c", probe], env=server_env, capture_output=True, text=True, timeout=60)

    assert result.stdout == "FlaskApp []\n", result.stderr
