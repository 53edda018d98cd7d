"""The PostgreSQL pool: no round trip on check-out for a connection that came back moments ago."""

import peewee
import psycopg
import pytest

from models.storage import PostgresqlPool, open_database


@pytest.fixture
def pool(settings):
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("the PostgreSQL pool: PostgreSQL only (WC_TEST_DATABASE_URL)")
    pool = open_database(settings.database_url)
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
