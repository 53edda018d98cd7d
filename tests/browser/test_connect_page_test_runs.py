"""A connection test as the page shows it while it runs (the button disabled, a progress indicator) and when the
service has too many running (503: when to retry)."""

import re
import threading

import httpx
import pytest

from tests.browser.conftest import screenshot, sign_in, wait_for_login

pytestmark = pytest.mark.browser


def test_connect_page__test_running__button_disabled_with_progress_then_retryable_failure(
    page, page_url, organisation, api_key, created, snowflake_emulator, expect
):
    snowflake_emulator.failure = "hang"
    sign_in(page, page_url, organisation.id, api_key)
    setup = page.get_by_role("region", name="Run the setup script in Snowflake")
    expect(page.get_by_role("heading", name="Run the setup script in Snowflake")).to_be_focused()

    setup.get_by_role("button", name="Test connection").click()

    expect(setup.get_by_role("button", name="Test connection")).to_be_disabled()
    expect(setup.get_by_text("Testing, step by step…")).to_be_visible()
    expect(setup).to_have_attribute("aria-busy", "true")
    expect(page.locator("#announcer")).to_have_text("Testing the connection…")
    screenshot(page, "10-testing")
    # The login hangs until the step's bound (WC_SNOWFLAKE_LOGIN_TIMEOUT, 3 s here): a timeout, worth retrying.
    failure = page.get_by_role("region", name="The connection test failed")
    expect(failure.get_by_text("Failed at: Log in with the key pair (timeout).")).to_have_text(
        "Failed at: Log in with the key pair (timeout). This may pass if you test again later, unchanged."
    )
    assert page.errors == []


def test_connect_page__tests_busy__says_when_to_retry(
    page, start_server, organisation, api_key, created, snowflake_emulator, expect
):
    service = start_server(
        WC_SNOWFLAKE_ENDPOINT=snowflake_emulator.url,
        SNOWFLAKE_DISABLE_PLATFORM_DETECTION="true",
        WC_SNOWFLAKE_LOGIN_TIMEOUT="3",
        WC_MAX_CONCURRENT_TESTS="1",
    )
    snowflake_emulator.failure = "hang"
    sign_in(page, f"{service}/connect/?organisation={organisation.id}", organisation.id, api_key)
    test_url = (
        f"{service}/api/v1/organisations/{organisation.id}/integrations/warehouse-connections/{created['id']}/test/"
    )
    headers = {"Authorization": f"Api-Key {api_key}"}
    # Someone else's test holds the only place until its login times out.
    running = threading.Thread(target=lambda: httpx.post(test_url, headers=headers, timeout=30))
    running.start()
    wait_for_login(snowflake_emulator, 1, page)

    setup = page.get_by_role("region", name="Run the setup script in Snowflake")
    setup.get_by_role("button", name="Test connection").click()

    expect(setup.get_by_role("alert")).to_have_text(
        re.compile(
            r"^Too many connection tests are running \(at most 1 at once\); try again in 5 seconds\. "
            r"Retry at \d{1,2}:\d{2}:\d{2}( [AP]M)?\.$"
        )
    )
    expect(setup.get_by_role("button", name="Test connection")).to_be_enabled()
    screenshot(page, "11-tests-busy")
    running.join(timeout=30)
    assert page.errors == []
