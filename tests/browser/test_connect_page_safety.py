"""The connect page's promises beyond its flow: server text shown as text, the strict headers on every file, nothing
fetched from another origin, the first load's size and time, 360 px wide, and the keyboard alone."""

import json

import pytest

from models import WarehouseConnection, database
from tests.browser.conftest import SCREENSHOTS, new_page, screenshot, sign_in

pytestmark = pytest.mark.browser

MARKUP = '<img src=x onerror="window.injected = 1"><b>bold</b>'
PAGE_FILES = {
    "/connect/",
    "/connect/connect.css",
    "/connect/icon.svg",
    "/connect/main.js",
    "/connect/api.js",
    "/connect/session.js",
    "/connect/page.js",
    "/connect/fields.js",
    "/connect/configure.js",
    "/connect/setup.js",
    "/connect/testing.js",
    "/connect/manage.js",
    "/connect/rotation.js",
}
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; object-src 'none'; frame-ancestors 'none'"
)


def test_connect_page__markup_in_server_text__shows_as_characters(
    page, page_url, organisation, api_key, connection, expect
):
    with database.connection_context():
        WarehouseConnection.update(last_error=MARKUP, setup_script=f"-- {MARKUP}\n").execute()

    sign_in(page, page_url, organisation.id, api_key)

    last_error = page.locator("#manage-last-error pre")
    expect(last_error).to_have_text(MARKUP)
    page.get_by_role("button", name="Setup script").click()
    assert page.get_by_label("Setup script", exact=True).text_content() == f"-- {MARKUP}\n"
    assert page.locator("main img, main b").count() == 0
    assert page.evaluate("window.injected") is None


def test_connect_page__every_file__has_the_strict_headers_and_nothing_leaves_the_origin(
    page, page_url, service, organisation, api_key, expect
):
    responses = []
    page.on("response", lambda response: responses.append(response))

    sign_in(page, page_url, organisation.id, api_key)
    expect(page.get_by_role("heading", name="Connect Snowflake")).to_be_focused()

    assert {response.url for response in responses} <= {
        *(f"{service}{path}" for path in PAGE_FILES),
        page_url,
        f"{service}/api/v1/organisations/{organisation.id}/integrations/warehouse-connections/",
    }
    page_files = [response for response in responses if "/connect/" in response.url]
    assert {response.url.split("?")[0].removeprefix(service) for response in page_files} == PAGE_FILES
    for response in page_files:
        headers = response.headers
        assert (headers["content-security-policy"], headers["x-content-type-options"], headers["referrer-policy"]) == (
            CSP,
            "nosniff",
            "no-referrer",
        ), response.url


def test_connect_page__first_load__under_100_kb_and_interactive_within_1_s(
    browser, service, page_url, organisation, api_key
):
    page = new_page(browser, service)
    # Interactive: when the view's heading takes the focus (show() does that last), timed from navigation start.
    page.add_init_script(
        "addEventListener('focusin', (event) => {"
        " if (event.target.tagName === 'H2') window.interactiveAt = performance.now(); }, true)"
    )
    page.goto(page_url)
    page.wait_for_function("() => document.activeElement?.id === 'signin-heading'")
    first_load = page.evaluate(
        """() => ({
            interactive_ms: window.interactiveAt,
            transfer_bytes: performance.getEntriesByType("navigation")[0].transferSize
                + performance.getEntriesByType("resource").reduce((sum, entry) => sum + entry.transferSize, 0),
            requests: 1 + performance.getEntriesByType("resource").length,
        })"""
    )
    sign_in(page, page_url, organisation.id, api_key)
    page.wait_for_function("() => document.activeElement?.id === 'configure-heading'")
    # Signed in (the key in this tab's sessionStorage): a reload is the page, its list call and its write probe.
    page.reload()
    page.wait_for_function("() => document.activeElement?.id === 'configure-heading'")
    signed_in_ms = page.evaluate("window.interactiveAt")
    page.context.close()

    figures = {**first_load, "signed_in_reload_to_configure_ms": signed_in_ms}
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "figures.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(f"connect page figures: {figures}")
    assert first_load["transfer_bytes"] < 100_000, figures
    assert first_load["interactive_ms"] < 1000, figures
    assert signed_in_ms < 1000, figures


def test_connect_page__at_360_px__nothing_is_wider_than_the_screen(
    browser, service, page_url, organisation, api_key, created, expect
):
    page = new_page(browser, service, width=360)
    sign_in(page, page_url, organisation.id, api_key)
    expect(page.get_by_role("heading", name="Run the setup script in Snowflake")).to_be_focused()

    assert page.evaluate("document.documentElement.scrollWidth") == 360
    screenshot(page, "12-setup-360px")
    page.get_by_role("button", name="Connection details").click()
    expect(page.get_by_role("heading", name="Snowflake connection")).to_be_focused()
    assert page.evaluate("document.documentElement.scrollWidth") == 360
    screenshot(page, "13-manage-360px")
    page.context.close()


def tab_to(page, name: str) -> None:
    """Presses Tab until the focused control's accessible name (its aria-label, else its text) is `name`."""
    for _ in range(25):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "(document.activeElement.getAttribute('aria-label') || document.activeElement.textContent).trim()"
        )
        if focused == name:
            return
    raise AssertionError(f"Tab never reached {name!r}")


def test_connect_page__keyboard_alone__signs_in_creates_tests_and_disconnects(
    page, page_url, organisation, api_key, expect
):
    page.goto(page_url)
    expect(page.get_by_role("heading", name="Sign in")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Organisation ID")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.type(api_key)
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Connect Snowflake")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Account identifier")).to_be_focused()
    page.keyboard.type("xy12345.us-east-1")
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Run the setup script in Snowflake")).to_be_focused()
    tab_to(page, "Copy the setup script")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").filter(has_text="Copied")).to_be_visible()
    tab_to(page, "Connection details")
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Snowflake connection")).to_be_focused()
    tab_to(page, "Disconnect")
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Disconnect xy12345.us-east-1?")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("button", name="Disconnect")).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(dialog.get_by_role("button", name="Disconnect")).to_be_focused()
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Connect Snowflake")).to_be_focused()
    with database.connection_context():
        assert WarehouseConnection.select().count() == 0
    assert page.errors == []
