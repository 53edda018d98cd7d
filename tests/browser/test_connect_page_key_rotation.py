"""Rotating the key from the connect page's manage view: the rotation script, completing before the script ran
(Snowflake's refusal, with its hint), completing after it (the cleanup script), a rotation left pending and found
again, and cancelling one."""

import httpx
import pytest

from models import KeyRotation, Secret, WarehouseConnection, database
from models.secret import PENDING_PRIVATE_KEY, PRIVATE_KEY
from tests.browser.conftest import login_count, screenshot, sign_in, wait_for_login

pytestmark = pytest.mark.browser


def api(service: str, organisation_id: int, connection_id: str) -> str:
    return f"{service}/api/v1/organisations/{organisation_id}/integrations/warehouse-connections/{connection_id}/"


@pytest.fixture
def connected(service, organisation, api_key, created, snowflake_emulator) -> dict:
    """The created connection after its setup script ran and a test passed: the page opens on its manage view."""
    config = created["config"]
    snowflake_emulator.register_user(config["account_identifier"], config["user"], created["public_key"])
    snowflake_emulator.add_stage(config["database"], config["schema"], "FLAGSMITH_STAGE")
    headers = {"Authorization": f"Api-Key {api_key}"}
    tested = httpx.post(f"{api(service, organisation.id, created['id'])}test/", headers=headers, json={}, timeout=30)
    assert tested.json()["success"] is True
    return created


def stored(connection_id: str) -> tuple[str, str, set[str], list[str]]:
    """The connection's public key and slot, the names of its secrets, and the public keys of pending rotations."""
    with database.connection_context():
        connection = WarehouseConnection.get_by_id(connection_id)
        secrets = {row.name for row in Secret.select().where(Secret.connection == connection_id)}
        return connection.public_key, connection.key_slot, secrets, [row.public_key for row in KeyRotation.select()]


def open_rotation(page, expect):
    page.get_by_role("region", name="Snowflake connection").get_by_role("button", name="Rotate key").click()
    expect(page.get_by_role("heading", name="Rotate the key")).to_be_focused()
    return page.get_by_role("region", name="Rotate the key")


def test_connect_page__rotate_key__refused_before_the_script_ran_then_completed_with_the_cleanup_script(
    page, page_url, service, organisation, api_key, connected, snowflake_emulator, expect
):
    sign_in(page, page_url, organisation.id, api_key)
    rotate = open_rotation(page, expect)

    (rotation,) = stored(connected["id"])[3]
    pending = httpx.get(
        f"{api(service, organisation.id, connected['id'])}key-rotation/",
        headers={"Authorization": f"Api-Key {api_key}"},
    ).json()
    assert pending["public_key"] == rotation
    expect(rotate.get_by_text("A new key pair is ready; the current key keeps working")).to_be_visible()
    expect(rotate.get_by_label("Rotation script", exact=True)).to_have_text(pending["rotation_script"])
    expect(rotate.get_by_label("New key fingerprint", exact=True)).to_have_text(pending["public_key_fingerprint"])
    expect(rotate.get_by_text("DESC USER shows it as RSA_PUBLIC_KEY_2_FP once the script has run.")).to_be_visible()
    rotate.get_by_role("button", name="Copy the rotation script").click()
    expect(rotate.get_by_role("status").filter(has_text="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == pending["rotation_script"]
    screenshot(page, "14-rotate-key")

    # The rotation script has not run: Snowflake refuses the new key, and nothing changes.
    rotate.get_by_role("button", name="Complete rotation").click()
    failure = rotate.get_by_role("group", name="Not completed")
    expect(failure.get_by_text("Failed at: Log in with the key pair (key_rejected).")).to_be_visible()
    hint = (
        "the rotation script has not run, or the user holds another key. "
        'Run the script\'s line ALTER USER "FLAGSMITH_SERVICE" SET RSA_PUBLIC_KEY_2'
    )
    expect(failure.get_by_text(hint)).to_be_visible()
    expect(failure.locator(".raw-error")).to_contain_text("JWT token is invalid.")
    expect(failure).to_be_focused()
    expect(page.locator("#announcer")).to_have_text(
        "Not completed. Failed at: Log in with the key pair (key_rejected)."
    )
    expect(rotate.get_by_role("button", name="Complete rotation")).to_be_enabled()
    assert stored(connected["id"]) == (
        connected["public_key"],
        "RSA_PUBLIC_KEY",
        {PRIVATE_KEY, PENDING_PRIVATE_KEY},
        [pending["public_key"]],
    )
    screenshot(page, "15-rotate-key-refused")

    config = connected["config"]
    snowflake_emulator.register_user(
        config["account_identifier"], config["user"], pending["public_key"], pending["key_slot"]
    )
    snowflake_emulator.login_delay = 2  # long enough to see the check run; under the service's login timeout (3 s)
    rotate.get_by_role("button", name="Complete rotation").click()
    expect(rotate.get_by_text("Checking the new key…")).to_be_visible()
    expect(rotate.get_by_role("button", name="Cancel rotation")).to_be_disabled()
    expect(rotate).to_have_attribute("aria-busy", "true")

    expect(page.get_by_role("heading", name="Remove the old key")).to_be_focused()
    rotated = page.get_by_role("region", name="Remove the old key")
    expect(rotated.get_by_text("The new key works: the connection logs in with it from now on.")).to_be_visible()
    cleanup = rotated.get_by_label("Cleanup script", exact=True)
    expect(cleanup).to_contain_text('ALTER USER "FLAGSMITH_SERVICE" UNSET RSA_PUBLIC_KEY;')
    assert stored(connected["id"]) == (pending["public_key"], "RSA_PUBLIC_KEY_2", {PRIVATE_KEY}, [])
    screenshot(page, "16-rotate-key-cleanup")

    # The manage view now shows the connection with its new key: its setup script sets the new slot.
    rotated.get_by_role("button", name="Connection details").click()
    expect(page.locator("#manage-status")).to_have_text("✓Connected")
    page.get_by_role("region", name="Snowflake connection").get_by_role("button", name="Setup script").click()
    with database.connection_context():
        setup_script = WarehouseConnection.get_by_id(connected["id"]).setup_script
    expect(page.get_by_label("Setup script", exact=True)).to_have_text(setup_script)
    expect(page.get_by_label("Public key", exact=True)).to_have_text(pending["public_key"])
    assert f"SET RSA_PUBLIC_KEY_2 = '{pending['public_key']}'" in setup_script
    assert page.errors == []


def test_connect_page__rotation_left_pending_then_user_edited__shows_it_for_the_new_user_and_cancel_discards_it(
    page, page_url, service, organisation, api_key, connected, expect
):
    headers = {"Authorization": f"Api-Key {api_key}"}
    url = f"{api(service, organisation.id, connected['id'])}key-rotation/"
    started = httpx.post(url, headers=headers).json()
    # Snowflake folds an unquoted name to upper case; the scripts (and so the page) name the user that way.
    edited = httpx.patch(
        api(service, organisation.id, connected["id"]), headers=headers, json={"user": "flagsmith_svc"}
    )
    assert edited.status_code == 200
    sign_in(page, page_url, organisation.id, api_key)
    page.get_by_role("button", name="Connection details").click()  # the edit reset the status: setup shows first

    rotate = open_rotation(page, expect)

    expect(rotate.get_by_text("This key rotation is pending since")).to_be_visible()
    current = httpx.get(url, headers=headers).json()
    assert (current["public_key"], 'ALTER USER "FLAGSMITH_SVC" SET RSA_PUBLIC_KEY_2' in current["rotation_script"]) == (
        started["public_key"],
        True,
    )
    expect(rotate.get_by_label("Rotation script", exact=True)).to_have_text(current["rotation_script"])
    assert stored(connected["id"])[3] == [started["public_key"]]
    rotate.get_by_role("button", name="Cancel rotation").click()

    expect(page.get_by_role("heading", name="Snowflake connection")).to_be_focused()
    expect(page.get_by_role("region", name="Snowflake connection").locator("#manage-notice")).to_have_text(
        "Key rotation cancelled; its new key pair is deleted. If you ran its script, remove the unused key: "
        'ALTER USER "FLAGSMITH_SVC" UNSET RSA_PUBLIC_KEY_2;'
    )
    assert stored(connected["id"]) == (connected["public_key"], "RSA_PUBLIC_KEY", {PRIVATE_KEY}, [])
    screenshot(page, "17-rotation-cancelled")
    assert page.errors == []


def cancel_elsewhere(client: httpx.Client, url: str, emulator, connection: dict) -> None:
    assert client.delete(url).status_code == 204


def complete_elsewhere(client: httpx.Client, url: str, emulator, connection: dict) -> None:
    rotation = client.get(url).json()
    config = connection["config"]
    emulator.register_user(config["account_identifier"], config["user"], rotation["public_key"], rotation["key_slot"])
    assert client.post(f"{url}complete/", timeout=30).status_code == 200


@pytest.mark.parametrize(
    ("elsewhere", "notice", "public_key"),
    [
        (
            cancel_elsewhere,
            "This key rotation was cancelled elsewhere; its new key pair is deleted. If you ran its script, remove the "
            'unused key: ALTER USER "FLAGSMITH_SERVICE" UNSET RSA_PUBLIC_KEY_2;',
            "current",
        ),
        (
            complete_elsewhere,
            "This key rotation was completed elsewhere: the connection logs in with the new key now. Remove the old "
            'key: ALTER USER "FLAGSMITH_SERVICE" UNSET RSA_PUBLIC_KEY;',
            "new",
        ),
    ],
    ids=["cancelled", "completed"],
)
def test_connect_page__rotation_ended_elsewhere__complete_says_how_on_the_manage_view(
    page, page_url, service, organisation, api_key, connected, snowflake_emulator, expect, elsewhere, notice, public_key
):
    sign_in(page, page_url, organisation.id, api_key)
    rotate = open_rotation(page, expect)
    url = f"{api(service, organisation.id, connected['id'])}key-rotation/"
    with httpx.Client(headers={"Authorization": f"Api-Key {api_key}"}) as client:
        (new_key,) = stored(connected["id"])[3]
        elsewhere(client, url, snowflake_emulator, connected)

    rotate.get_by_role("button", name="Complete rotation").click()

    expect(page.get_by_role("heading", name="Snowflake connection")).to_be_focused()
    expect(page.locator("#manage-notice")).to_have_text(notice)
    assert stored(connected["id"])[0] == {"current": connected["public_key"], "new": new_key}[public_key]
    assert stored(connected["id"])[3] == []
    assert page.title() == "Snowflake connection · Data warehouse"
    assert page.errors == []


def test_connect_page__connection_edited_while_completing__shows_the_rotation_as_it_is_now_and_why(
    page, page_url, service, organisation, api_key, connected, snowflake_emulator, expect
):
    headers = {"Authorization": f"Api-Key {api_key}"}
    sign_in(page, page_url, organisation.id, api_key)
    rotate = open_rotation(page, expect)
    config = connected["config"]
    (new_key,) = stored(connected["id"])[3]
    snowflake_emulator.register_user(config["account_identifier"], config["user"], new_key, "RSA_PUBLIC_KEY_2")
    snowflake_emulator.login_delay = 2

    logins = login_count(snowflake_emulator)  # the connected fixture's test logged in already
    rotate.get_by_role("button", name="Complete rotation").click()
    wait_for_login(snowflake_emulator, logins + 1, page)
    edited = httpx.patch(api(service, organisation.id, connected["id"]), headers=headers, json={"user": "OTHER_USER"})
    assert edited.status_code == 200

    expect(rotate.get_by_role("alert")).to_have_text(
        f"Warehouse connection '{connected['id']}' or its key rotation changed while the new key was being checked; "
        "nothing changed. Complete the rotation again."
    )
    expect(rotate.locator("#rotate-notice")).to_have_text(
        "The connection or its key rotation changed meanwhile: this is the rotation as it is now."
    )
    current = httpx.get(f"{api(service, organisation.id, connected['id'])}key-rotation/", headers=headers).json()
    assert 'ALTER USER "OTHER_USER" SET RSA_PUBLIC_KEY_2' in current["rotation_script"]
    expect(rotate.get_by_label("Rotation script", exact=True)).to_have_text(current["rotation_script"])
    expect(rotate.get_by_role("button", name="Complete rotation")).to_be_enabled()
    assert stored(connected["id"]) == (
        connected["public_key"],
        "RSA_PUBLIC_KEY",
        {PRIVATE_KEY, PENDING_PRIVATE_KEY},
        [new_key],
    )
    assert page.errors == []
