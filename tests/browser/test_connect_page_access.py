"""Who the connect page calls as: a read-only key, a key revoked mid-flow (401), a connection made meanwhile (409),
and the platform's bearer token handed over in the fragment or by postMessage from the allowed embedder.

The hand-over tests stub the API with page.route to see exactly what the page sends (and a 401 it cannot make a
real service give on demand); test_connect_page_bearer.py signs in with real tokens. Every other test drives the
live service."""

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from models import ApiKey, WarehouseConnection, database
from models.api_key import PREFIX_LENGTH
from tests.browser.conftest import new_page, screenshot, sign_in
from tests.examples import issue_key

pytestmark = pytest.mark.browser

READ_ONLY_LINE = (
    "You have read-only access: you can see this connection, but only an admin (or a full API key) can create, "
    "test, edit or disconnect it, or rotate its key."
)


def test_connect_page__read_only_key__shows_no_write_buttons_and_says_why(
    page, page_url, organisation, read_only_api_key, connection, expect
):
    sign_in(page, page_url, organisation.id, read_only_api_key)

    manage = page.get_by_role("region", name="Snowflake connection")
    expect(page.get_by_role("heading", name="Snowflake connection")).to_be_focused()
    expect(manage.locator("#manage-status")).to_have_text("!Failing")
    expect(manage.get_by_role("button")).to_have_text(["Setup script"])
    expect(manage.get_by_text(READ_ONLY_LINE)).to_be_visible()
    assert manage.get_by_label("Last error").count() == 0
    expect(manage.locator("#manage-last-error pre")).to_have_text("JWT token is invalid.")
    screenshot(page, "08-manage-read-only")
    manage.get_by_role("button", name="Setup script").click()
    setup = page.get_by_role("region", name="Run the setup script in Snowflake")
    expect(setup.get_by_role("button", name="Test connection")).to_have_count(0)
    expect(setup.get_by_text(READ_ONLY_LINE)).to_be_visible()
    assert page.errors == []


def test_connect_page__key_revoked_mid_flow__signs_in_again_keeping_what_was_typed(
    page, page_url, organisation, full_key, expect
):
    sign_in(page, page_url, organisation.id, full_key)
    configure = page.get_by_role("region", name="Connect Snowflake")
    configure.get_by_label("Account identifier").fill("xy12345.us-east-1")
    configure.get_by_text("Advanced: object names").click()
    configure.get_by_label("Warehouse").fill("LOAD_WH")
    with database.connection_context():
        assert ApiKey.revoke(full_key[:PREFIX_LENGTH])

    configure.get_by_role("button", name="Create connection").click()

    expect(page.get_by_role("heading", name="Sign in")).to_be_focused()
    expect(page.get_by_role("region", name="Sign in").get_by_text("Signed out: ")).to_have_text(
        "Signed out: The API key is unknown or revoked. Sign in again to carry on where you were."
    )
    expect(page.get_by_label("Organisation ID")).to_have_value(str(organisation.id))
    screenshot(page, "09-signed-out-mid-flow")
    page.get_by_label("API key").fill(issue_key(organisation))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Connect Snowflake")).to_be_focused()
    expect(configure.get_by_label("Account identifier")).to_have_value("xy12345.us-east-1")
    expect(configure.get_by_label("Warehouse")).to_have_value("LOAD_WH")
    configure.get_by_role("button", name="Create connection").click()
    expect(page.get_by_role("heading", name="Run the setup script in Snowflake")).to_be_focused()
    with database.connection_context():
        (created,) = WarehouseConnection.select()
    assert json.loads(created.config)["warehouse"] == "LOAD_WH"
    assert page.errors == []


def test_connect_page__connection_made_meanwhile__create_shows_the_existing_one(
    page, page_url, service, organisation, full_key, expect
):
    sign_in(page, page_url, organisation.id, full_key)
    configure = page.get_by_role("region", name="Connect Snowflake")
    configure.get_by_label("Account identifier").fill("xy12345.us-east-1")
    url = f"{service}/api/v1/organisations/{organisation.id}/integrations/warehouse-connections/"
    made = httpx.post(
        url,
        json={"type": "snowflake", "account_identifier": "ab67890.eu-west-1"},
        headers={"Authorization": f"Api-Key {full_key}"},
    )
    assert made.status_code == 201

    configure.get_by_role("button", name="Create connection").click()

    expect(page.get_by_role("heading", name="Snowflake connection")).to_be_focused()
    manage = page.get_by_role("region", name="Snowflake connection")
    expect(manage.locator("#manage-notice")).to_have_text(
        "This organisation already has a connection, made meanwhile (perhaps by someone else). Here it is."
    )
    expect(manage.locator("#manage-account_identifier")).to_have_text("ab67890.eu-west-1")
    assert page.errors == []


def unsigned_token(claims: dict) -> str:
    """A JWT's shape with the claims the page reads; no signature, since only the (stubbed) server checks one."""

    def segment(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{segment({'alg': 'RS256', 'typ': 'JWT'})}.{segment(claims)}.c2lnbmF0dXJl"


def stub_api(page, calls: list, list_status: int = 200) -> None:
    """Answers the page's API calls as the service would for an admin's token (or 401 to the list)."""

    def answer(route):
        request = route.request
        calls.append((request.method, request.url.split("/api/v1", 1)[1], request.headers.get("authorization")))
        if list_status == 401:
            problem = {
                "type": "about:blank",
                "title": "Unauthorized",
                "status": 401,
                "detail": "The token has expired.",
            }
            return route.fulfill(status=401, content_type="application/problem+json", body=json.dumps(problem))
        if request.method == "GET":
            return route.fulfill(status=200, content_type="application/json", body="[]")
        detail = "'type' is a required property"
        problem = {"type": "about:blank", "title": "Bad Request", "status": 400, "detail": detail}
        route.fulfill(status=400, content_type="application/problem+json", body=json.dumps(problem))

    page.route("**/api/v1/**", answer)


def test_connect_page__token_in_fragment__calls_with_bearer_and_clears_the_address(page, service, expect):
    calls = []
    stub_api(page, calls)
    token = unsigned_token({"sub": "user-1", "organisations": {"7": "admin"}})

    page.goto(f"{service}/connect/#token={token}")

    expect(page.get_by_role("heading", name="Connect Snowflake")).to_be_focused()
    collection = "/organisations/7/integrations/warehouse-connections/"
    assert calls == [("GET", collection, f"Bearer {token}"), ("POST", collection, f"Bearer {token}")]
    assert page.url == f"{service}/connect/"
    assert page.evaluate("[sessionStorage.length, document.cookie]") == [0, ""]
    assert page.errors == []
    # The entry with the token was replaced: the one before it is the tab's blank page.
    page.go_back()
    assert page.url == "about:blank"


def test_connect_page__token_refused__brings_the_sign_in_back(page, service, expect):
    calls = []
    stub_api(page, calls, list_status=401)

    page.goto(f"{service}/connect/#token={unsigned_token({'organisations': {'7': 'admin'}})}")

    expect(page.get_by_role("heading", name="Sign in")).to_be_focused()
    expect(page.locator("#signin-reason")).to_have_text("The token has expired.")
    assert [method for method, _, _ in calls] == ["GET"]


class Embedder:
    """The platform's page on a loopback port of its own (another origin): it frames the connect page and answers its
    "ready" with a token. A real server: Chromium refuses a page that page.route made up a frame of loopback."""

    def __init__(self):
        self.page = b""
        embedder = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(embedder.page)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def frame(self, connect_url: str, token: str) -> None:
        self.page = f"""<!doctype html><title>Platform</title>
<iframe src="{connect_url}" title="Data warehouse" width="900" height="700"></iframe>
<script>
addEventListener("message", (event) => {{
  if (event.data && event.data.type === "wc-connect-ready") {{
    event.source.postMessage({{type: "wc-connect-token", token: "{token}", organisation: 7}}, event.origin);
  }}
}});
</script>""".encode()


@pytest.fixture
def embedder():
    embedder = Embedder()
    yield embedder
    embedder.server.shutdown()
    embedder.server.server_close()


def test_connect_page__token_posted_by_the_allowed_embedder__signs_in(
    browser, start_server, snowflake_emulator, embedder, expect
):
    service = start_server(WC_CONNECT_PAGE_FRAME_ANCESTORS=embedder.origin)
    page = new_page(browser, service)
    calls = []
    stub_api(page, calls)
    token = unsigned_token({"sub": "user-1"})
    embedder.frame(f"{service}/connect/", token)

    page.goto(f"{embedder.origin}/")

    expect(page.frame_locator("iframe").get_by_role("heading", name="Connect Snowflake")).to_be_visible()
    assert calls[0] == ("GET", "/organisations/7/integrations/warehouse-connections/", f"Bearer {token}")
    page.context.close()


def test_connect_page__framed_without_the_setting__is_refused_by_the_browser(page, service, embedder, expect):
    embedder.frame(f"{service}/connect/", "a.b.c")

    page.goto(f"{embedder.origin}/")

    page.wait_for_load_state("load")
    assert [frame.url for frame in page.frames] == [f"{embedder.origin}/", "chrome-error://chromewebdata/"]
