"""Opening the database named by a URL, binding the models to it, and migrating it."""

import contextlib
import time
from pathlib import Path
from urllib.parse import urlparse

from peewee import Database, PostgresqlDatabase
from playhouse.db_url import parse
from playhouse.migrations import Runner
from playhouse.pool import PooledPostgresqlDatabase, PooledSqliteDatabase

from models.base import database

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Enough for Flask's 10 request threads plus the API-key lookups that run beside them.
POOL_SIZE = 32
# Any constant of ours: the key of the PostgreSQL advisory lock that serialises migrations.
MIGRATION_LOCK = 7_302_118_410


class DatabaseURLError(ValueError):
    pass


class PostgresqlPool(PooledPostgresqlDatabase):
    """peewee's PostgreSQL pool, without a round trip to the server on every check-out.

    peewee pings each connection it hands out ("SELECT 1"), doubling the round trips of a request that
    runs one query. As HikariCP does (its aliveBypassWindowMs), a connection that came back to the pool
    less than half a second ago is handed out unpinged. If it died in that window, its query fails: the
    request gets the 503 of any database error and the pool drops the connection when it comes back.
    """

    PING_AFTER_IDLE_SECONDS = 0.5

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._returned_at: dict[int, float] = {}  # by conn_key; the pool's lock guards both methods

    def _can_reuse(self, conn) -> bool:
        reusable = super()._can_reuse(conn)
        if reusable:
            self._returned_at[self.conn_key(conn)] = time.monotonic()
        return reusable

    def _is_closed(self, conn) -> bool:
        returned_at = self._returned_at.pop(self.conn_key(conn), None)
        if returned_at is not None and time.monotonic() - returned_at < self.PING_AFTER_IDLE_SECONDS:
            return conn.closed
        return super()._is_closed(conn)


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
    params = parse(url, unquote_password=True, unquote_user=True)
    name = params.pop("database")
    return PostgresqlPool(
        name,
        prefer_psycopg3=True,
        options="-c TimeZone=UTC",
        # Bounded waits when the server is unreachable (seconds): an outage answers 503, not a hang.
        connect_timeout=5,
        max_connections=POOL_SIZE,
        stale_timeout=300,
        **params,
    )


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
