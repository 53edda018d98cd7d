"""Snowflake: its config, its rules beyond the spec, and the setup script a customer runs."""

import re

from warehouses.base import InvalidConfig

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
