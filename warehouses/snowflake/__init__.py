"""Snowflake: its config, its rules beyond the spec, and the setup script a customer runs."""

import contextlib
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from warehouses.base import InvalidConfig

if TYPE_CHECKING:
    from snowflake.connector import SnowflakeConnection

    from warehouse_connections.settings import Settings

# Connector 5.x probes cloud metadata endpoints on every connect to report its platform: time a test
# does not have, and traffic that should not leave for anywhere but the account.
os.environ.setdefault("SNOWFLAKE_DISABLE_PLATFORM_DETECTION", "true")

NAME = "snowflake"
DEFAULTS: dict[str, str | None] = {
    "account_identifier": None,
    "warehouse": "COMPUTE_WH",
    "database": "FLAGSMITH",
    "schema": "ANALYTICS",
    "role": "FLAGSMITH_LOADER",
    "user": "FLAGSMITH_SERVICE",
}
IMMUTABLE_FIELDS = frozenset({"account_identifier"})
SENSITIVE_FIELDS: frozenset[str] = frozenset()
OBJECT_FIELDS = ("warehouse", "database", "schema", "role", "user")
# The internal stage deliveries write to; the connection test lists it.
STAGE = "FLAGSMITH_STAGE"

# fullmatch, not the spec's ^…$: in Python `$` also matches before a trailing newline.
ACCOUNT_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*")
UNQUOTED_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]{0,254}")
BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")


def validate(config: dict[str, str]) -> None:
    account = config["account_identifier"]
    if len(account) > 255 or not ACCOUNT_IDENTIFIER.fullmatch(account):
        raise InvalidConfig(
            "account_identifier",
            "must be a Snowflake account identifier (orgname-account_name or locator.region[.cloud])",
        )
    if account.lower().endswith(".snowflakecomputing.com"):
        raise InvalidConfig("account_identifier", "must be the account identifier, not a host name")
    for field in OBJECT_FIELDS:
        if not UNQUOTED_IDENTIFIER.fullmatch(config[field]):
            raise InvalidConfig(field, "must be a valid unquoted Snowflake identifier")


def quoted(identifier: str) -> str:
    # Unquoted identifiers resolve upper-cased; quoting the upper-cased name names the same object and
    # stays valid for names that are reserved words.
    return f'"{identifier.upper()}"'


def setup_script(connection_id: str, config: dict[str, str], public_key: str) -> str:
    # Checked again here, where values become SQL: nothing unchecked can add a statement.
    validate(config)
    if not BASE64.fullmatch(public_key):
        raise ValueError("the public key must be base64")
    warehouse, database, role, user = (quoted(config[field]) for field in ("warehouse", "database", "role", "user"))
    schema = f"{database}.{quoted(config['schema'])}"
    stage = f"{schema}.{quoted(STAGE)}"
    return f"""\
-- Flagsmith Analytics: setup for warehouse connection {connection_id}
-- Snowflake account {config["account_identifier"]}.
-- Run as a user who holds SYSADMIN and SECURITYADMIN (or ACCOUNTADMIN). Safe to run again:
-- objects are created only if missing and the user's public key is set anew.

USE ROLE SYSADMIN;
CREATE WAREHOUSE IF NOT EXISTS {warehouse}
  WAREHOUSE_SIZE = 'XSMALL' AUTO_SUSPEND = 60 AUTO_RESUME = TRUE INITIALLY_SUSPENDED = TRUE;
CREATE DATABASE IF NOT EXISTS {database};
CREATE SCHEMA IF NOT EXISTS {schema};
CREATE STAGE IF NOT EXISTS {stage};

USE ROLE SECURITYADMIN;
CREATE ROLE IF NOT EXISTS {role};
GRANT ROLE {role} TO ROLE SYSADMIN;
GRANT USAGE ON WAREHOUSE {warehouse} TO ROLE {role};
GRANT USAGE ON DATABASE {database} TO ROLE {role};
GRANT USAGE, CREATE TABLE ON SCHEMA {schema} TO ROLE {role};
GRANT READ, WRITE ON STAGE {stage} TO ROLE {role};
CREATE USER IF NOT EXISTS {user}
  TYPE = SERVICE DEFAULT_ROLE = {role} DEFAULT_WAREHOUSE = {warehouse} DEFAULT_NAMESPACE = {schema};
ALTER USER {user} SET RSA_PUBLIC_KEY = '{public_key}';
GRANT ROLE {role} TO USER {user};
"""


@dataclass
class _TestSession:
    """What the steps of a connection test share."""

    config: dict[str, str]
    private_key_der: bytes
    settings: "Settings"
    connection: "SnowflakeConnection | None" = None


def _log_in(session: _TestSession) -> None:
    import snowflake.connector  # imported on first use: the Rust core takes a while to load

    session.connection = snowflake.connector.connect(**connect_arguments(session))


def _select_one(session: _TestSession) -> None:
    session.connection.cursor().execute("SELECT 1").fetchall()


def _list_stage(session: _TestSession) -> None:
    database, schema = quoted(session.config["database"]), quoted(session.config["schema"])
    session.connection.cursor().execute(f"LIST @{database}.{schema}.{quoted(STAGE)}").fetchall()


# A connection test: these steps in order, the first error wins.
TEST_STEPS = (_log_in, _select_one, _list_stage)


def check_connection(config: dict[str, str], private_key_der: bytes, settings: "Settings") -> str | None:
    """Run the test steps; None if they all pass, else the first error as the connector words it."""
    from snowflake.connector.errors import Error

    validate(config)
    session = _TestSession(config, private_key_der, settings)
    try:
        for step in TEST_STEPS:
            step(session)
        return None
    except Error as error:
        return str(error)
    except Exception as error:  # noqa: BLE001 (any failure is the test's result, not a 500)
        return f"{step.__name__.strip('_').replace('_', ' ')} failed: {type(error).__name__}: {error}"
    finally:
        if session.connection is not None:
            _close_quietly(session.connection)


def _close_quietly(connection: "SnowflakeConnection") -> None:
    # The test's outcome is already decided; a failing logout must not change it.
    with contextlib.suppress(Exception):
        connection.close()


def connect_arguments(session: _TestSession) -> dict:
    config, timeout = session.config, session.settings.snowflake_login_timeout
    arguments = {
        "account": config["account_identifier"],
        "user": config["user"],
        "role": config["role"],
        "warehouse": config["warehouse"],
        "database": config["database"],
        "schema": config["schema"],
        "authenticator": "SNOWFLAKE_JWT",
        "private_key": session.private_key_der,
        # Bounded time: the login (retries included), each query, each request and the logout.
        "login_timeout": timeout,
        "query_timeout": timeout,
        "request_timeout": timeout,
        "connect_timeout": timeout,
        # A server has no OS credential store to fill, and keep-alive detection only warns.
        "client_store_temporary_credential": False,
        "enable_server_session_keep_alive_auto_detection": False,
    }
    if session.settings.snowflake_endpoint:
        endpoint = urlsplit(session.settings.snowflake_endpoint)
        default_port = {"http": 80, "https": 443}[endpoint.scheme]
        arguments.update(host=endpoint.hostname, port=endpoint.port or default_port, protocol=endpoint.scheme)
    return arguments
