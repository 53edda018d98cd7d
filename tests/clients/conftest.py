"""What the generated-client tests share: the service on loopback, the emulator's setup (in process and over
HTTP), the served spec the generators read (as consumers do: from a running server), and checking for and
running their tools.

Each generator works at test time in a temporary folder; nothing generated is kept.
"""

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.processes import free_port, wait_until_up
from warehouse_connections.devtools.snowflake_emulator import SnowflakeEmulator

# Set where the tools are part of the environment (the `clients` tox env, CI): a missing one fails the
# test there instead of skipping it.
REQUIRE_TOOLS = os.environ.get("WC_REQUIRE_CLIENT_TOOLS") == "1"

STAGE = "FLAGSMITH_STAGE"
SETUP_PATH = "/setup-script-ran"


def require(available: object, reason: str) -> None:
    """Skip with `reason` unless `available`; fail instead where WC_REQUIRE_CLIENT_TOOLS=1."""
    if available:
        return
    if REQUIRE_TOOLS:
        pytest.fail(f"{reason} (WC_REQUIRE_CLIENT_TOOLS=1: this environment must provide it)")
    pytest.skip(reason)


def excerpt(text: str, limit: int = 4000) -> str:
    """The start and the end of a long tool output (where generators put their message)."""
    return text if len(text) <= limit else f"{text[: limit // 2]}\n[…]\n{text[-limit // 2 :]}"


def run(args: list[str], what: str, *, timeout: float, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Runs a tool to completion within `timeout` seconds; fails the test with its output if it exits non-zero."""
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kwargs)
    if result.returncode != 0:
        pytest.fail(f"{what} exited {result.returncode}:\n{excerpt(result.stdout + result.stderr)}", pytrace=False)
    return result


@pytest.fixture(scope="session")
def served_spec_url(server_env, tmp_path_factory) -> Iterator[str]:
    """The URL of the spec a running `warehouse-connections serve` serves, for the generators to read."""
    port = free_port()
    with (tmp_path_factory.mktemp("spec-server") / "server.log").open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "warehouse_connections", "serve", "--port", str(port)],
            env=server_env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/health")
        yield f"http://127.0.0.1:{port}/api/v1/openapi.json"
    finally:
        server.terminate()
        server.wait(timeout=15)


@pytest.fixture
def api_root(start_server, snowflake_emulator: SnowflakeEmulator, dev_issuer: dict[str, str]) -> str:
    """`warehouse-connections serve` on loopback, testing connections against the emulator and accepting the dev
    issuer's bearer tokens (`mint`); its /api/v1 URL."""
    # Passed explicitly: the session's server environment may predate the emulator fixture's setenv, and the
    # connector must not probe cloud metadata addresses.
    base_url = start_server(
        WC_SNOWFLAKE_ENDPOINT=snowflake_emulator.url,
        SNOWFLAKE_DISABLE_PLATFORM_DETECTION="true",
        **dev_issuer,
    )
    return f"{base_url}/api/v1"


def run_setup_script(emulator: SnowflakeEmulator, connection: dict) -> None:
    """What the customer's run of the setup script does to the (emulated) account."""
    config = connection["config"]
    emulator.register_user(config["account_identifier"], config["user"], connection["public_key"])
    emulator.add_stage(config["database"], config["schema"], STAGE)


def emulated_login(emulator: SnowflakeEmulator) -> dict[str, Any]:
    """The emulator's record of the connection test's login; fails unless there was exactly one."""
    (login,) = [entry for entry in emulator.requests if entry["path"] == "/session/v1/login-request"]
    return login


@pytest.fixture
def emulator_setup_url(snowflake_emulator: SnowflakeEmulator) -> Iterator[str]:
    """A loopback URL through which a program in another language runs the setup script on the emulator.

    POST {"account_identifier", "user", "public_key", "database", "schema"} answers 204.
    """

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if self.path != SETUP_PATH:
                self.send_error(404)
                return
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            run_setup_script(
                snowflake_emulator,
                {
                    "public_key": body["public_key"],
                    "config": {key: body[key] for key in ("account_identifier", "user", "database", "schema")},
                },
            )
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}{SETUP_PATH}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
