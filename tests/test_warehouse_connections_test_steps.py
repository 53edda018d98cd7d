"""POST …/{id}/test/: each step's failure, through the real connector against the emulator answering as Snowflake."""

import errno
import socket
from collections.abc import Iterator

import pytest

from warehouses import key_pair

STEP_NAMES = ["reach_host", "log_in", "use_warehouse", "read_stage", "write_stage", "create_table"]
USER, ROLE = '"FLAGSMITH_SERVICE"', '"FLAGSMITH_LOADER"'
STAGE = '"FLAGSMITH"."ANALYTICS"."FLAGSMITH_STAGE"'


def run_test(client, list_url: str, connection_id: str) -> dict:
    response = client.post(f"{list_url}{connection_id}/test/")
    assert response.status_code == 200
    return response.json()


def failed_step(result: dict, name: str) -> dict:
    """The one failed step, which must be `name`: the steps before it passed, the ones after it were skipped."""
    position = STEP_NAMES.index(name)
    assert [step["name"] for step in result["steps"]] == STEP_NAMES
    assert [step["status"] for step in result["steps"]] == (
        ["passed"] * position + ["failed"] + ["skipped"] * (len(STEP_NAMES) - position - 1)
    )
    for skipped in result["steps"][position + 1 :]:
        assert skipped == {
            "name": skipped["name"],
            "status": "skipped",
            "code": None,
            "message": None,
            "hint": None,
            "retryable": False,
            "duration_ms": None,
        }
    failed = result["steps"][position]
    assert result["success"] is False
    assert result["error"] == failed["message"]
    assert isinstance(failed["duration_ms"], int)
    return failed


def assert_recorded(client, list_url: str, connection_id: str, result: dict) -> None:
    stored = client.get(f"{list_url}{connection_id}/").json()
    assert (stored["status"], stored["last_tested_at"], stored["last_error"]) == (
        "error",
        result["tested_at"],
        result["error"],
    )


def test_test__key_rejected__names_the_users_key_line_and_its_fingerprint(client, list_url, created, emulated_account):
    emulated_account.failure = "reject_jwt"

    result = run_test(client, list_url, created["id"])

    step = failed_step(result, "log_in")
    assert step["message"].startswith("390144 (28000): Failed to login: Login error: JWT token is invalid. [")
    assert step == {
        "name": "log_in",
        "status": "failed",
        "code": "key_rejected",
        "message": step["message"],
        "hint": f"Snowflake did not accept this connection's key for the user {USER}: the setup script has not run, "
        f"or the user holds another key. Run the script's line ALTER USER {USER} SET RSA_PUBLIC_KEY = '…'; then "
        f"check with DESC USER {USER}; that RSA_PUBLIC_KEY_FP is {key_pair.fingerprint(created['public_key'])}.",
        "retryable": False,
        "duration_ms": step["duration_ms"],
    }
    assert_recorded(client, list_url, created["id"], result)


def test_test__key_rejected__the_fingerprint_is_the_one_the_setup_script_names(created):
    fingerprint = key_pair.fingerprint(created["public_key"])

    assert f"-- DESC USER {USER}; then shows RSA_PUBLIC_KEY_FP = {fingerprint}\n" in created["setup_script"]
    assert fingerprint.startswith("SHA256:") and len(fingerprint) == len("SHA256:") + 44


LOGIN_REFUSALS = [
    # (emulator.failure, code, the connector's message begins, the hint has, retryable)
    (
        "role_not_granted",
        "role_not_granted",
        "390189 (08001): Failed to login: Login error: Role 'FLAGSMITH_LOADER' specified in the connect string is not "
        "granted to this user.",
        f"GRANT ROLE {ROLE} TO USER {USER};",
        False,
    ),
    (
        "user_disabled",
        "user_disabled",
        "390101 (08001): Failed to login: Login error: User access disabled.",
        "DISABLED = FALSE",
        False,
    ),
    (
        "user_locked",
        "user_disabled",
        "390102 (08001): Failed to login: Login error: Your user account has been temporarily locked",
        "MINS_TO_UNLOCK = 0",
        False,
    ),
    (
        "ip_not_allowed",
        "ip_not_allowed",
        "390422 (08001): Failed to login: Login error: Incoming request with IP/Token",
        "ALLOWED_IP_LIST",
        False,
    ),
    (
        "trial_ended",
        "warehouse_suspended",
        "390913 (08001): Failed to login: Login error: Your free trial has ended",
        '"COMPUTE_WH"',
        False,
    ),
    (
        "http_403",
        "account_not_found",
        "250001 (08001): Failed to login: Invalid Snowflake response. Snowflake responded with error status: 403",
        "xy12345.us-east-1",
        False,
    ),
]


@pytest.mark.parametrize(
    ("failure", "code", "message", "hint_has", "retryable"), LOGIN_REFUSALS, ids=[c[0] for c in LOGIN_REFUSALS]
)
def test_test__login_refused__fails_the_login_step_with_its_code(
    client, list_url, created, emulated_account, failure, code, message, hint_has, retryable
):
    emulated_account.failure = failure

    result = run_test(client, list_url, created["id"])

    step = failed_step(result, "log_in")
    assert (step["code"], step["retryable"]) == (code, retryable)
    assert step["message"].startswith(message)
    assert hint_has in step["hint"]
    assert_recorded(client, list_url, created["id"], result)


def test_test__account_answers_5xx__fails_the_login_step_as_the_connector_ends_its_retries(
    client, list_url, created, emulated_account
):
    emulated_account.failure = "http_503"

    result = run_test(client, list_url, created["id"])

    # The connector retries until its attempts or the login timeout run out, whichever comes first on this
    # machine; each ending has its code.
    step = failed_step(result, "log_in")
    if step["message"].startswith("000014 (HYT00): Failed to login: login timed out after 3s"):
        assert (step["code"], step["retryable"]) == ("timeout", True)
    else:
        assert step["message"].startswith("250001 (08001): Failed to login: HTTP request failed after retries")
        assert (step["code"], step["retryable"]) == ("account_not_found", False)
        assert "until the retries ran out" in step["hint"]


UNUSABLE = [
    # (what the session lacks, code, the setup script's line the hint names)
    ("warehouseName", "warehouse_not_usable", f'GRANT USAGE ON WAREHOUSE "COMPUTE_WH" TO ROLE {ROLE};'),
    ("databaseName", "database_not_found", f'GRANT USAGE ON DATABASE "FLAGSMITH" TO ROLE {ROLE};'),
    ("schemaName", "schema_not_found", f'GRANT USAGE, CREATE TABLE ON SCHEMA "FLAGSMITH"."ANALYTICS" TO ROLE {ROLE};'),
]


@pytest.mark.parametrize(("unusable", "code", "grant"), UNUSABLE, ids=[c[0] for c in UNUSABLE])
def test_test__object_not_usable__fails_the_warehouse_step_naming_the_grant(
    client, list_url, created, emulated_account, unusable, code, grant
):
    emulated_account.unusable = {unusable}

    result = run_test(client, list_url, created["id"])

    step = failed_step(result, "use_warehouse")
    kind = code.split("_")[0]
    assert (step["code"], step["retryable"]) == (code, False)
    assert step["message"].startswith(f"The session has no current {kind}: ")
    assert step["hint"].endswith(f"Run the setup script: it creates the {kind} and has the line {grant}")


QUERY_FAILURES = [
    # (switch the emulator, failing step, code, the message begins, the hint ends)
    (
        "no_stage",
        "read_stage",
        "stage_not_found",
        "002003 (02000): SQL compilation error:\nStage 'FLAGSMITH.ANALYTICS.FLAGSMITH_STAGE' does not exist or not "
        "authorized.",
        f"has the line GRANT READ, WRITE ON STAGE {STAGE} TO ROLE {ROLE};",
    ),
    (
        "stage_read",
        "read_stage",
        "stage_read_denied",
        "003001 (42501): SQL access control error:\nInsufficient privileges to operate on stage 'FLAGSMITH_STAGE'",
        f"Run the setup script's line GRANT READ, WRITE ON STAGE {STAGE} TO ROLE {ROLE};",
    ),
    (
        "stage_write",
        "write_stage",
        "stage_write_denied",
        "003001 (42501): SQL access control error:\nInsufficient privileges to operate on stage 'FLAGSMITH_STAGE'",
        f"Run the setup script's line GRANT READ, WRITE ON STAGE {STAGE} TO ROLE {ROLE};",
    ),
    (
        "warehouse_cannot_resume",
        "write_stage",
        "warehouse_suspended",
        "090073 (22000): Warehouse 'COMPUTE_WH' cannot be resumed because resource monitor",
        "An administrator must raise the quota or resume it.",
    ),
    (
        "create_table",
        "create_table",
        "create_table_denied",
        "003001 (42501): SQL access control error:\nInsufficient privileges to operate on schema 'ANALYTICS'",
        f'Run the setup script\'s line GRANT USAGE, CREATE TABLE ON SCHEMA "FLAGSMITH"."ANALYTICS" TO ROLE {ROLE};',
    ),
]


@pytest.fixture
def account_where(snowflake_emulator, created, point_snowflake_at):
    """The emulated account of `emulated_account` with one thing wrong, by name."""

    def make(wrong: str):
        config = created["config"]
        snowflake_emulator.register_user(config["account_identifier"], config["user"], created["public_key"])
        if wrong != "no_stage":
            snowflake_emulator.add_stage(config["database"], config["schema"], "FLAGSMITH_STAGE")
        if wrong == "warehouse_cannot_resume":
            snowflake_emulator.warehouse_cannot_resume = True
        elif wrong != "no_stage":
            snowflake_emulator.denied = {wrong}
        point_snowflake_at(snowflake_emulator.url)
        return snowflake_emulator

    return make


@pytest.mark.parametrize(
    ("wrong", "step_name", "code", "message", "hint_end"), QUERY_FAILURES, ids=[c[0] for c in QUERY_FAILURES]
)
def test_test__query_refused__fails_its_step_naming_the_grant_and_leaves_the_stage_clean(
    client, list_url, created, account_where, wrong, step_name, code, message, hint_end
):
    emulator = account_where(wrong)

    result = run_test(client, list_url, created["id"])

    step = failed_step(result, step_name)
    assert (step["code"], step["retryable"]) == (code, False)
    assert step["message"].startswith(message)
    assert step["hint"].endswith(hint_end)
    assert emulator.stage_files("FLAGSMITH", "ANALYTICS", "FLAGSMITH_STAGE") == set()
    assert_recorded(client, list_url, created["id"], result)


def test_test__write_check_failed__still_removes_its_prefix(client, list_url, created, account_where):
    emulator = account_where("stage_write")

    run_test(client, list_url, created["id"])

    sql = [entry["sql"] for entry in emulator.requests if "sql" in entry]
    assert [statement.split(" ")[0] for statement in sql] == ["SELECT", "LIST", "COPY", "REMOVE"]
    assert sql[3] == sql[2].replace("COPY INTO", "REMOVE").split(" FROM ")[0]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections and never says a word."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


def reach_step(client, list_url: str, connection_id: str) -> dict:
    return failed_step(run_test(client, list_url, connection_id), "reach_host")


def test_test__nothing_listens__fails_reaching_the_host_as_refused(
    client, list_url, created, closed_snowflake_url, point_snowflake_at
):
    point_snowflake_at(closed_snowflake_url)

    step = reach_step(client, list_url, created["id"])

    where = closed_snowflake_url.removeprefix("http://")
    assert step == {
        "name": "reach_host",
        "status": "failed",
        "code": "connection_refused",
        "message": f"{where} refused the connection (Connection refused).",
        "hint": f"Nothing accepts connections at {where}. Check the account identifier, or the proxy or firewall "
        "between us and it.",
        "retryable": False,
        "duration_ms": step["duration_ms"],
    }


def test_test__https_to_a_plain_http_server__fails_reaching_the_host_as_tls(
    client, list_url, created, snowflake_emulator, point_snowflake_at
):
    point_snowflake_at(snowflake_emulator.url.replace("http://", "https://"))

    step = reach_step(client, list_url, created["id"])

    assert (step["code"], step["retryable"]) == ("tls_failed", False)
    assert step["message"].startswith(f"The TLS handshake with 127.0.0.1:{snowflake_emulator.port} failed: ")
    assert snowflake_emulator.requests == []


def test_test__tls_handshake_never_answered__fails_reaching_the_host_as_a_timeout(
    client, list_url, created, silent_port, point_snowflake_at, settings
):
    point_snowflake_at(f"https://127.0.0.1:{silent_port}")

    step = reach_step(client, list_url, created["id"])

    assert step["message"] == (
        f"No answer from 127.0.0.1:{silent_port} within {settings.snowflake_login_timeout} s while connecting."
    )
    assert (step["code"], step["retryable"]) == ("timeout", True)


def test_test__host_name_does_not_resolve__fails_reaching_the_host_naming_it(
    client, list_url, created, point_snowflake_at, monkeypatch
):
    # The resolver itself would ask DNS servers off this machine; what it raises is what matters.
    def no_such_name(host, *_args, **_kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_name)
    point_snowflake_at("https://nosuchaccount.example:443")

    step = reach_step(client, list_url, created["id"])

    assert (step["code"], step["message"], step["retryable"]) == (
        "host_not_found",
        "The host name nosuchaccount.example does not resolve (Name or service not known).",
        False,
    )
    assert step["hint"] == "nosuchaccount.example is not a known host name: check the account identifier."


def test_test__no_route_to_the_host__fails_reaching_the_host_as_unreachable(
    client, list_url, created, closed_snowflake_url, point_snowflake_at, monkeypatch
):
    def no_route(address, *_args, **_kwargs):
        raise OSError(errno.EHOSTUNREACH, "No route to host")

    monkeypatch.setattr(socket, "create_connection", no_route)
    point_snowflake_at(closed_snowflake_url)

    step = reach_step(client, list_url, created["id"])

    assert (step["code"], step["retryable"]) == ("host_unreachable", True)
    assert step["message"] == f"{closed_snowflake_url.removeprefix('http://')} cannot be reached (No route to host)."
