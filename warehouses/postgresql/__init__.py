"""PostgreSQL: its config, its rules beyond the spec, the setup script a customer runs, and the password.

No customer has to type a secret here either: by default the server generates the password, keeps it encrypted,
and the setup script sets it as a SCRAM-SHA-256 verifier (warehouses/postgresql/scram.py), which lets PostgreSQL
check the password without being told it. A customer who manages the role sends `password` instead.
"""

import re
import secrets
from typing import TYPE_CHECKING, NamedTuple

from warehouses import host_guard
from warehouses.base import InvalidConfig
from warehouses.postgresql import scram

if TYPE_CHECKING:
    from warehouse_connections.settings import Settings
    from warehouses.steps import StepResult

NAME = "postgresql"
DEFAULTS: dict[str, object] = {
    "host": None,
    "port": 5432,
    "database": None,
    "schema": "flagsmith",
    "user": "flagsmith_loader",
    "sslmode": "require",
}
IMMUTABLE_FIELDS = frozenset({"host", "port", "database"})
SENSITIVE_FIELDS = frozenset({"password"})
KEY_SLOTS: tuple[str, ...] = ()
SSL_MODES = ("require", "verify-ca", "verify-full", "disable")
PASSWORD_MANAGERS = ("service", "customer")
# Deliveries and tests need a few sessions; a limit keeps a runaway client of ours from taking the server's.
CONNECTION_LIMIT = 10

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$-]{0,62}")
LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOST_NAME = re.compile(rf"{LABEL}(\.{LABEL})*\.?")


def validate(config: dict) -> None:
    if not (HOST_NAME.fullmatch(config["host"]) or host_guard.literal_address(config["host"])):
        raise InvalidConfig("host", "must be a DNS name or an IP address")
    port = config["port"]
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise InvalidConfig("port", "must be a TCP port, 1 to 65535")
    for field in ("database", "schema", "user"):
        if not IDENTIFIER.fullmatch(config[field]):
            raise InvalidConfig(field, "must be a PostgreSQL name: letters, digits, _, $ and -, at most 63")
    if config["sslmode"] not in SSL_MODES:
        raise InvalidConfig("sslmode", f"must be one of {', '.join(SSL_MODES)}")
    if config["password_managed_by"] not in PASSWORD_MANAGERS:
        raise InvalidConfig("password_managed_by", f"must be one of {', '.join(PASSWORD_MANAGERS)}")
    _validate_password(config["password"])


def _validate_password(password: str) -> None:
    # PostgreSQL ends a password at NUL, and the secret store keeps UTF-8: refuse what either would change.
    if "\x00" in password:
        raise InvalidConfig("password", "must not contain NUL characters")
    try:
        password.encode()
    except UnicodeEncodeError:
        raise InvalidConfig("password", "must be text that UTF-8 can encode (no lone surrogates)") from None


def settle(config: dict, sent: dict, current: dict | None) -> dict:
    """A password sent replaces the stored one; none sent keeps it; a new connection without one gets ours."""
    if "password" in sent:
        return {**config, "password": sent["password"], "password_managed_by": "customer"}
    if current is not None:
        return {**config, "password": current["password"], "password_managed_by": current["password_managed_by"]}
    return {**config, "password": new_password(), "password_managed_by": "service"}


def new_password() -> str:
    # 256 random bits, URL-safe: nothing in it needs quoting anywhere.
    return secrets.token_urlsafe(32)


def check_destination(config: dict, settings: "Settings") -> None:
    """Refuse a host inside a private network (unless the operator allows them), and TLS off for any other host.

    A name that does not resolve (yet) is accepted: the connection test says so, with a hint.
    """
    try:
        checked = host_guard.check_host(
            host_name(config), config["port"], settings.snowflake_login_timeout, settings.allow_private_hosts
        )
    except host_guard.HostNotAllowed as refused:
        raise InvalidConfig(
            "host",
            f"{refused_because(refused)}, which warehouse connections may not reach; only public addresses are "
            "allowed (an operator can allow private networks with WC_ALLOW_PRIVATE_HOSTS=true)",
        ) from None
    except (host_guard.HostNotFound, host_guard.ResolverTimeout):
        checked = None
    if config["sslmode"] == "disable" and not (settings.allow_private_hosts and checked and checked.all_private):
        raise InvalidConfig(
            "sslmode",
            "may be 'disable' only for a host inside a private network that the operator allowed "
            "(WC_ALLOW_PRIVATE_HOSTS=true); use require, verify-ca or verify-full",
        )


def host_name(config: dict) -> str:
    """The host as a name or a bare address: a bracketed IPv6 address loses its brackets."""
    return config["host"].removeprefix("[").removesuffix("]")


def refused_because(refused: host_guard.HostNotAllowed) -> str:
    """Why a host is refused, naming the class of address but never what a name resolved to (no DNS oracle)."""
    if host_guard.literal_address(refused.host) is not None:
        return f"is an address that is {refused.reason}"
    return f"resolves to an address that is {refused.reason}"


def quoted(identifier: str) -> str:
    # Names are exact (case-sensitive) and IDENTIFIER admits no quote: quoting makes any of them one name.
    return f'"{identifier}"'


class ScriptLines(NamedTuple):
    """The setup script's lines that grant what the connection test checks: its hints quote them."""

    connect: str
    schema_privileges: str


def script_lines(config: dict) -> ScriptLines:
    role, database, schema = (quoted(config[field]) for field in ("user", "database", "schema"))
    return ScriptLines(
        connect=f"GRANT CONNECT ON DATABASE {database} TO {role};",
        schema_privileges=f"GRANT USAGE, CREATE ON SCHEMA {schema} TO {role};",
    )


def setup_script(connection_id: str, config: dict, key: None) -> str:
    # Checked again here, where values become SQL: nothing unchecked can add a statement.
    validate(config)
    role, schema = quoted(config["user"]), quoted(config["schema"])
    lines = script_lines(config)
    if config["password_managed_by"] == "service":
        password = f"""\
-- The password is set as a SCRAM-SHA-256 verifier: PostgreSQL checks the password with it, but nobody can
-- log in with the verifier itself, and the password appears nowhere.
ALTER ROLE {role} WITH LOGIN PASSWORD '{scram.verifier(config["password"])}' CONNECTION LIMIT {CONNECTION_LIMIT};"""
    else:
        password = f"""\
-- The role's password is the one you gave the connection: this script leaves it alone. For a new role, set
-- it yourself: ALTER ROLE {role} PASSWORD '…';
ALTER ROLE {role} WITH LOGIN CONNECTION LIMIT {CONNECTION_LIMIT};"""
    return f"""\
-- Flagsmith Analytics: setup for warehouse connection {connection_id}
-- PostgreSQL database {quoted(config["database"])} at {config["host"]}:{config["port"]}.
-- Run it connected to that database, as a superuser or a role with CREATEROLE that may create schemas there.
-- Safe to run again: the role and the schema are created only if missing, the grants are repeated.

DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = '{config["user"]}') THEN
    CREATE ROLE {role} LOGIN;
  END IF;
END
$$;
{password}
ALTER ROLE {role} SET search_path = {schema};
{lines.connect}
CREATE SCHEMA IF NOT EXISTS {schema};
{lines.schema_privileges}
"""


def check_connection(
    connection_id: str, config: dict, key: None, private_key_der: None, settings: "Settings"
) -> list["StepResult"]:
    """The connection test's steps (warehouses/postgresql/checks.py), each bounded by the same timeout."""
    from warehouses.postgresql import checks

    return checks.run(connection_id, config, settings)
