"""Snowflake: its config, its rules beyond the spec, and the setup script a customer runs."""

import os
import re
from typing import TYPE_CHECKING, NamedTuple

from warehouses import key_pair
from warehouses.base import InvalidConfig
from warehouses.key_pair import UserKey

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
# A Snowflake user holds up to two public keys: a new key goes into the property the current one is not in.
KEY_SLOTS = ("RSA_PUBLIC_KEY", "RSA_PUBLIC_KEY_2")
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


def script_lines(config: dict[str, str], key: UserKey) -> ScriptLines:
    warehouse, database, role, user = (quoted(config[field]) for field in ("warehouse", "database", "role", "user"))
    schema = f"{database}.{quoted(config['schema'])}"
    return ScriptLines(
        set_public_key=set_key_line(config, key),
        role_to_user=f"GRANT ROLE {role} TO USER {user};",
        warehouse_usage=f"GRANT USAGE ON WAREHOUSE {warehouse} TO ROLE {role};",
        database_usage=f"GRANT USAGE ON DATABASE {database} TO ROLE {role};",
        schema_privileges=f"GRANT USAGE, CREATE TABLE ON SCHEMA {schema} TO ROLE {role};",
        stage_privileges=f"GRANT READ, WRITE ON STAGE {stage_name(config)} TO ROLE {role};",
    )


def stage_name(config: dict[str, str]) -> str:
    return f"{quoted(config['database'])}.{quoted(config['schema'])}.{quoted(STAGE)}"


def set_key_line(config: dict[str, str], key: UserKey) -> str:
    # Checked again here, where values become SQL: nothing unchecked can add a statement.
    validate(config)
    if not BASE64.fullmatch(key.public_key):
        raise ValueError("the public key must be base64")
    return f"ALTER USER {quoted(config['user'])} SET {checked_slot(key)} = '{key.public_key}';"


def checked_slot(key: UserKey) -> str:
    if key.slot not in KEY_SLOTS:
        raise ValueError(f"a Snowflake user keeps public keys in {' and '.join(KEY_SLOTS)}, not {key.slot!r}")
    return key.slot


def fingerprint_comment(config: dict[str, str], key: UserKey) -> str:
    return f"-- DESC USER {quoted(config['user'])}; then shows {key.slot}_FP = {key_pair.fingerprint(key.public_key)}"


def setup_script(connection_id: str, config: dict[str, str], key: UserKey) -> str:
    lines = script_lines(config, key)
    warehouse, database, role, user = (quoted(config[field]) for field in ("warehouse", "database", "role", "user"))
    schema = f"{database}.{quoted(config['schema'])}"
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
{fingerprint_comment(config, key)}
{lines.set_public_key}
{lines.role_to_user}
"""


def rotation_script(connection_id: str, config: dict[str, str], new_key: UserKey) -> str:
    return f"""\
-- Flagsmith Analytics: a new key for warehouse connection {connection_id}
-- Gives the user {quoted(config["user"])} the new public key in {new_key.slot}, beside the key it holds now, which
-- keeps working. Run as a user who holds SECURITYADMIN (or ACCOUNTADMIN), then complete the rotation: the service
-- checks that the new key logs in and from then on uses it alone. Safe to run again.

USE ROLE SECURITYADMIN;
{fingerprint_comment(config, new_key)}
{set_key_line(config, new_key)}
"""


def cleanup_script(connection_id: str, config: dict[str, str], old_key: UserKey) -> str:
    validate(config)
    return f"""\
-- Flagsmith Analytics: the old key of warehouse connection {connection_id}
-- The service logs in with the new key now; this takes the old one ({key_pair.fingerprint(old_key.public_key)})
-- from the user, so that it no longer logs in anywhere. Run as a user who holds SECURITYADMIN (or ACCOUNTADMIN).

USE ROLE SECURITYADMIN;
ALTER USER {quoted(config["user"])} UNSET {checked_slot(old_key)};
"""


def check_connection(
    connection_id: str, config: dict[str, str], key: UserKey, private_key_der: bytes, settings: "Settings"
) -> list["StepResult"]:
    """The connection test's steps (warehouses/snowflake/checks.py), each bounded by the login timeout."""
    from warehouses.snowflake import checks  # the connector's Rust core takes a while to load: on first use

    return checks.run(checks.STEPS, connection_id, config, key, private_key_der, settings)


def check_login(
    connection_id: str, config: dict[str, str], key: UserKey, private_key_der: bytes, settings: "Settings"
) -> list["StepResult"]:
    """Reach the host and log in with `key`: a pending rotation's, whose script the customer ran (or not)."""
    from warehouses.snowflake import checks

    return checks.run(checks.LOGIN_STEPS, connection_id, config, key, private_key_der, settings, "rotation script")
