"""The setup script: correct for a real Snowflake account, and built only from validated names."""

import logging

import pytest
import sqlglot

from tests.examples import SEED_CONFIG
from warehouses import InvalidConfig, key_pair, snowflake

PUBLIC_KEY = key_pair.generate(2048).public_key
KEY = key_pair.UserKey(PUBLIC_KEY, "RSA_PUBLIC_KEY")


def statements(script: str) -> list[str]:
    sqlglot_logger = logging.getLogger("sqlglot")
    sqlglot_logger.disabled = True  # it warns for each statement it keeps as a plain Command
    try:
        parsed = sqlglot.parse(script, read="snowflake")
    finally:
        sqlglot_logger.disabled = False
    return [" ".join(statement.sql(dialect="snowflake", comments=False).split()) for statement in parsed]


def test_setup_script__seed_config__is_exactly_these_statements():
    script = snowflake.setup_script("wc_abc123def456ghi7", SEED_CONFIG, KEY)

    assert statements(script) == [
        "USE ROLE SYSADMIN",
        "CREATE WAREHOUSE IF NOT EXISTS \"COMPUTE_WH\" WAREHOUSE_SIZE='XSMALL' AUTO_SUSPEND=60 AUTO_RESUME=TRUE "
        "INITIALLY_SUSPENDED=TRUE",
        'CREATE DATABASE IF NOT EXISTS "FLAGSMITH"',
        'CREATE SCHEMA IF NOT EXISTS "FLAGSMITH"."ANALYTICS"',
        'CREATE STAGE IF NOT EXISTS "FLAGSMITH"."ANALYTICS"."FLAGSMITH_STAGE"',
        "USE ROLE SECURITYADMIN",
        'CREATE ROLE IF NOT EXISTS "FLAGSMITH_LOADER"',
        'GRANT ROLE "FLAGSMITH_LOADER" TO ROLE SYSADMIN',
        'GRANT USAGE ON WAREHOUSE "COMPUTE_WH" TO ROLE "FLAGSMITH_LOADER"',
        'GRANT USAGE ON DATABASE "FLAGSMITH" TO ROLE "FLAGSMITH_LOADER"',
        'GRANT USAGE, CREATE TABLE ON SCHEMA "FLAGSMITH"."ANALYTICS" TO ROLE "FLAGSMITH_LOADER"',
        'GRANT READ, WRITE ON STAGE "FLAGSMITH"."ANALYTICS"."FLAGSMITH_STAGE" TO ROLE "FLAGSMITH_LOADER"',
        'CREATE USER IF NOT EXISTS "FLAGSMITH_SERVICE" TYPE = SERVICE DEFAULT_ROLE = "FLAGSMITH_LOADER" '
        'DEFAULT_WAREHOUSE = "COMPUTE_WH" DEFAULT_NAMESPACE = "FLAGSMITH"."ANALYTICS"',
        f"ALTER USER \"FLAGSMITH_SERVICE\" SET RSA_PUBLIC_KEY = '{PUBLIC_KEY}'",
        'GRANT ROLE "FLAGSMITH_LOADER" TO USER "FLAGSMITH_SERVICE"',
    ]


def test_setup_script__header__says_what_it_is_for_and_which_roles_it_needs():
    script = snowflake.setup_script("wc_abc123def456ghi7", SEED_CONFIG, KEY)

    header = script.split("\n\n")[0]
    assert header.startswith("-- Flagsmith Analytics: setup for warehouse connection wc_abc123def456ghi7\n")
    assert "xy12345.us-east-1" in header
    assert "SYSADMIN and SECURITYADMIN (or ACCOUNTADMIN)" in header
    assert all(line.startswith("-- ") for line in header.splitlines())


def test_setup_script__lower_case_names__name_the_same_objects_as_unquoted_sql():
    config = {**SEED_CONFIG, "warehouse": "load_wh", "user": "select"}

    script = snowflake.setup_script("wc_abc123def456ghi7", config, KEY)

    assert 'CREATE WAREHOUSE IF NOT EXISTS "LOAD_WH"' in script
    # A reserved word is still a valid name once quoted.
    assert 'GRANT ROLE "FLAGSMITH_LOADER" TO USER "SELECT";' in script


@pytest.mark.parametrize("field", ["warehouse", "database", "schema", "role", "user", "account_identifier"])
@pytest.mark.parametrize("value", ["x; DROP DATABASE PROD", 'A"; DROP USER X; --', "A'B", "A\nB", "A -- c", "OK\n"])
def test_setup_script__hostile_value__is_refused_before_any_sql_is_built(field, value):
    with pytest.raises(InvalidConfig) as refused:
        snowflake.setup_script("wc_abc123def456ghi7", {**SEED_CONFIG, field: value}, KEY)

    assert refused.value.field == field
    assert value not in str(refused.value)


def test_setup_script__public_key_not_base64__is_refused():
    with pytest.raises(ValueError):
        snowflake.setup_script("wc_abc123def456ghi7", SEED_CONFIG, KEY._replace(public_key="MII'; DROP USER X; --"))


def test_setup_script__through_the_api__is_persisted_with_the_connections_key(client, list_url, created):
    listed = client.get(list_url).json()[0]

    assert listed["setup_script"] == snowflake.setup_script(
        created["id"], created["config"], key_pair.UserKey(created["public_key"], "RSA_PUBLIC_KEY")
    )
    assert len(statements(listed["setup_script"])) == 15


def test_setup_script__key_in_the_second_slot__sets_and_names_that_slot():
    script = snowflake.setup_script("wc_abc123def456ghi7", SEED_CONFIG, KEY._replace(slot="RSA_PUBLIC_KEY_2"))

    assert f"ALTER USER \"FLAGSMITH_SERVICE\" SET RSA_PUBLIC_KEY_2 = '{PUBLIC_KEY}'" in statements(script)
    assert (
        f'-- DESC USER "FLAGSMITH_SERVICE"; then shows RSA_PUBLIC_KEY_2_FP = {key_pair.fingerprint(PUBLIC_KEY)}\n'
        in (script)
    )
    assert "RSA_PUBLIC_KEY =" not in script


@pytest.mark.parametrize("slot", ["RSA_PUBLIC_KEY_3", "RSA_PUBLIC_KEY = 'x'; DROP USER X; --", "PASSWORD"])
def test_scripts__a_slot_snowflake_has_not__is_refused(slot):
    for script in (snowflake.setup_script, snowflake.rotation_script):
        with pytest.raises(ValueError):
            script("wc_abc123def456ghi7", SEED_CONFIG, KEY._replace(slot=slot))
    with pytest.raises(ValueError):
        snowflake.cleanup_script("wc_abc123def456ghi7", SEED_CONFIG, KEY._replace(slot=slot))


def test_rotation_script__sets_only_the_new_key_in_its_slot_as_securityadmin():
    script = snowflake.rotation_script("wc_abc123def456ghi7", SEED_CONFIG, KEY._replace(slot="RSA_PUBLIC_KEY_2"))

    assert statements(script) == [
        "USE ROLE SECURITYADMIN",
        f"ALTER USER \"FLAGSMITH_SERVICE\" SET RSA_PUBLIC_KEY_2 = '{PUBLIC_KEY}'",
    ]
    assert script.startswith("-- Flagsmith Analytics: a new key for warehouse connection wc_abc123def456ghi7\n")
    assert f"RSA_PUBLIC_KEY_2_FP = {key_pair.fingerprint(PUBLIC_KEY)}" in script


def test_cleanup_script__unsets_only_the_old_keys_slot():
    script = snowflake.cleanup_script("wc_abc123def456ghi7", SEED_CONFIG, KEY)

    assert statements(script) == ["USE ROLE SECURITYADMIN", 'ALTER USER "FLAGSMITH_SERVICE" UNSET RSA_PUBLIC_KEY']
    assert f"this takes the old one ({key_pair.fingerprint(PUBLIC_KEY)})" in script


@pytest.mark.parametrize(
    "script",
    [lambda *args: snowflake.rotation_script(*args[:3]), snowflake.cleanup_script],
    ids=["rotation", "cleanup"],
)
def test_rotation_scripts__hostile_user__is_refused(script):
    with pytest.raises(InvalidConfig):
        script("wc_abc123def456ghi7", {**SEED_CONFIG, "user": 'A"; DROP USER X; --'}, KEY)
