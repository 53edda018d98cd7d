"""Opening the database named by a URL, binding the models to it, and migrating it."""

import contextlib
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


def open_database(url: str) -> Database:
    scheme = urlparse(url).scheme
    if scheme == "sqlite":
        return _open_sqlite(url)
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
    return PooledPostgresqlDatabase(
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
