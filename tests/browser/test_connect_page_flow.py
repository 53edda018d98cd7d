"""The connect page in Chromium, through every view as a person goes: sign-in, configure (a field wrong as typed,
then refused by the server), create, copy, a failing test with its hint, the fix in Snowflake, a passing test,
edit, disconnect. Elements are found by role and label; each view is saved under reports/connect-page/."""

import json
import re

import httpx
import pytest

from models import WarehouseConnection, database
from tests.browser.conftest import screenshot, sign_in

pytestmark = pytest.mark.browser

STEP_NAMES = [
    "Reach the account's host",
    "Log in with the key pair",
    "Use the warehouse, database and schema",
    "Read the stage",
    "Write to the stage",
    "Create a table",
]


DEFAULT_NAMES = {
    "Warehouse": "COMPUTE_WH",
    "Database": "FLAGSMITH",
    "Schema": "ANALYTICS",
    "Role": "FLAGSMITH_LOADER",
    "User": "FLAGSMITH_SERVICE",
}


def only_connection() -> WarehouseConnection:
    with database.connection_context():
        (connection,) = WarehouseConnection.select()
    return connection


def last_test_steps(service: str, organisation_id: int, connection_id: str, key: str) -> list[dict]:
    url = f"{service}/api/v1/organisations/{organisation_id}/integrations/warehouse-connections/{connection_id}/tests/"
    (latest, *_) = httpx.get(url, headers={"Authorization": f"Api-Key {key}"}).json()
    return latest["result"]["steps"]


def configure_with_errors(page, expect) -> None:
    account = page.get_by_label("Account identifier")
    account.fill("https://xy12345.snowflakecomputing.com")
    expect(account).to_have_attribute("aria-invalid", "true")
    expect(account).to_have_accessible_description(
        re.compile(r"Use letters, digits, - and _, in parts separated by dots, starting with a letter \(not a URL\)\.$")
    )
    screenshot(page, "02-configure-invalid")
    # Matches the spec's pattern: the server's own check refuses it, and its 400 names the field.
    account.fill("xy12345.snowflakecomputing.com")
    expect(account).to_have_attribute("aria-invalid", "false")
    page.get_by_role("button", name="Create connection").click()
    expect(account).to_have_accessible_description(
        re.compile(r"'account_identifier' must be the account identifier, not a host name$")
    )
    expect(account).to_be_focused()


def test_connect_page__whole_flow__walks_configure_setup_test_fix_edit_disconnect(
    page, page_url, service, organisation, full_key, snowflake_emulator, expect
):
    sign_in(page, page_url, organisation.id, full_key)
    expect(page.get_by_role("heading", name="Connect Snowflake")).to_be_focused()
    screenshot(page, "01-configure")

    configure_with_errors(page, expect)
    configure = page.get_by_role("region", name="Connect Snowflake")
    configure.get_by_label("Account identifier").fill("xy12345.us-east-1")
    configure.get_by_text("Advanced: object names").click()
    for label, default in DEFAULT_NAMES.items():
        expect(configure.get_by_label(label, exact=True)).to_have_value(default)
    page.get_by_role("button", name="Create connection").click()

    expect(page.get_by_role("heading", name="Run the setup script in Snowflake")).to_be_focused()
    connection = only_connection()
    assert page.get_by_label("Setup script", exact=True).text_content() == connection.setup_script
    assert page.get_by_label("Public key", exact=True).text_content() == connection.public_key
    fingerprint = re.search(r"RSA_PUBLIC_KEY_FP = (SHA256:\S+)", connection.setup_script)[1]
    expect(page.get_by_label("Key fingerprint", exact=True)).to_have_text(fingerprint)
    page.get_by_role("button", name="Copy the setup script").click()
    expect(page.get_by_role("status").filter(has_text="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == connection.setup_script
    screenshot(page, "03-setup")

    # The script has not run: Snowflake refuses the key.
    page.get_by_role("button", name="Test connection").click()
    expect(page.get_by_role("heading", name="The connection test failed")).to_be_focused()
    steps = last_test_steps(service, organisation.id, connection.id, full_key)
    failure = page.get_by_role("region", name="The connection test failed")
    expect(failure.get_by_text("Failed at: Log in with the key pair (key_rejected).")).to_be_visible()
    expect(failure.get_by_text(steps[1]["hint"], exact=True)).to_be_visible()
    assert failure.locator(".raw-error").text_content() == steps[1]["message"]
    expect(page.get_by_role("list", name="Every step").get_by_role("listitem")).to_have_text(
        [re.compile(r"Reach the account's host: Passed \(\d+ ms\)$"), re.compile(r"Log in with the key pair: Failed")]
        + [f"–{name}: Not run" for name in STEP_NAMES[2:]]
    )
    screenshot(page, "04-test-failed")

    # The customer runs the script: the user has the key, the stage exists.
    config = json.loads(connection.config)
    snowflake_emulator.register_user(config["account_identifier"], config["user"], connection.public_key)
    snowflake_emulator.add_stage(config["database"], config["schema"], "FLAGSMITH_STAGE")
    page.get_by_role("button", name="Back to the setup script").click()
    expect(page.get_by_role("heading", name="Run the setup script in Snowflake")).to_be_focused()
    page.get_by_role("button", name="Test connection").click()

    expect(page.get_by_role("heading", name="Snowflake connection")).to_be_focused()
    manage = page.get_by_role("region", name="Snowflake connection")
    expect(manage.get_by_text("Connected: every step of the test passed.")).to_be_visible()
    expect(page.locator("#announcer")).to_have_text("Connected: every step of the test passed.")
    expect(page.locator("#manage-status")).to_have_text("✓Connected")
    tested_at = only_connection().last_tested_at
    last_tested = page.locator("#manage-last-tested time")
    expect(last_tested).to_have_text("just now")
    expect(last_tested).to_have_attribute("datetime", tested_at.strftime("%Y-%m-%dT%H:%M:%SZ"))
    expect(last_tested).to_have_attribute("title", re.compile(str(tested_at.year)))
    screenshot(page, "05-manage-connected")

    page.get_by_role("button", name="Edit").click()
    expect(page.get_by_role("heading", name="Edit object names")).to_be_focused()
    edit = page.get_by_role("region", name="Edit object names")
    expect(edit.get_by_text("Saving changes the setup script and resets the status")).to_be_visible()
    edit.get_by_label("Warehouse", exact=True).fill("LOAD_WH")
    screenshot(page, "06-edit")
    page.get_by_role("button", name="Save changes").click()

    expect(page.get_by_role("heading", name="Run the setup script in Snowflake")).to_be_focused()
    edited = only_connection()
    assert (edited.status, json.loads(edited.config)["warehouse"]) == ("pending_customer_setup", "LOAD_WH")
    assert page.get_by_label("Setup script", exact=True).text_content() == edited.setup_script
    assert "LOAD_WH" in edited.setup_script
    page.get_by_role("button", name="Connection details").click()
    expect(page.locator("#manage-status")).to_have_text("…Waiting for setup")
    expect(page.locator("#manage-last-tested")).to_have_text("Never")

    page.get_by_role("button", name="Disconnect").click()
    dialog = page.get_by_role("dialog", name="Disconnect xy12345.us-east-1?")
    expect(dialog).to_be_visible()
    screenshot(page, "07-disconnect-dialog")
    dialog.get_by_role("button", name="Disconnect").click()

    expect(page.get_by_role("heading", name="Connect Snowflake")).to_be_focused()
    expect(configure.get_by_text("Disconnected xy12345.us-east-1. Its key pair is deleted.")).to_be_visible()
    with database.connection_context():
        assert WarehouseConnection.select().count() == 0
    assert page.errors == []
