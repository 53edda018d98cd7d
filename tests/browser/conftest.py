"""What the browser tests share: Debian's Chromium under Playwright, the service on loopback testing against the
Snowflake emulator, a page per test, and screenshots under reports/connect-page/.

Playwright's own browser download cannot be reached here; Debian's `chromium` package is driven instead.
"""

import importlib.util
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.examples import issue_key

CHROMIUM = os.environ.get("WC_CHROMIUM", "/usr/bin/chromium")
# Set where Chromium is part of the environment (the `browser` tox env, CI): its absence fails instead of skipping.
REQUIRE_BROWSER = os.environ.get("WC_REQUIRE_BROWSER") == "1"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "reports" / "connect-page"
# Every wait on the page: the views answer in well under a second on loopback; a connection test takes longer.
TIMEOUT_MS = 15_000


def require(available: object, reason: str) -> None:
    if available:
        return
    if REQUIRE_BROWSER:
        pytest.fail(f"{reason} (WC_REQUIRE_BROWSER=1: this environment must provide it)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser():
    require(importlib.util.find_spec("playwright"), "playwright is not installed (pip install playwright)")
    require(shutil.which(CHROMIUM), f"{CHROMIUM} is missing (apt-get install chromium)")
    # Imported here: the default suite collects this folder without playwright installed.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def expect(browser):
    """Playwright's assertions, which wait up to TIMEOUT_MS for the page to get there."""
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    return expect


@pytest.fixture
def service(start_server, snowflake_emulator) -> str:
    """`serve` on loopback, testing connections against the emulator, checking keys on every request."""
    return start_server(
        WC_SNOWFLAKE_ENDPOINT=snowflake_emulator.url,
        SNOWFLAKE_DISABLE_PLATFORM_DETECTION="true",
        WC_API_KEY_CACHE_SECONDS="0",
        WC_SNOWFLAKE_LOGIN_TIMEOUT="3",
    )


@pytest.fixture
def page_url(service, organisation) -> str:
    return f"{service}/connect/?organisation={organisation.id}"


def is_script_error(line) -> bool:
    # Chromium logs every 4xx answer as "Failed to load resource"; the page expects some (the write probe's 400).
    return line.type == "error" and not line.text.startswith("Failed to load resource")


def new_page(browser, base_url: str, width: int = 1024):
    """A page in a context of its own (its own sessionStorage), which may write to and read the clipboard."""
    context = browser.new_context(viewport={"width": width, "height": 900}, base_url=base_url)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on("console", lambda line: page.errors.append(line.text) if is_script_error(line) else None)
    return page


@pytest.fixture
def page(browser, service) -> Iterator:
    page = new_page(browser, service)
    yield page
    page.context.close()


def screenshot(page, name: str) -> None:
    """Saves the whole page as reports/connect-page/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


def sign_in(page, page_url: str, organisation_id: int, key: str) -> None:
    page.goto(page_url)
    page.get_by_label("Organisation ID").fill(str(organisation_id))
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()


@pytest.fixture
def full_key(organisation) -> str:
    return issue_key(organisation)


def login_count(emulator) -> int:
    return sum(1 for entry in emulator.requests if "login" in entry)


def wait_for_login(emulator, expect_count: int, page) -> None:
    """Until the emulator has had `expect_count` login requests (polled through the page's clock)."""
    for _ in range(100):
        if login_count(emulator) >= expect_count:
            return
        page.wait_for_timeout(50)
    raise AssertionError("the login never reached the emulator")
