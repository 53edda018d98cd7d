"""What a PostgreSQL failure means for the person who must fix it: a stable code, a hint, whether to retry.

Mapped by the server's SQLSTATE (pg8000 gives it for a failed login too), never by message text, which the
server words in its own language (lc_messages).
"""

from dataclasses import dataclass

from warehouses.postgresql import ScriptLines, quoted
from warehouses.steps import StepFailed

INVALID_PASSWORD = "28P01"
INVALID_AUTHORIZATION = "28000"  # no pg_hba.conf entry for us, or a role that may not log in
INVALID_CATALOG_NAME = "3D000"  # no such database
INSUFFICIENT_PRIVILEGE = "42501"
TOO_MANY_CONNECTIONS = "53300"
QUERY_CANCELED = "57014"  # statement_timeout
INVALID_SCHEMA_NAME = "3F000"
READ_ONLY_TRANSACTION = "25006"


@dataclass(frozen=True)
class Diagnosis:
    """The connection's names and setup-script lines, which the hints quote."""

    config: dict
    lines: ScriptLines

    @property
    def role(self) -> str:
        return quoted(self.config["user"])


def failure_of(diagnosis: Diagnosis, step: str, fields: dict) -> StepFailed:
    """The step's failure for an error the server sent: `fields` are its error fields (C: SQLSTATE, M: message)."""
    sqlstate, message = fields.get("C"), server_words(fields)
    role, schema = diagnosis.role, quoted(diagnosis.config["schema"])
    database = quoted(diagnosis.config["database"])
    if sqlstate == INVALID_PASSWORD:
        return StepFailed(
            "password_rejected",
            message,
            f"PostgreSQL refused the password of {role}: the setup script has not run, the role does not exist, "
            f"or it has another password. {_password_fix(diagnosis)}",
        )
    if sqlstate == INVALID_AUTHORIZATION:
        return StepFailed(
            "login_refused",
            message,
            f"PostgreSQL does not let {role} log in from our address: add a pg_hba.conf line for it (host "
            f"{diagnosis.config['database']} {diagnosis.config['user']} <our address> scram-sha-256), and check that "
            f"the role may log in (the setup script's ALTER ROLE {role} WITH LOGIN …).",
        )
    if sqlstate == INVALID_CATALOG_NAME or (sqlstate == INSUFFICIENT_PRIVILEGE and step == "log_in"):
        return StepFailed(
            "database_not_found",
            message,
            f"The database {database} does not exist on this server, or {role} may not connect to it. Check the "
            f"connection's database, and run the setup script's line {diagnosis.lines.connect}",
        )
    if sqlstate == TOO_MANY_CONNECTIONS:
        return StepFailed(
            "too_many_connections",
            message,
            f"The server, or the role {role}, has no connection to spare. Try again later, or raise the limit "
            "(max_connections, or the role's CONNECTION LIMIT).",
            retryable=True,
        )
    if sqlstate == QUERY_CANCELED:
        return StepFailed(
            "timeout", message, "The query did not finish within the test's time (the server may be busy).", True
        )
    if sqlstate == INVALID_SCHEMA_NAME:
        return missing_schema(diagnosis, message)
    if sqlstate == INSUFFICIENT_PRIVILEGE and step == "create_table":
        return StepFailed(
            "create_table_denied",
            message,
            f"{role} may not create tables in {schema}. "
            f"Run the setup script's line {diagnosis.lines.schema_privileges}",
        )
    if sqlstate == READ_ONLY_TRANSACTION:
        return StepFailed(
            "read_only",
            message,
            "The server accepts no writes: a read replica (hot standby), or default_transaction_read_only. Connect "
            "the primary.",
        )
    return StepFailed(
        "unexpected", message, "PostgreSQL refused this step for a reason the test does not know; the message says."
    )


def missing_schema(diagnosis: Diagnosis, message: str) -> StepFailed:
    schema = quoted(diagnosis.config["schema"])
    return StepFailed(
        "schema_not_found",
        message,
        f"The schema {schema} does not exist, or {diagnosis.role} may not use it. Run the setup script: it creates "
        f"the schema and has the line {diagnosis.lines.schema_privileges}",
    )


def _password_fix(diagnosis: Diagnosis) -> str:
    if diagnosis.config["password_managed_by"] == "service":
        return "Run the setup script (again): its ALTER ROLE … PASSWORD line sets the password this connection uses."
    return (
        f"Set the role's password to the one the connection has (ALTER ROLE {diagnosis.role} PASSWORD '…';), "
        "or send the connection the role's password anew."
    )


def server_words(fields: dict) -> str:
    """The server's error as psql shows it: severity, SQLSTATE and message."""
    return f"{fields.get('S', 'ERROR')} {fields.get('C', '?????')}: {fields.get('M', '')}".strip()
