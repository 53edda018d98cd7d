"""What a Snowflake failure means for the person who must fix it: a stable code, a hint, whether to retry.

Mapped by the connector's errno, never by message text. The errnos are Snowflake's own (the server's `code`)
or the connector's, as snowflake-connector-python 5.x reports them; login errors carry the connector's
sqlstate, not the server's, so only the errno counts there.
"""

from dataclasses import dataclass

from snowflake.connector.errors import Error

from warehouses import key_pair
from warehouses.key_pair import UserKey
from warehouses.snowflake import ScriptLines, quoted, stage_name
from warehouses.steps import StepFailed

KEY_REJECTED = 390144
ROLE_NOT_GRANTED = 390189
USER_DISABLED = 390101
USER_LOCKED = 390102
IP_NOT_ALLOWED = 390422
TRIAL_ENDED = 390913
# The connector's own: the host answered a login with HTTP errors, not Snowflake's answer: a 403 for an account
# that does not exist, or 429s and 5xx until the retries ran out. Only the message tells them apart.
LOGIN_REFUSED_BY_HOST = 250001
# The connector's: no answer within login_timeout or query_timeout (a 5xx is retried until then too).
CLIENT_TIMEOUT = 14
STATEMENT_TIMEOUT = 630
NO_ACTIVE_WAREHOUSE = 606
WAREHOUSE_CANNOT_RESUME = 90073
DOES_NOT_EXIST_OR_NOT_AUTHORIZED = 2003
INSUFFICIENT_PRIVILEGES = 3001

# Which code a privilege or existence error has in each step: the step says which statement failed.
DENIED_IN_STEP = {"read_stage": "stage_read_denied", "write_stage": "stage_write_denied"}
MISSING_IN_STEP = {"read_stage": "stage", "write_stage": "stage", "create_table": "schema"}


@dataclass(frozen=True)
class Diagnosis:
    """The connection's names and setup-script lines, which the hints quote."""

    config: dict[str, str]
    lines: ScriptLines
    key: UserKey
    # Which script gives the user the key: "setup script", or a rotation's "rotation script".
    script: str

    def object_name(self, kind: str) -> str:
        database = quoted(self.config["database"])
        return {
            "warehouse": quoted(self.config["warehouse"]),
            "database": database,
            "schema": f"{database}.{quoted(self.config['schema'])}",
            "stage": stage_name(self.config),
        }[kind]


def failure_of(diagnosis: Diagnosis, step: str, error: Error) -> StepFailed:
    """The step's failure for a connector error."""
    message, errno = str(error), error.errno
    if errno in (CLIENT_TIMEOUT, STATEMENT_TIMEOUT):
        return StepFailed(
            "timeout",
            message,
            "Snowflake did not answer in time (it may be busy, or a 5xx answer was retried until the time ran out). "
            "Try again later.",
            retryable=True,
        )
    if step == "log_in":
        return _login_failure(diagnosis, errno, message)
    if errno == NO_ACTIVE_WAREHOUSE:
        return missing_object(diagnosis, "warehouse", message)
    if errno == WAREHOUSE_CANNOT_RESUME:
        return _warehouse_suspended(diagnosis, message)
    if errno == INSUFFICIENT_PRIVILEGES and step in DENIED_IN_STEP:
        return StepFailed(
            DENIED_IN_STEP[step],
            message,
            f"The role {quoted(diagnosis.config['role'])} may not "
            f"{'read' if step == 'read_stage' else 'write to'} the stage. "
            f"Run the setup script's line {diagnosis.lines.stage_privileges}",
        )
    if errno == INSUFFICIENT_PRIVILEGES and step == "create_table":
        return StepFailed(
            "create_table_denied",
            message,
            f"The role {quoted(diagnosis.config['role'])} may not create tables in {diagnosis.object_name('schema')}. "
            f"Run the setup script's line {diagnosis.lines.schema_privileges}",
        )
    if errno == DOES_NOT_EXIST_OR_NOT_AUTHORIZED and step in MISSING_IN_STEP:
        return missing_object(diagnosis, MISSING_IN_STEP[step], message)
    return _unexpected(message)


def _login_failure(diagnosis: Diagnosis, errno: int | None, message: str) -> StepFailed:
    user = quoted(diagnosis.config["user"])
    if errno == KEY_REJECTED:
        # Snowflake words an unknown user, a user without this key and a wrong key the same way.
        return StepFailed(
            "key_rejected",
            message,
            f"Snowflake did not accept this connection's key for the user {user}: the {diagnosis.script} has not run, "
            f"or the user holds another key. Run the script's line ALTER USER {user} SET {diagnosis.key.slot} = '…'; "
            f"then check with DESC USER {user}; that {diagnosis.key.slot}_FP is "
            f"{key_pair.fingerprint(diagnosis.key.public_key)}.",
        )
    if errno == ROLE_NOT_GRANTED:
        return StepFailed(
            "role_not_granted",
            message,
            f"The role {quoted(diagnosis.config['role'])} does not exist or is not granted to {user}. "
            f"Run the setup script's lines CREATE ROLE IF NOT EXISTS {quoted(diagnosis.config['role'])}; and "
            f"{diagnosis.lines.role_to_user}",
        )
    if errno in (USER_DISABLED, USER_LOCKED):
        return StepFailed(
            "user_disabled",
            message,
            f"Snowflake refuses logins of {user}: it is disabled or locked. An administrator can run "
            f"ALTER USER {user} SET DISABLED = FALSE MINS_TO_UNLOCK = 0;",
        )
    if errno == IP_NOT_ALLOWED:
        return StepFailed(
            "ip_not_allowed",
            message,
            "A network policy of the account does not allow our address. Add our egress addresses to the "
            "policy's ALLOWED_IP_LIST, or give the user a policy that allows them.",
        )
    if errno == TRIAL_ENDED:
        return _warehouse_suspended(diagnosis, message)
    if errno == LOGIN_REFUSED_BY_HOST:
        return StepFailed(
            "account_not_found",
            message,
            f"The host answered the login with an HTTP error, not as Snowflake does for the account "
            f"{diagnosis.config['account_identifier']}: almost always an account identifier Snowflake does not know "
            "(check it: orgname-account_name, or locator.region.cloud for a legacy locator); rarely Snowflake failing "
            "until the retries ran out (try again later).",
        )
    return _unexpected(message)


def missing_object(diagnosis: Diagnosis, kind: str, message: str | None = None) -> StepFailed:
    """The session cannot use the connection's warehouse, database, schema or stage."""
    name = diagnosis.object_name(kind)
    grant = {
        "warehouse": diagnosis.lines.warehouse_usage,
        "database": diagnosis.lines.database_usage,
        "schema": diagnosis.lines.schema_privileges,
        "stage": diagnosis.lines.stage_privileges,
    }[kind]
    code = "warehouse_not_usable" if kind == "warehouse" else f"{kind}_not_found"
    return StepFailed(
        code,
        message or f"The session has no current {kind}: {name} does not exist, or the role may not use it.",
        f"The {kind} {name} does not exist, or the role {quoted(diagnosis.config['role'])} may not use it. "
        f"Run the setup script: it creates the {kind} and has the line {grant}",
    )


def _warehouse_suspended(diagnosis: Diagnosis, message: str) -> StepFailed:
    return StepFailed(
        "warehouse_suspended",
        message,
        f"The warehouse {diagnosis.object_name('warehouse')} is suspended and cannot resume (a resource monitor's "
        "quota, or the account's billing). An administrator must raise the quota or resume it.",
    )


def _unexpected(message: str) -> StepFailed:
    return StepFailed(
        "unexpected",
        message,
        "Snowflake refused this step for a reason the test does not know; the message says what.",
    )


def key_in_other_slot(diagnosis: Diagnosis, shown: str) -> StepFailed:
    """The new key logs in, but from the user property the rotation script does not set."""
    user, slot = quoted(diagnosis.config["user"]), diagnosis.key.slot
    return StepFailed(
        "key_in_other_slot",
        f"DESC USER {user} shows {slot}_FP = {shown}, "
        f"not the new key's {key_pair.fingerprint(diagnosis.key.public_key)}.",
        f"The user {user} holds the new key, but not in {slot}, where the rotation puts it: the old key's cleanup "
        f"would then remove a key that works. Run the {diagnosis.script}'s line ALTER USER {user} SET {slot} = '…'; "
        "and complete the rotation again.",
    )
