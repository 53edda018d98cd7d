"""Snowflake: its config, its rules beyond the spec, and the setup script a customer runs."""

import os
import re
from typing import TYPE_CHECKING, NamedTuple

from warehouses import key_pair
from warehouses.base import InvalidConfig

if TYPE_CHECKING:
    from warehouse_connections.settings import Settings
    from warehouses.steps import StepResult

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
KEY_PAIR = True
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


def settle(config: dict, sent: dict, current: dict | None) -> dict:
    return config


def check_destination(config: dict, settings: "Settings") -> None:
    """Nothing to refuse: the host is Snowflake's, made from the account identifier (or the operator's endpoint)."""


def quoted(identifier: str) -> str:
    # Unquoted identifiers resolve upper-cased; quoting the upper-cased name names the same object and
    # stays valid for names that are reserved words.
    return f'"{identifier.upper()}"'


class ScriptLines(NamedTuple):
    """The setup script's lines that grant what the connection test checks: its hints name them."""

    set_public_key: str
    role_to_user: str
    warehouse_usage: str
    database_usage: str
    schema_privileges: str
    stage_privileges: str


def script_lines(config: dict[str, str], public_key: str) -> ScriptLines:
    warehouse, database, role, user = (quoted(config[field]) for field in ("warehouse", "database", "role", "user"))
    schema = f"{database}.{quoted(config['schema'])}"
    return ScriptLines(
        set_public_key=f"ALTER USER {user} SET RSA_PUBLIC_KEY = '{public_key}';",
        role_to_user=f"GRANT ROLE {role} TO USER {user};",
        warehouse_usage=f"GRANT USAGE ON WAREHOUSE {warehouse} TO ROLE {role};",
        database_usage=f"GRANT USAGE ON DATABASE {database} TO ROLE {role};",
        schema_privileges=f"GRANT USAGE, CREATE TABLE ON SCHEMA {schema} TO ROLE {role};",
        stage_privileges=f"GRANT READ, WRITE ON STAGE {stage_name(config)} TO ROLE {role};",
    )


def stage_name(config: dict[str, str]) -> str:
    return f"{quoted(config['database'])}.{quoted(config['schema'])}.{quoted(STAGE)}"


def setup_script(connection_id: str, config: dict[str, str], public_key: str) -> str:
    # Checked again here, where values become SQL: nothing unchecked can add a statement.
    validate(config)
    if not BASE64.fullmatch(public_key):
        raise ValueError("the public key must be base64")
    warehouse, database, role, user = (quoted(config[field]) for field in ("warehouse", "database", "role", "user"))
    schema = f"{database}.{quoted(config['schema'])}"
    lines = script_lines(config, public_key)
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
CREATE STAGE IF NOT EXISTS {stage_name(config)};

USE ROLE SECURITYADMIN;
CREATE ROLE IF NOT EXISTS {role};
GRANT ROLE {role} TO ROLE SYSADMIN;
{lines.warehouse_usage}
{lines.database_usage}
{lines.schema_privileges}
{lines.stage_privileges}
CREATE USER IF NOT EXISTS {user}
  TYPE = SERVICE DEFAULT_ROLE = {role} DEFAULT_WAREHOUSE = {warehouse} DEFAULT_NAMESPACE = {schema};
-- DESC USER {user}; then shows RSA_PUBLIC_KEY_FP = {key_pair.fingerprint(public_key)}
{lines.set_public_key}
{lines.role_to_user}
"""


def check_connection(
    connection_id: str, config: dict[str, str], public_key: str, private_key_der: bytes, settings: "Settings"
) -> list["StepResult"]:
    """The connection test's steps (warehouses/snowflake/checks.py), each bounded by the login timeout."""
    from warehouses.snowflake import checks  # the connector's Rust core takes a while to load: on first use

    return checks.run(connection_id, config, public_key, private_key_der, settings)
