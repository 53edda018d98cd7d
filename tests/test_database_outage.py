"""The database goes away: 503 with Retry-After, quickly; and the service recovers by itself."""

import asyncio
import contextlib
import socket
import threading
import time

import httpx
import pytest
from peewee import OperationalError

from models import ApiKey, Organisation, WarehouseConnection, database
from tests.examples import API_OPERATIONS
from tests.problems import assert_database_unavailable

BODIES = {
    "POST": {"type": "snowflake", "account_identifier": "xy12345"},
    "PUT": {"type": "snowflake", "account_identifier": "xy12345"},
    "PATCH": {"warehouse": "X"},
}


@pytest.mark.parametrize(("method", "path"), API_OPERATIONS)
def test_outage__database_fails__returns_503_with_retry_after_and_request_id(
    client, list_url, monkeypatch, method, path
):
    def database_down(cls, key):
        raise OperationalError('connection to server at "127.0.0.1", port 5432 failed: Connection refused')

    monkeypatch.setattr(ApiKey, "find_active", classmethod(database_down))

    response = client.request(method, f"{list_url}{path}", json=BODIES.get(method, {}) if method != "GET" else None)

    assert_database_unavailable(response)


class TcpProxy:
    """Loopback TCP proxy to PostgreSQL: stopping it is an outage the service cannot tell from a real one."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._loop.run_forever, daemon=True).start()
        self._server = None
        self._writers: set[asyncio.StreamWriter] = set()

    def start(self) -> None:
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=10)

    async def _start(self):
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port, reuse_address=True)

    async def _stop(self):
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        await self._server.wait_closed()

    async def _relay(self, client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            client_writer.close()
            return
        self._writers |= {client_writer, server_writer}
        await asyncio.gather(self._pipe(client_reader, server_writer), self._pipe(server_reader, client_writer))

    async def _pipe(self, reader, writer):
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()
        self._writers.discard(writer)


def poll(url: str, headers: dict, want: int, deadline_seconds: float) -> httpx.Response:
    deadline = time.monotonic() + deadline_seconds
    while True:
        response = httpx.get(url, headers=headers, timeout=15)
        if response.status_code == want or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


def test_outage__postgresql_goes_away_and_comes_back__503_then_recovers_without_restart(
    settings, start_server, organisation, api_key, list_url
):
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("an outage of a database server: PostgreSQL only (WC_TEST_DATABASE_URL)")
    proxy = TcpProxy(target_port=5432)
    proxy.start()
    through_proxy = settings.database_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    base_url = start_server(DATABASE_URL=through_proxy)
    auth = {"Authorization": f"Api-Key {api_key}"}
    assert httpx.get(f"{base_url}{list_url}", headers=auth).status_code == 200

    proxy.stop()
    started = time.monotonic()
    during = httpx.get(f"{base_url}{list_url}", headers=auth, timeout=30)
    answered_in = time.monotonic() - started
    ready_during = httpx.get(f"{base_url}/ready", timeout=30)
    write_during = httpx.post(
        f"{base_url}{list_url}", headers=auth, json={"type": "snowflake", "account_identifier": "xy12345"}, timeout=30
    )
    proxy.start()
    after = poll(f"{base_url}{list_url}", auth, 200, deadline_seconds=30)
    write_after = httpx.post(
        f"{base_url}{list_url}", headers=auth, json={"type": "snowflake", "account_identifier": "xy12345"}, timeout=30
    )

    assert (during.status_code, during.headers["retry-after"]) == (503, "5")
    assert answered_in < 10
    assert ready_during.status_code == 503
    assert write_during.status_code == 503
    assert after.status_code == 200
    assert httpx.get(f"{base_url}/ready").status_code == 200
    assert write_after.status_code == 201
    with database.connection_context():
        # The write reported as failed did not happen; the one after recovery did, once.
        assert WarehouseConnection.select().where(WarehouseConnection.organisation == organisation).count() == 1
        assert Organisation.select().count() == 1
