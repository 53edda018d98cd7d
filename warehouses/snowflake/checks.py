"""The Snowflake connection test: reach the host, log in, then prove each privilege a delivery uses.

Plain SQL through the connector's cursor. Failures are mapped by errno (warehouses/snowflake/diagnosis.py),
never by message text, which changes between connector versions.
"""

import contextlib
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import snowflake.connector
from snowflake.connector.errors import Error

from warehouses import key_pair, reach
from warehouses.key_pair import UserKey
from warehouses.snowflake import STAGE, quoted, script_lines, stage_name
from warehouses.snowflake.diagnosis import Diagnosis, failure_of, key_in_other_slot, missing_object
from warehouses.steps import Step, StepFailed, StepResult, run_steps

if TYPE_CHECKING:
    from snowflake.connector import SnowflakeConnection

    from warehouse_connections.settings import Settings

# Every session is tagged so the customer can find (and cost) our queries in QUERY_HISTORY.
QUERY_TAG_PREFIX = "flagsmith-warehouse-connections:"
# Where the write check unloads its one-row file; each test adds a random folder of its own.
STAGE_PREFIX = "flagsmith_connection_test"


@dataclass
class Session:
    """What the steps of one test share."""

    connection_id: str
    config: dict[str, str]
    private_key_der: bytes
    settings: "Settings"
    diagnosis: Diagnosis
    connection: "SnowflakeConnection | None" = None
    # This test's own name for its file and table, so that concurrent tests never touch each other's.
    token: str = field(default_factory=lambda: secrets.token_hex(8))

    def execute(self, sql: str) -> list[tuple]:
        # Each cursor closed at once: a result left to the garbage collector is released by the connector's native
        # core from whichever thread collects it, possibly after its connection has closed.
        with self.connection.cursor() as cursor:
            return cursor.execute(sql).fetchall()


def run(
    steps: "tuple[Step, ...]",
    connection_id: str,
    config: dict[str, str],
    key: UserKey,
    private_key_der: bytes,
    settings: "Settings",
    script: str = "setup script",
) -> list[StepResult]:
    """The `steps` (STEPS, or LOGIN_STEPS) with this key; the hints name the `script` that gives the user the key."""
    diagnosis = Diagnosis(config, script_lines(config, key), key, script)
    session = Session(connection_id, config, private_key_der, settings, diagnosis)
    try:
        return run_steps(steps, session)
    finally:
        if session.connection is not None:
            # The outcome is decided; a failing logout must not change it.
            with contextlib.suppress(Exception):
                session.connection.close()


def _reach_host(session: Session) -> None:
    host, port, protocol = endpoint(session)
    reach.check_reach(
        host, port, protocol == "https", session.settings.snowflake_login_timeout, named_by="the account identifier"
    )


def _log_in(session: Session) -> None:
    with _diagnosed(session, "log_in"):
        session.connection = snowflake.connector.connect(**connect_arguments(session))


def _use_warehouse(session: Session) -> None:
    with _diagnosed(session, "use_warehouse"):
        # Snowflake logs in even when the warehouse, database or schema cannot be used; the session then has
        # none of them (the connector still reports the names it asked for).
        [(warehouse, database, schema)] = session.execute(
            "SELECT CURRENT_WAREHOUSE(), CURRENT_DATABASE(), CURRENT_SCHEMA()"
        )
    for kind, current in (("warehouse", warehouse), ("database", database), ("schema", schema)):
        if current is None:
            raise missing_object(session.diagnosis, kind)


def _read_stage(session: Session) -> None:
    with _diagnosed(session, "read_stage"):
        session.execute(f"LIST @{stage_name(session.config)}")


def _write_stage(session: Session) -> None:
    location = f"@{stage_name(session.config)}/{STAGE_PREFIX}/{session.token}/"
    try:
        with _diagnosed(session, "write_stage"):
            session.execute(f"COPY INTO {location} FROM (SELECT 1 AS FLAGSMITH_CONNECTION_TEST)")
            session.execute(f"REMOVE {location}")
    except StepFailed:
        # Whatever the unload left behind goes, even when it failed half-way; that error is the step's.
        with contextlib.suppress(Error):
            session.execute(f"REMOVE {location}")
        raise


def _create_table(session: Session) -> None:
    config = session.config
    table = f"{quoted(config['database'])}.{quoted(config['schema'])}.{quoted('FLAGSMITH_TEST_' + session.token)}"
    with _diagnosed(session, "create_table"):
        session.execute(f"CREATE TEMPORARY TABLE {table} (PROBE INTEGER)")
        try:
            session.execute(f"INSERT INTO {table} (PROBE) VALUES (1)")
        finally:
            session.execute(f"DROP TABLE IF EXISTS {table}")


def _check_key_slot(session: Session) -> None:
    """The key that logged in is in the property it should be: Snowflake accepts a key from either."""
    key = session.diagnosis.key
    with _diagnosed(session, "check_key_slot"):
        rows = session.execute(f"DESC USER {quoted(session.config['user'])}")
    shown = {row[0]: row[1] for row in rows}.get(f"{key.slot}_FP")
    if shown != key_pair.fingerprint(key.public_key):
        raise key_in_other_slot(session.diagnosis, shown or "null")


@contextlib.contextmanager
def _diagnosed(session: Session, step: str):
    """A connector error inside the block fails the step with the code and hint its errno calls for."""
    try:
        yield
    except Error as error:
        raise failure_of(session.diagnosis, step, error) from None


STEPS = (
    Step("reach_host", _reach_host),
    Step("log_in", _log_in),
    Step("use_warehouse", _use_warehouse),
    Step("read_stage", _read_stage),
    Step("write_stage", _write_stage),
    Step("create_table", _create_table),
)
# Whether the warehouse accepts a key, from the user property it should be in: a rotation's check.
LOGIN_STEPS = (*STEPS[:2], Step("check_key_slot", _check_key_slot))


def endpoint(session: Session) -> tuple[str, int, str]:
    """(host, port, protocol) the connector talks to: the account's own, or WC_SNOWFLAKE_ENDPOINT."""
    if session.settings.snowflake_endpoint:
        url = urlsplit(session.settings.snowflake_endpoint)
        return url.hostname, url.port or {"http": 80, "https": 443}[url.scheme], url.scheme
    return f"{session.config['account_identifier']}.snowflakecomputing.com", 443, "https"


def connect_arguments(session: Session) -> dict:
    config, timeout = session.config, session.settings.snowflake_login_timeout
    host, port, protocol = endpoint(session)
    return {
        "account": config["account_identifier"],
        "user": config["user"],
        "role": config["role"],
        "warehouse": config["warehouse"],
        "database": config["database"],
        "schema": config["schema"],
        "authenticator": "SNOWFLAKE_JWT",
        "private_key": session.private_key_der,
        "host": host,
        "port": port,
        "protocol": protocol,
        "session_parameters": {"QUERY_TAG": QUERY_TAG_PREFIX + session.connection_id},
        # Bounded time: the login (retries included), each query, each request and the logout.
        "login_timeout": timeout,
        "query_timeout": timeout,
        "request_timeout": timeout,
        "connect_timeout": timeout,
        # A server has no OS credential store to fill, and keep-alive detection only warns.
        "client_store_temporary_credential": False,
        "enable_server_session_keep_alive_auto_detection": False,
        # `run` closes every connection itself. Left on, the connector's finalizer checks it through a wrapper that
        # sets a ContextVar; run by a garbage collection that started inside another ContextVar.set on the same
        # thread, that frees the context's mapping in use and the process segfaults (CPython 3.10 and 3.11,
        # python/cpython#148891; seen in the test suite).
        "auto_cleanup": False,
    }


__all__ = ["LOGIN_STEPS", "STAGE", "STEPS", "connect_arguments", "endpoint", "run"]
