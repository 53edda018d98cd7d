"""The real snowflake-connector-python 5.x against the loopback Snowflake emulator.

These pin down what the connector raises for each failure our "test connection" feature must
report, so a connector upgrade that changes errno/sqlstate/message shows up here first.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import time
import urllib.request
from typing import Any
from urllib.parse import urlsplit

import pytest
import snowflake.connector
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from snowflake.connector.errors import DatabaseError, OperationalError, ProgrammingError

from warehouse_connections.devtools.snowflake_emulator import SnowflakeEmulator, public_key_fingerprint

ACCOUNT = "xy12345.us-east-1"
USER = "flagsmith_user"
DATABASE, SCHEMA, STAGE = "FLAGSMITH_DB", "PUBLIC", "FLAGSMITH_STAGE"
LOGIN_TIMEOUT = 3


@pytest.fixture(scope="module")
def private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_key_b64(private_key: rsa.RSAPrivateKey) -> str:
    der = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def pkcs8_der(private_key: rsa.RSAPrivateKey) -> bytes:
    return private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def connect(url: str, private_key: Any, account: str = ACCOUNT, **overrides: Any) -> Any:
    """connect() as our "test connection" feature calls it, pointed at `url`."""
    parts = urlsplit(url)
    kwargs = dict(
        account=account,
        user=USER,
        role="FLAGSMITH_ROLE",
        warehouse="FLAGSMITH_WH",
        database=DATABASE,
        schema=SCHEMA,
        private_key=private_key,
        authenticator="SNOWFLAKE_JWT",
        host=parts.hostname,
        port=parts.port,
        protocol=parts.scheme,
        login_timeout=LOGIN_TIMEOUT,
        query_timeout=30,
        request_timeout=30,
        connect_timeout=30,
        enable_server_session_keep_alive_auto_detection=False,
        # As the service connects: the finalizer can crash the interpreter (warehouses/snowflake/checks.py).
        auto_cleanup=False,
    )
    return snowflake.connector.connect(**{**kwargs, **overrides})


@pytest.fixture
def emulator(snowflake_emulator: SnowflakeEmulator, private_key: rsa.RSAPrivateKey) -> SnowflakeEmulator:
    snowflake_emulator.register_user(ACCOUNT, USER, public_key_b64(private_key))
    snowflake_emulator.add_stage(DATABASE, SCHEMA, STAGE)
    return snowflake_emulator


@pytest.mark.parametrize("account", [ACCOUNT, "myorg-myaccount"])
@pytest.mark.parametrize("key_form", ["key_object", "pkcs8_der"])
def test_connect__registered_key__select_1_and_list_stage_succeed(
    snowflake_emulator: SnowflakeEmulator, private_key: rsa.RSAPrivateKey, account: str, key_form: str
) -> None:
    snowflake_emulator.register_user(account, USER, public_key_b64(private_key))
    snowflake_emulator.add_stage(DATABASE, SCHEMA, STAGE)
    key = private_key if key_form == "key_object" else pkcs8_der(private_key)

    with connect(snowflake_emulator.url, key, account=account) as conn:
        cursor = conn.cursor()
        assert cursor.execute("SELECT 1").fetchall() == [(1,)]
        assert cursor.execute(f"LIST @{STAGE}").fetchall() == []
        assert [column.name for column in cursor.description] == ["name", "size", "md5", "last_modified"]

    login = snowflake_emulator.requests[0]
    expected_subject = f"{account.split('.')[0].upper()}.{USER.upper()}"
    assert login["login"] == {"ACCOUNT_NAME": account, "LOGIN_NAME": USER, "AUTHENTICATOR": "SNOWFLAKE_JWT"}
    assert login["authenticated"] is True
    assert login["jwt_claims"]["sub"] == expected_subject
    assert login["jwt_claims"]["iss"].startswith(f"{expected_subject}.SHA256:")
    assert login["params"] == {
        "databaseName": DATABASE,
        "schemaName": SCHEMA,
        "warehouse": "FLAGSMITH_WH",
        "roleName": "FLAGSMITH_ROLE",
    }
    assert [r.get("sql") for r in snowflake_emulator.requests if "sql" in r] == ["SELECT 1", f"LIST @{STAGE}"]
    assert "/session" in snowflake_emulator.paths()  # logout on close


def test_connect__user_with_two_keys__logs_in_with_either_until_one_is_unset(
    snowflake_emulator: SnowflakeEmulator, private_key: rsa.RSAPrivateKey
) -> None:
    second_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    snowflake_emulator.register_user(ACCOUNT, USER, public_key_b64(private_key))
    snowflake_emulator.register_user(ACCOUNT, USER, public_key_b64(second_key), slot="RSA_PUBLIC_KEY_2")

    for key in (private_key, second_key):
        connect(snowflake_emulator.url, key).close()
    snowflake_emulator.unset_key(ACCOUNT, USER, "RSA_PUBLIC_KEY")

    with pytest.raises(DatabaseError) as refused:
        connect(snowflake_emulator.url, private_key)
    connect(snowflake_emulator.url, second_key).close()
    assert refused.value.errno == 390144
    assert snowflake_emulator.public_keys(ACCOUNT, USER) == {
        "RSA_PUBLIC_KEY_2": public_key_fingerprint(second_key.public_key())
    }


def test_describe_user__own_user__shows_each_slots_fingerprint_and_another_user_is_not_found(
    snowflake_emulator: SnowflakeEmulator, private_key: rsa.RSAPrivateKey
) -> None:
    snowflake_emulator.register_user(ACCOUNT, USER, public_key_b64(private_key), slot="RSA_PUBLIC_KEY_2")

    with connect(snowflake_emulator.url, private_key) as conn, conn.cursor() as cursor:
        rows = cursor.execute(f'DESC USER "{USER.upper()}"').fetchall()
        columns = [column.name for column in cursor.description]
        with pytest.raises(ProgrammingError) as refused:
            cursor.execute('DESC USER "SOMEONE_ELSE"')

    assert columns == ["property", "value", "default", "description"]
    assert [row[:2] for row in rows] == [
        ("RSA_PUBLIC_KEY_FP", "null"),
        ("RSA_PUBLIC_KEY_2_FP", public_key_fingerprint(private_key.public_key())),
    ]
    assert (refused.value.errno, refused.value.sqlstate) == (2003, "02000")


def test_register_user__a_slot_snowflake_has_not__is_refused(
    snowflake_emulator: SnowflakeEmulator, private_key: rsa.RSAPrivateKey
) -> None:
    with pytest.raises(ValueError):
        snowflake_emulator.register_user(ACCOUNT, USER, public_key_b64(private_key), slot="RSA_PUBLIC_KEY_3")


def test_connect__unregistered_key__raises_jwt_invalid(emulator: SnowflakeEmulator) -> None:
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    with pytest.raises(DatabaseError) as excinfo:
        connect(emulator.url, other_key)

    assert type(excinfo.value) is DatabaseError
    assert (excinfo.value.errno, excinfo.value.sqlstate) == (390144, "28000")
    assert re.fullmatch(
        r"390144 \(28000\): Failed to login: Login error: JWT token is invalid\. "
        r"\[[0-9a-f-]{36}\], code: 390144",
        str(excinfo.value),
    )
    assert emulator.requests[0]["authenticated"] is False
    assert emulator.paths() == ["/session/v1/login-request"]  # rejected JWTs are not retried


def test_connect__reject_jwt_switch__raises_jwt_invalid(emulator: SnowflakeEmulator, private_key) -> None:
    emulator.failure = "reject_jwt"

    with pytest.raises(DatabaseError) as excinfo:
        connect(emulator.url, private_key)

    assert type(excinfo.value) is DatabaseError
    assert (excinfo.value.errno, excinfo.value.sqlstate) == (390144, "28000")
    assert "JWT token is invalid." in str(excinfo.value)
    assert emulator.requests[0]["authenticated"] is True  # the key was right; the switch rejected it


def test_connect__login_http_403__raises_database_error_without_retry(emulator: SnowflakeEmulator, private_key) -> None:
    emulator.failure = "http_403"

    with pytest.raises(DatabaseError) as excinfo:
        connect(emulator.url, private_key)

    assert type(excinfo.value) is DatabaseError
    assert (excinfo.value.errno, excinfo.value.sqlstate) == (250001, "08001")
    assert re.fullmatch(
        r"250001 \(08001\): Failed to login: Invalid Snowflake response\. Snowflake responded with "
        r"error status: 403 Forbidden, message: Unexpected response, body length \d+\.",
        str(excinfo.value),
    )
    assert emulator.paths() == ["/session/v1/login-request"]


def test_connect__login_http_503__retries_then_raises_database_error(emulator: SnowflakeEmulator, private_key) -> None:
    emulator.failure = "http_503"

    # Retries back off with random (decorrelated) jitter, so whether the default 6 attempts fit in
    # login_timeout is luck; 2 attempts always fit and still show that 503 is retried.
    with pytest.raises(DatabaseError) as excinfo:
        connect(emulator.url, private_key, retry_max_attempts=2)

    assert type(excinfo.value) is DatabaseError
    assert (excinfo.value.errno, excinfo.value.sqlstate) == (250001, "08001")
    assert str(excinfo.value) == (
        "250001 (08001): Failed to login: HTTP request failed after retries: login request. "
        "max attempts (2) reached; last status 503 Service Unavailable"
    )
    assert emulator.paths() == ["/session/v1/login-request"] * 2


def test_connect__login_hangs__times_out_after_login_timeout(emulator: SnowflakeEmulator, private_key) -> None:
    emulator.failure = "hang"
    login_timeout = 2

    started = time.monotonic()
    with pytest.raises(OperationalError) as excinfo:
        connect(emulator.url, private_key, login_timeout=login_timeout)
    elapsed = time.monotonic() - started

    assert type(excinfo.value) is OperationalError
    assert (excinfo.value.errno, excinfo.value.sqlstate) == (14, "HYT00")
    assert str(excinfo.value) == f"000014 (HYT00): Failed to login: login timed out after {login_timeout}s"
    assert login_timeout - 0.5 <= elapsed <= login_timeout + 10


def test_list_stage__stage_not_added__raises_programming_error(
    snowflake_emulator: SnowflakeEmulator, private_key
) -> None:
    snowflake_emulator.register_user(ACCOUNT, USER, public_key_b64(private_key))

    with connect(snowflake_emulator.url, private_key) as conn, pytest.raises(ProgrammingError) as excinfo:
        conn.cursor().execute(f"LIST @{STAGE}")

    assert type(excinfo.value) is ProgrammingError
    assert (excinfo.value.errno, excinfo.value.sqlstate) == (2003, "02000")
    assert excinfo.value.msg == (
        f"002003 (02000): SQL compilation error:\nStage '{DATABASE}.{SCHEMA}.{STAGE}' does not exist or not authorized."
    )
    assert (
        str(excinfo.value) == f"{excinfo.value.msg} (request_id={excinfo.value.request_id}, "
        f"sfqid={excinfo.value.sfqid})"
    )


def test_connect__closed_port__raises_connection_refused(closed_snowflake_url: str, private_key) -> None:
    # Refused connections are retried like 503s; one attempt keeps the outcome deterministic (with
    # retries, login_timeout may expire first and raise the errno 14 timeout instead).
    with pytest.raises(DatabaseError) as excinfo:
        connect(closed_snowflake_url, private_key, retry_max_attempts=1)

    assert type(excinfo.value) is DatabaseError
    assert (excinfo.value.errno, excinfo.value.sqlstate) == (250001, "08001")
    assert str(excinfo.value) == (
        "250001 (08001): Failed to login: HTTP request failed after retries: login request. "
        "Connection refused (os error 111)"
    )


def test_query_request__unknown_session_token__is_rejected(emulator: SnowflakeEmulator) -> None:
    request = urllib.request.Request(
        f"{emulator.url}/queries/v1/query-request",
        data=json.dumps({"sqlText": "SELECT 1"}).encode(),
        headers={"Authorization": 'Snowflake Token="forged"', "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        body = json.load(response)

    assert (body["success"], body["code"]) == (False, "390111")


def test_connector_debug_logging__successful_and_failed_login__never_logs_jwt_or_private_key(
    emulator: SnowflakeEmulator, private_key: rsa.RSAPrivateKey, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with connect(emulator.url, private_key) as conn:
        conn.cursor().execute("SELECT 1")
    emulator.failure = "reject_jwt"
    with pytest.raises(DatabaseError):
        connect(emulator.url, private_key)

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert any(record.name.startswith("snowflake.connector") for record in caplog.records)
    assert "eyJhbGciOi" not in logged  # every JWT starts with base64url('{"alg":')
    assert "PRIVATE KEY" not in logged
    assert base64.b64encode(pkcs8_der(private_key)).decode()[64:128] not in logged


def signed_jwt(private_key: rsa.RSAPrivateKey, claims: dict[str, Any]) -> str:
    def b64url(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    header = b64url(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    signing_input = f"{header}.{b64url(json.dumps(claims).encode())}"
    signature = private_key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64url(signature)}"


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param({}, id="control_all_claims_valid"),
        pytest.param({"exp": -1}, id="expired"),
        pytest.param({"exp": 7200}, id="lifetime_over_one_hour"),
        pytest.param({"sub": "XY12345.SOMEONE_ELSE"}, id="other_subject"),
        pytest.param({"iss": "XY12345.FLAGSMITH_USER.SHA256:AAAA"}, id="other_fingerprint"),
    ],
)
def test_login_request__handcrafted_jwt__rejected_unless_every_claim_is_valid(
    emulator: SnowflakeEmulator, private_key: rsa.RSAPrivateKey, tamper: dict[str, Any]
) -> None:
    now = int(time.time())
    subject = f"XY12345.{USER.upper()}"
    claims = {"sub": subject, "iss": f"{subject}.{public_key_fingerprint(private_key.public_key())}", "iat": now}
    claims |= {"exp": now + 60} | {key: now + value if key == "exp" else value for key, value in tamper.items()}
    data = {
        "ACCOUNT_NAME": ACCOUNT,
        "LOGIN_NAME": USER,
        "AUTHENTICATOR": "SNOWFLAKE_JWT",
        "TOKEN": signed_jwt(private_key, claims),
    }
    request = urllib.request.Request(
        f"{emulator.url}/session/v1/login-request",
        data=json.dumps({"data": data}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        body = json.load(response)

    assert (body["success"], body["code"]) == ((False, "390144") if tamper else (True, None))
