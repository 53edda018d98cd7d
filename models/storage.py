"""Opening the database named by a URL, binding the models to it, and migrating it."""

import contextlib
from contextvars import ContextVar
from pathlib import Path
from urllib.parse import urlparse

from peewee import Database, PostgresqlDatabase
from playhouse.db_url import parse
from playhouse.migrations import Runner
from playhouse.pool import PooledSqliteDatabase

from models.base import database

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Enough for Flask's 10 request threads plus the API-key lookups that run beside them.
POOL_SIZE = 32
# Any constant of ours: the key of the PostgreSQL advisory lock that serialises migrations.
MIGRATION_LOCK = 7_302_118_410


class DatabaseURLError(ValueError):
    pass


class WouldWait(Exception):
    """The event loop would have to wait on the database (to open a connection): the call belongs in a thread."""


# Set while the event loop itself waits on the database (web/fast_path.py): on PostgreSQL, it neither pings nor
# connects, and waits for an answer only briefly (models/postgresql.py).
waiting_on_event_loop: ContextVar[bool] = ContextVar("waiting_on_event_loop", default=False)


class OnEventLoop:
    """`with OnEventLoop():` the block is the event loop waiting on the database."""

    __slots__ = ("_token",)

    def __enter__(self) -> None:
        self._token = waiting_on_event_loop.set(True)

    def __exit__(self, *_exc) -> None:
        waiting_on_event_loop.reset(self._token)


def open_database(url: str) -> Database:
    scheme = urlparse(url).scheme
    if scheme == "sqlite":
        return _open_sqlite(url)
    # The same schemes as warehouse_connections.launch.POSTGRESQL_SCHEMES (which cannot import this module).
    if scheme in ("postgres", "postgresql"):
        return _open_postgresql(url)
    raise DatabaseURLError(f"DATABASE_URL must start with sqlite:/// or postgresql://, not {scheme or url!r}")


def _open_sqlite(url: str) -> Database:
    path = url.removeprefix("sqlite:///")
    if not path or path.startswith(":memory:") or path == url:
        # An in-memory database is one per connection, so requests would not see each other's data.
        raise DatabaseURLError(f"DATABASE_URL {url!r} must name a SQLite file, e.g. sqlite:///var/wc.sqlite3")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return PooledSqliteDatabase(
        path,
        pragmas={"journal_mode": "wal", "foreign_keys": 1, "synchronous": "normal", "busy_timeout": 10_000},
        # Writers take the lock when the transaction starts, so two writers wait instead of deadlocking.
        lock_type="IMMEDIATE",
        timeout=10,
        max_connections=POOL_SIZE,
        stale_timeout=300,
        check_same_thread=False,
    )


def _open_postgresql(url: str) -> Database:
    from models.postgresql import PostgresqlPool, ServingBounds  # imports psycopg, which SQLite never loads

    params = parse(url, unquote_password=True, unquote_user=True)
    name = params.pop("database")
    return PostgresqlPool(
        name,
        prefer_psycopg3=True,
        options="-c TimeZone=UTC",
        # A request waits at most 2 s on a server that is down, unreachable or silent, then answers 503
        # (README, "Database outage"). Connecting gives up after 2 s: libpq counts whole seconds, psycopg
        # waits at least 2.
        connect_timeout=2,
        # Data the server leaves unacknowledged for 1.5 s ends the connection; an idle one is probed after 5 s.
        tcp_user_timeout=1500,
        keepalives=1,
        keepalives_idle=5,
        keepalives_interval=1,
        keepalives_count=3,
        # Once serving, an answer awaited 1.5 s ends the wait, whatever the network says; the server cancels a
        # statement after 1 s (a single-row write takes milliseconds), so it gives up first and says why.
        serving_bounds=ServingBounds(answer_seconds=1.5, statement_timeout_ms=1000),
        max_connections=POOL_SIZE,
        stale_timeout=300,
        **params,
    )


def bound_waits() -> None:
    """Waits on the database are bounded from now on, for serving requests; commands before (migrations) were not."""
    bound = getattr(database.obj, "bound_waits", None)
    if bound is not None:  # PostgreSQL; SQLite is a local file
        bound()


def bind_database(url: str) -> Database:
    """Open the database and point every model at it."""
    opened = open_database(url)
    database.initialize(opened)
    return opened


def migrate() -> list[str]:
    """Apply pending migrations to the bound database; returns their names."""
    with database.connection_context(), _migration_lock():
        return _runner().up()


def pending_migrations() -> list[str]:
    with database.connection_context():
        return [m.name for m in _runner().status() if not m.applied]


def _runner() -> Runner:
    return Runner(database.obj, directory=str(MIGRATIONS_DIR))


@contextlib.contextmanager
def _migration_lock():
    """Replicas starting together on one PostgreSQL take turns; the later ones find nothing to do."""
    if not isinstance(database.obj, PostgresqlDatabase):
        yield
        return
    database.execute_sql("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
    try:
        yield
    finally:
        database.execute_sql("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
