"""PostgreSQL: peewee's pool, waiting on the server only for bounded times and never behind another's wait.

libpq's settings (models/storage.py) bound connecting and notice a peer that is gone, but nothing in libpq bounds
the wait for an answer on a connection that stays open while the server is silent (a partition behind a proxy,
a hung server): here each wait for an answer has a deadline of its own. Loaded only for PostgreSQL (psycopg).
"""

import heapq
import time
from dataclasses import dataclass

import psycopg
from peewee import OperationalError, PostgresqlDatabase, Psycopg3Adapter, __exception_wrapper__
from playhouse.pool import MaxConnectionsExceeded, PoolConnection, PooledPostgresqlDatabase
from psycopg.errors import _WaitTimeout  # what Connection.wait raises when the timeout it was given expires
from psycopg.pq import TransactionStatus

from models.storage import WouldWait, waiting_on_event_loop

# The event loop's wait for an answer (web/fast_path.py): an indexed read answers within a millisecond or two,
# and one that takes longer is run again in a thread, where a slow server is waited for.
EVENT_LOOP_ANSWER_SECONDS = 0.05


@dataclass(frozen=True)
class ServingBounds:
    """How long a request's thread waits on the server, once the app serves (commands wait as long as needed)."""

    answer_seconds: float
    # The server's own bound on a statement: below answer_seconds, so that it gives up first and says why.
    statement_timeout_ms: int


class NoAnswer(psycopg.OperationalError):
    """The server did not answer within the wait's bound."""


class BoundedConnection(psycopg.Connection):
    """A connection whose every wait for an answer ends: quickly on the event loop, else within answer_seconds."""

    answer_seconds: float | None = None  # None: as long as it takes (commands, migrations)

    def wait(self, gen, *args, timeout=None, **kwargs):
        if timeout is None:
            timeout = EVENT_LOOP_ANSWER_SECONDS if waiting_on_event_loop.get() else self.answer_seconds
        try:
            return super().wait(gen, *args, timeout=timeout, **kwargs)
        except _WaitTimeout:
            # Mid-exchange with the server, the connection cannot be used again.
            self.close()
            raise NoAnswer(f"the database did not answer within {timeout} s") from None


class BoundedAdapter(Psycopg3Adapter):
    def connect(self, db, **params):
        bounds = db.serving_bounds
        if bounds is not None:
            params["options"] = f"{params.get('options', '')} -c statement_timeout={bounds.statement_timeout_ms}"
        connection = BoundedConnection.connect(dbname=db.database, **params)
        connection.answer_seconds = bounds.answer_seconds if bounds is not None else None
        return connection


class PostgresqlPool(PooledPostgresqlDatabase):
    """peewee's PostgreSQL pool, without a round trip on every check-out, and waiting outside its locks.

    peewee pings each connection it hands out ("SELECT 1"), doubling the round trips of a request that runs one
    query. As HikariCP does (its aliveBypassWindowMs), a connection that came back to the pool less than half a
    second ago is handed out unpinged. If it died in that window, its query fails: the request gets the 503 of
    any database error and the pool drops the connection when it comes back.

    peewee also pings and connects holding the locks every check-out takes, so one request waiting on a silent
    server would hold up all the others, the event loop's included; here the locks guard only the bookkeeping.
    The event loop neither pings nor connects: it takes an idle connection, or none (WouldWait).
    """

    PING_AFTER_IDLE_SECONDS = 0.5
    psycopg3_adapter = BoundedAdapter

    def __init__(self, *args, serving_bounds: ServingBounds, **kwargs):
        self._bounds_when_serving = serving_bounds
        self.serving_bounds: ServingBounds | None = None  # until bound_waits()
        # By conn_key; the pool's lock guards both, and the connections peewee keeps.
        self._returned_at: dict[int, float] = {}
        self._opening = 0
        super().__init__(*args, **kwargs)

    def bound_waits(self) -> None:
        """Connections opened from now on serve requests: their waits on the server are bounded."""
        if self.serving_bounds is None:
            self.serving_bounds = self._bounds_when_serving
            self.close_idle()  # opened for what ran before (migrations), unbounded

    def connect(self, reuse_if_open=False):
        # peewee's Database.connect, less the process-wide lock it holds while it checks out: the state that
        # lock guards is the thread's own, and server_version is the same whichever thread sets it.
        if not self._state.closed:
            if reuse_if_open:
                return False
            raise OperationalError("Connection already opened.")
        with __exception_wrapper__:
            connection = self._connect()
        self._state.set_connection(connection)
        if self.server_version is None:
            self._set_server_version(connection)
        return True

    def _connect(self):
        """Check a connection out: an idle one fit for use, else a new one (never on the event loop)."""
        while (idle := self._take_idle()) is not None:
            connection, returned_at = idle
            fit = False
            try:
                fit = self._is_fit(connection, returned_at)
            finally:
                if not fit:
                    self._close(connection, close_conn=True)  # dropped, unfit or not answering
            if fit:
                return connection
        if waiting_on_event_loop.get():
            raise WouldWait("no idle database connection")
        return self._open()

    def _take_idle(self) -> tuple[psycopg.Connection, float] | None:
        with self._pool_lock:
            while self._connections:
                created, _, connection = heapq.heappop(self._connections)
                key = self.conn_key(connection)
                returned_at = self._returned_at.pop(key, 0.0)
                if self._stale_timeout and self._is_stale(created):
                    self._close_raw(connection)
                    continue
                self._in_use[key] = PoolConnection(created, connection, time.time())
                return connection, returned_at
        return None

    def _is_fit(self, connection, returned_at: float) -> bool:
        """Whether an idle connection may be handed out; a ping the server leaves unanswered fails the check-out."""
        if connection.closed or connection.pgconn.transaction_status != TransactionStatus.IDLE:
            return False
        if waiting_on_event_loop.get() or time.monotonic() - returned_at < self.PING_AFTER_IDLE_SECONDS:
            return True
        try:
            connection.execute("SELECT 1")
        except NoAnswer:
            raise  # the server is silent: pinging the rest of the pool would only wait longer
        except psycopg.Error:
            return False
        return True

    def _open(self) -> psycopg.Connection:
        with self._pool_lock:
            if self._max_connections and len(self._in_use) + self._opening >= self._max_connections:
                raise MaxConnectionsExceeded("Exceeded maximum connections.")
            self._opening += 1
        connection = None
        try:
            connection = PostgresqlDatabase._connect(self)  # outside the lock; connect_timeout bounds it
        finally:
            with self._pool_lock:
                self._opening -= 1
                if connection is not None:
                    now = time.time()
                    self._in_use[self.conn_key(connection)] = PoolConnection(now, connection, now)
        return connection

    def _can_reuse(self, connection) -> bool:
        # Back mid-transaction (peewee's atomic() has rolled back already; this is for the unforeseen), it is
        # closed rather than rolled back: a rollback would wait on the server under the pool's lock.
        if connection.closed or connection.pgconn.transaction_status != TransactionStatus.IDLE:
            return False
        self._returned_at[self.conn_key(connection)] = time.monotonic()
        return True
