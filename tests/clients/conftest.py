"""Fixtures of the generated-client tests: the service on loopback, the emulator's setup over HTTP, tool checks."""

import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.snowflake_emulator import SnowflakeEmulator

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


@pytest.fixture
def api_root(start_server, snowflake_emulator: SnowflakeEmulator) -> str:
    """`warehouse-connections serve` on loopback, testing connections against the emulator; its /api/v1 URL."""
    # Passed explicitly: the session's server environment may predate the emulator fixture's setenv, and the
    # connector must not probe cloud metadata addresses.
    base_url = start_server(
        WC_SNOWFLAKE_ENDPOINT=snowflake_emulator.url,
        SNOWFLAKE_DISABLE_PLATFORM_DETECTION="true",
    )
    return f"{base_url}/api/v1"


def run_setup_script(emulator: SnowflakeEmulator, connection: dict) -> None:
    """What the customer's run of the setup script does to the (emulated) account."""
    config = connection["config"]
    emulator.register_user(config["account_identifier"], config["user"], connection["public_key"])
    emulator.add_stage(config["database"], config["schema"], STAGE)


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
