"""The PostgreSQL connection test: check where the host points, reach it, log in, then prove what a delivery uses.

Every step after `check_host` uses the address that step checked: the socket is ours, opened to that address,
and the driver logs in over it, so a DNS answer that changes in between cannot send us elsewhere.
"""

import contextlib
import secrets
import socket
import ssl
import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pg8000.native
from pg8000.exceptions import DatabaseError, InterfaceError

from warehouses import host_guard, reach
from warehouses.postgresql import host_name, quoted, refused_because, script_lines
from warehouses.postgresql.diagnosis import Diagnosis, failure_of, missing_schema
from warehouses.steps import Step, StepFailed, StepResult, run_steps

if TYPE_CHECKING:
    from warehouse_connections.settings import Settings

# Every session is named so the customer can find ours in pg_stat_activity.
APPLICATION_NAME_PREFIX = "flagsmith-warehouse-connections:"
# The PostgreSQL protocol's request to switch to TLS (Int32 length 8, Int32 code 80877103).
SSL_REQUEST = struct.pack("!ii", 8, 80877103)


@dataclass
class Session:
    """What the steps of one test share."""

    connection_id: str
    config: dict
    settings: "Settings"
    diagnosis: Diagnosis
    address: str | None = None
    sock: socket.socket | None = None
    connection: pg8000.native.Connection | None = None
    # This test's own table name, so that concurrent tests never touch each other's.
    token: str = field(default_factory=lambda: secrets.token_hex(8))

    @property
    def timeout(self) -> int:
        return self.settings.snowflake_login_timeout


def run(connection_id: str, config: dict, settings: "Settings") -> list[StepResult]:
    session = Session(connection_id, config, settings, Diagnosis(config, script_lines(config)))
    try:
        return run_steps(STEPS, session)
    finally:
        # The outcome is decided; a failing goodbye must not change it.
        with contextlib.suppress(Exception):
            if session.connection is not None:
                session.connection.close()
            elif session.sock is not None:
                session.sock.close()


def _check_host(session: Session) -> None:
    config = session.config
    try:
        checked = host_guard.check_host(
            host_name(config), config["port"], session.timeout, session.settings.allow_private_hosts
        )
    except host_guard.HostNotAllowed as refused:
        raise StepFailed(
            "host_not_allowed",
            f"{config['host']} {refused_because(refused)}, which warehouse connections may not reach.",
            "The service connects to public addresses only. Give the connection the server's public name or "
            "address; for a warehouse inside your operator's own network, the operator can allow private networks.",
        ) from None
    except host_guard.HostNotFound as error:
        raise StepFailed(
            "host_not_found",
            f"The host name {config['host']} does not resolve ({error.reason}).",
            f"{config['host']} is not a known host name: check the connection's host.",
        ) from None
    except host_guard.ResolverTimeout:
        raise reach.timeout_failure(config["host"], "resolving the name", session.timeout) from None
    if config["sslmode"] == "disable" and not checked.all_private:
        raise StepFailed(
            "host_not_allowed",
            f"{config['host']} has a public address, and the connection's sslmode is disable.",
            "Without TLS the password would cross the internet in the clear: use sslmode require, verify-ca or "
            "verify-full (PATCH the connection's sslmode).",
        )
    session.address = str(checked.addresses[0])


def _reach_host(session: Session) -> None:
    config = session.config
    session.sock = reach.open_connection(
        host_name(config), session.address, config["port"], session.timeout, named_by="the connection's host"
    )
    if config["sslmode"] != "disable":
        session.sock = _start_tls(session)


def _start_tls(session: Session) -> ssl.SSLSocket:
    config, where = session.config, f"{session.config['host']}:{session.config['port']}"
    try:
        session.sock.sendall(SSL_REQUEST)
        answer = session.sock.recv(1)
    except TimeoutError:
        raise reach.timeout_failure(where, "asking for TLS", session.timeout) from None
    except OSError as error:
        raise reach.network_failure(where, error) from None
    if answer != b"S":
        raise StepFailed(
            "tls_failed",
            f"{where} does not offer TLS (it answered the TLS request with {answer!r}).",
            f"The server does not accept TLS connections, which sslmode {config['sslmode']} needs. Turn on ssl in "
            "its postgresql.conf, or check that host and port are the server's.",
        )
    return reach.wrap_tls(
        session.sock, _tls_context(session), host_name(config), config["port"], named_by="the connection's host"
    )


def _tls_context(session: Session) -> ssl.SSLContext:
    """As libpq's sslmode: require encrypts only; verify-ca checks the issuer; verify-full also the host's name."""
    sslmode = session.config["sslmode"]
    context = ssl.create_default_context(cafile=session.settings.postgresql_ca_file)
    context.check_hostname = sslmode == "verify-full"
    if sslmode == "require":
        context.verify_mode = ssl.CERT_NONE
    return context


def _log_in(session: Session) -> None:
    config = session.config
    with _diagnosed(session, "log_in"):
        session.connection = pg8000.native.Connection(
            config["user"],
            database=config["database"],
            password=config["password"],
            application_name=APPLICATION_NAME_PREFIX + session.connection_id,
            startup_params={"statement_timeout": str(session.timeout * 1000)},
            # Our socket, to the checked address, TLS already as sslmode says.
            sock=session.sock,
            ssl_context=False,
        )


def _run_query(session: Session) -> None:
    with _diagnosed(session, "run_query"):
        session.connection.run("SELECT 1")


def _schema_privileges(session: Session) -> None:
    with _diagnosed(session, "schema_privileges"):
        [[usage, create]] = session.connection.run(
            "SELECT has_schema_privilege(:schema, 'USAGE'), has_schema_privilege(:schema, 'CREATE')",
            schema=session.config["schema"],
        )
    if not usage:
        raise missing_schema(session.diagnosis, f"{session.config['user']} has no USAGE on the schema.")
    if not create:
        raise failure_of(
            session.diagnosis,
            "create_table",
            {"S": "ERROR", "C": "42501", "M": f"{session.config['user']} has no CREATE on the schema."},
        )


def _create_table(session: Session) -> None:
    table = f"{quoted(session.config['schema'])}.{quoted('flagsmith_test_' + session.token)}"
    with _diagnosed(session, "create_table"):
        # Inside a transaction that is always rolled back: PostgreSQL's DDL is transactional, so nothing stays.
        session.connection.run("BEGIN")
        try:
            session.connection.run(f"CREATE TABLE {table} (probe integer)")
            session.connection.run(f"INSERT INTO {table} (probe) VALUES (1)")
        finally:
            session.connection.run("ROLLBACK")


@contextlib.contextmanager
def _diagnosed(session: Session, step: str):
    """A driver error inside the block fails the step with the code and hint its SQLSTATE calls for."""
    where = f"{session.config['host']}:{session.config['port']}"
    try:
        yield
    except DatabaseError as error:
        fields = error.args[0] if error.args and isinstance(error.args[0], dict) else {"M": str(error)}
        raise failure_of(session.diagnosis, step, fields) from None
    except InterfaceError as error:
        cause = error.__cause__
        if isinstance(cause, TimeoutError):
            raise reach.timeout_failure(where, f"the {step} step", session.timeout) from None
        if isinstance(cause, OSError):
            raise reach.network_failure(where, cause) from None
        raise StepFailed("unexpected", str(error), "The server answered in a way the test does not know.") from None


STEPS = (
    Step("check_host", _check_host),
    Step("reach_host", _reach_host),
    Step("log_in", _log_in),
    Step("run_query", _run_query),
    Step("schema_privileges", _schema_privileges),
    Step("create_table", _create_table),
)
