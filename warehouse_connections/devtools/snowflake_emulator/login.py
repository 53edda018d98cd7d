"""The answer to a login request: the JWT check, the failure modes, and the session it opens."""

from __future__ import annotations

import secrets
import uuid
from typing import TYPE_CHECKING, Any

from warehouse_connections.devtools.snowflake_emulator.keys import account_locator, verify_jwt
from warehouse_connections.devtools.snowflake_emulator.queries import unquote_identifier
from warehouse_connections.devtools.snowflake_emulator.wire import error, ok

if TYPE_CHECKING:
    from warehouse_connections.devtools.snowflake_emulator.emulator import SnowflakeEmulator

# Upper bound on a "hang" so a leaked request thread cannot outlive a test run by much.
HANG_BOUND_SECONDS = 60.0
# emulator.failure -> (code, message) of a login Snowflake refuses, as Snowflake words it.
REFUSALS = {
    "role_not_granted": (
        "390189",
        "Role '{role}' specified in the connect string is not granted to this user. Contact your local system "
        "administrator, or attempt to login with another role, e.g. PUBLIC.",
    ),
    "user_disabled": ("390101", "User access disabled. Contact your local system administrator."),
    "user_locked": (
        "390102",
        "Your user account has been temporarily locked due to too many failed attempts. Try again after 15 minutes "
        "or contact your account administrator for assistance. For more information about this error, go to "
        "https://community.snowflake.com/s/error-your-user-login-has-been-locked.",
    ),
    "ip_not_allowed": (
        "390422",
        "Incoming request with IP/Token 127.0.0.1 is not allowed to access Snowflake. Contact your local security "
        "administrator.",
    ),
    "trial_ended": (
        "390913",
        "Your free trial has ended and all of your virtual warehouses have been suspended. Add billing information in "
        "the Snowflake web UI to continue using the full set of Snowflake features.",
    ),
}
# sessionInfo key -> login-request query parameter carrying the requested value.
SESSION_INFO = {
    "databaseName": "databaseName",
    "schemaName": "schemaName",
    "warehouseName": "warehouse",
    "roleName": "roleName",
}


def answer_login(
    emulator: SnowflakeEmulator, entry: dict[str, Any], body: dict[str, Any]
) -> tuple[int, dict[str, Any] | None]:
    """(HTTP status, JSON payload); status 0 answers nothing, payload None is a bare HTTP error."""
    data = body.get("data") or {}
    claims, authenticated = verify_jwt(data, lambda account, user: list(emulator._keys_of(account, user).values()))
    # Logged instead of the token itself: enough to assert on, useless to replay.
    entry.update(
        login={key: data.get(key) for key in ("ACCOUNT_NAME", "LOGIN_NAME", "AUTHENTICATOR")},
        session_parameters=data.get("SESSION_PARAMETERS") or {},
        jwt_claims=claims,
        authenticated=authenticated,
    )
    if entry["delay"]:
        emulator._stopping.wait(entry["delay"])
    if emulator.failure in ("http_403", "http_503"):
        return int(emulator.failure[-3:]), None
    if emulator.failure == "hang":
        emulator._stopping.wait(HANG_BOUND_SECONDS)
        return 0, None  # the client has given up by now; answer nothing
    if emulator.failure in REFUSALS:
        code, message = REFUSALS[emulator.failure]
        return 200, error(code, message.format(role=entry["params"].get("roleName", "")), None)
    if not authenticated or emulator.failure == "reject_jwt":
        # Snowflake answers every key-pair failure (unknown user, wrong key, expiry) identically.
        return 200, error(
            "390144",
            f"JWT token is invalid. [{uuid.uuid4()}]",
            {"nextAction": "RETRY_LOGIN", "authnMethod": "KEY_PAIR", "signInOptions": {}},
        )
    tag = entry["session_parameters"].get("QUERY_TAG")
    user = (account_locator(str(data.get("ACCOUNT_NAME"))), str(data.get("LOGIN_NAME")).upper())
    return 200, ok(open_session(emulator._sessions, entry["params"], emulator.unusable, tag, user))


def open_session(
    sessions: dict[str, dict[str, Any]],
    params: dict[str, str],
    unusable: set[str],
    query_tag: str | None,
    user: tuple[str, str],
) -> dict[str, Any]:
    """Adds a session with the context the login's query ``params`` ask for; the login answer's data.

    Snowflake logs in even when the warehouse, database or schema asked for cannot be used (``unusable``:
    "warehouseName", …); the session then has none.
    """
    # Snowflake reports the resolved (case-folded) names of the session's context.
    session = {
        name: None if name in unusable else unquote_identifier(params.get(param, "")) or None
        for name, param in SESSION_INFO.items()
    }
    token = secrets.token_urlsafe(24)
    # `user`: (account locator, USER), whom DESC USER may describe.
    sessions[token] = {**session, "queryTag": query_tag, "tables": set(), "user": user}
    # AUTOCOMMIT=true as on Snowflake; otherwise `with connect() as conn:` would send COMMIT on exit.
    return {
        "token": token,
        "masterToken": secrets.token_urlsafe(24),
        "validityInSeconds": 3600,
        "masterValidityInSeconds": 14400,
        "sessionId": secrets.randbelow(2**52),
        "parameters": [{"name": "AUTOCOMMIT", "value": True}],
        "sessionInfo": session,
    }
