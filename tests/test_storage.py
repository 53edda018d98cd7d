"""The PostgreSQL pool: no round trip on check-out for a connection that came back moments ago, and bounded waits
on a server that stops answering (through tests/tcp_relay.py), none of them behind another's."""

import threading
import time

import peewee
import psycopg
import pytest

from models.postgresql import PostgresqlPool
from models.storage import OnEventLoop, WouldWait, open_database


@pytest.fixture
def pool(settings):
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("the PostgreSQL pool: PostgreSQL only (WC_TEST_DATABASE_URL)")
    pool = open_database(settings.database_url)
    yield pool
    pool.close_all()


@pytest.fixture
def relayed_pool(settings, postgresql_relay):
    """A pool that reaches the server through the relay, bounded as when the app serves."""
    pool = open_database(postgresql_relay.reroute(settings.database_url))
    pool.bound_waits()
    yield pool
    pool.close_all()


@pytest.fixture
def observer(settings):
    """A connection of its own, to see what the pool's connections last ran on the server."""
    with psycopg.connect(settings.database_url, autocommit=True) as connection:
        yield connection


def run_and_return(pool, sql: str) -> int:
    """Check a connection out, run `sql`, check it back in; returns the server process behind it."""
    with pool.connection_context():
        pool.execute_sql(sql)
        return pool.connection().info.backend_pid


def last_statement(observer, backend: int) -> str:
    return observer.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", (backend,)).fetchone()[0]


def test_pool__is_the_postgresql_pool(pool):
    assert type(pool) is PostgresqlPool


def test_pool__connection_back_moments_ago__is_handed_out_without_a_ping(pool, observer):
    backend = run_and_return(pool, "SELECT 42")

    with pool.connection_context():
        handed_out = pool.connection().info.backend_pid

    assert handed_out == backend
    assert last_statement(observer, backend) == "SELECT 42"


def test_pool__connection_back_longer_than_the_window__is_pinged_first(pool, observer, monkeypatch):
    backend = run_and_return(pool, "SELECT 42")
    monkeypatch.setattr(PostgresqlPool, "PING_AFTER_IDLE_SECONDS", 0)

    with pool.connection_context():
        handed_out = pool.connection().info.backend_pid

    assert handed_out == backend
    assert last_statement(observer, backend) == "SELECT 1"


def test_pool__connection_dead_within_the_window__fails_once_then_is_replaced(pool, observer):
    backend = run_and_return(pool, "SELECT 42")
    observer.execute("SELECT pg_terminate_backend(%s)", (backend,))

    with pytest.raises(peewee.OperationalError), pool.connection_context():
        pool.execute_sql("SELECT 43")
    with pool.connection_context():
        answer = pool.execute_sql("SELECT 44").fetchone()
        replacement = pool.connection().info.backend_pid

    assert answer == (44,)
    assert replacement != backend


def test_pool__opened_for_commands__statements_have_no_timeout(pool):
    with pool.connection_context():
        assert pool.execute_sql("SHOW statement_timeout").fetchone() == ("0",)


def test_pool__serving__replaces_idle_connections_with_ones_whose_statements_time_out_after_1_s(pool):
    backend = run_and_return(pool, "SELECT 42")

    pool.bound_waits()

    with pool.connection_context():
        assert pool.execute_sql("SHOW statement_timeout").fetchone() == ("1s",)
        assert pool.connection().info.backend_pid != backend


def test_pool__serving_statement_waiting_on_a_lock__is_cancelled_by_the_server(pool, observer):
    pool.bound_waits()

    with observer.transaction():
        observer.execute("LOCK TABLE organisation IN ACCESS EXCLUSIVE MODE")
        with pytest.raises(peewee.OperationalError, match="canceling statement due to statement timeout"):
            run_and_return(pool, "SELECT count(*) FROM organisation")


def test_pool__serving_server_silent__query_gives_up_after_1_5_s_and_the_connection_is_dropped(
    relayed_pool, postgresql_relay
):
    backend = run_and_return(relayed_pool, "SELECT 42")
    postgresql_relay.pause()

    with pytest.raises(peewee.OperationalError, match=r"the database did not answer within 1\.5 s"):
        run_and_return(relayed_pool, "SELECT 43")
    postgresql_relay.resume()

    assert run_and_return(relayed_pool, "SELECT 44") != backend


def test_pool__on_the_event_loop_server_silent__query_gives_up_after_50_ms(relayed_pool, postgresql_relay):
    run_and_return(relayed_pool, "SELECT 42")
    postgresql_relay.pause()

    with pytest.raises(peewee.OperationalError, match=r"the database did not answer within 0\.05 s"), OnEventLoop():
        run_and_return(relayed_pool, "SELECT 43")


def test_pool__on_the_event_loop__hands_out_an_idle_connection_without_a_ping(pool, observer, monkeypatch):
    backend = run_and_return(pool, "SELECT 42")
    monkeypatch.setattr(PostgresqlPool, "PING_AFTER_IDLE_SECONDS", 0)

    with OnEventLoop(), pool.connection_context():
        handed_out = pool.connection().info.backend_pid

    assert handed_out == backend
    assert last_statement(observer, backend) == "SELECT 42"


def test_pool__on_the_event_loop_without_an_idle_connection__would_wait_rather_than_connect(pool):
    with pytest.raises(WouldWait), OnEventLoop():
        pool.connect()

    assert pool.is_closed()
    assert (pool._in_use, pool._connections) == ({}, [])


def test_pool__ping_unanswered__fails_the_check_out_and_leaves_the_other_connections_idle(
    relayed_pool, postgresql_relay, monkeypatch
):
    backends = hold_at_once(relayed_pool, 2)
    monkeypatch.setattr(PostgresqlPool, "PING_AFTER_IDLE_SECONDS", 0)
    postgresql_relay.pause()

    started = time.monotonic()
    with pytest.raises(peewee.OperationalError, match=r"the database did not answer within 1\.5 s"):
        relayed_pool.connect()
    failed_after = time.monotonic() - started
    postgresql_relay.resume()

    assert failed_after < 2 * 1.5  # one ping waited for, not one per idle connection
    with OnEventLoop(), relayed_pool.connection_context():
        assert relayed_pool.execute_sql("SELECT 45").fetchone() == (45,)
        assert relayed_pool.connection().info.backend_pid in backends


def test_pool__check_out_waiting_on_a_silent_server__holds_up_no_other_check_out(
    relayed_pool, postgresql_relay, monkeypatch
):
    run_and_return(relayed_pool, "SELECT 42")
    monkeypatch.setattr(PostgresqlPool, "PING_AFTER_IDLE_SECONDS", 0)
    postgresql_relay.pause()
    ping_outcome = []
    pinging = threading.Thread(target=lambda: ping_outcome.append(check_out(relayed_pool)))
    pinging.start()
    wait_for(lambda: relayed_pool._in_use, "the thread's check-out to take the idle connection")

    started = time.monotonic()
    with pytest.raises(WouldWait), OnEventLoop():
        relayed_pool.connect()
    answered_after = time.monotonic() - started
    pinging.join(timeout=10)

    assert answered_after < 0.1  # not behind the ping, which takes 1.5 s
    assert ping_outcome == ["OperationalError"]


def hold_at_once(pool, count: int) -> list[int]:
    """Checks `count` connections out at once (a thread each), then back in; returns their server processes."""
    together = threading.Barrier(count)
    backends = []

    def hold():
        with pool.connection_context():
            backends.append(pool.connection().info.backend_pid)
            together.wait(timeout=10)

    threads = [threading.Thread(target=hold) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    return backends


def check_out(pool) -> str:
    """ "connected", or the name of the error a check-out ended in."""
    try:
        pool.connect()
    except peewee.PeeweeException as error:
        return type(error).__name__
    pool.close()
    return "connected"


def wait_for(condition, what: str, deadline_seconds: float = 5) -> None:
    deadline = time.monotonic() + deadline_seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
