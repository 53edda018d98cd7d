"""The connect page signed in with real bearer tokens, minted by the dev issuer that `serve` verifies them against:
an admin's creates a connection, a user's only reads."""

import pytest

from models import WarehouseConnection, database
from tests.browser.conftest import new_page
from tests.browser.test_connect_page_access import READ_ONLY_LINE

pytestmark = pytest.mark.browser


@pytest.fixture
def bearer_service(start_server, snowflake_emulator, dev_issuer) -> str:
    """`serve` accepting the dev issuer's tokens, testing connections against the emulator."""
    return start_server(
        WC_SNOWFLAKE_ENDPOINT=snowflake_emulator.url,
        SNOWFLAKE_DISABLE_PLATFORM_DETECTION="true",
        WC_SNOWFLAKE_LOGIN_TIMEOUT="3",
        **dev_issuer,
    )


@pytest.fixture
def bearer_page(browser, bearer_service):
    page = new_page(browser, bearer_service)
    yield page
    page.context.close()


def test_connect_page__admin_token__creates_a_connection(bearer_page, bearer_service, mint, organisation, expect):
    bearer_page.goto(f"{bearer_service}/connect/#token={mint(organisation.id, 'admin')}")

    expect(bearer_page.get_by_role("heading", name="Connect Snowflake")).to_be_focused()
    bearer_page.get_by_label("Account identifier").fill("xy12345.us-east-1")
    bearer_page.get_by_role("button", name="Create connection").click()

    expect(bearer_page.get_by_role("heading", name="Run the setup script in Snowflake")).to_be_focused()
    assert bearer_page.url == f"{bearer_service}/connect/"
    with database.connection_context():
        assert WarehouseConnection.get(WarehouseConnection.organisation == organisation.id).type == "snowflake"
    assert bearer_page.errors == []


def test_connect_page__user_token__shows_the_connection_without_write_buttons(
    bearer_page, bearer_service, mint, organisation, connection, expect
):
    bearer_page.goto(f"{bearer_service}/connect/#token={mint(organisation.id, 'user')}")

    manage = bearer_page.get_by_role("region", name="Snowflake connection")
    expect(bearer_page.get_by_role("heading", name="Snowflake connection")).to_be_focused()
    expect(manage.get_by_role("button")).to_have_text(["Setup script"])
    expect(manage.get_by_text(READ_ONLY_LINE)).to_be_visible()
    assert bearer_page.errors == []
