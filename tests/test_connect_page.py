"""The connect page's files as the service serves them at /connect/ (warehouse_connections/web/connect_page.py):
each with the strict headers, the spec's field rules and the embedding origins put into the page. The page itself
is tested in a browser: tests/browser/ (tox -e browser)."""

import html
import json
import re

import pytest
import yaml

from openapi import SPEC_PATH
from warehouse_connections.web import connect_page

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; object-src 'none'; frame-ancestors 'none'"
)
ASSETS = {
    "main.js": "text/javascript; charset=utf-8",
    "api.js": "text/javascript; charset=utf-8",
    "connect.css": "text/css; charset=utf-8",
    "icon.svg": "image/svg+xml",
}


def meta(page: str, name: str) -> str:
    return html.unescape(re.search(rf'<meta name="{name}" content="([^"]*)">', page)[1])


def test_connect_page__get__serves_the_page_with_the_strict_headers(anonymous_client):
    response = anonymous_client.get("/connect/")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert (
        response.headers["content-security-policy"],
        response.headers["x-content-type-options"],
        response.headers["referrer-policy"],
        response.headers["cache-control"],
    ) == (CSP, "nosniff", "no-referrer", "no-cache")
    assert meta(response.text, "wc-embedding-origins") == ""


@pytest.mark.parametrize(("name", "media_type"), ASSETS.items())
def test_connect_page__asset__served_with_its_type_and_the_strict_headers(anonymous_client, name, media_type):
    response = anonymous_client.get(f"/connect/{name}")

    assert (response.status_code, response.headers["content-type"]) == (200, media_type)
    assert (response.headers["content-security-policy"], response.headers["x-content-type-options"]) == (CSP, "nosniff")


def test_connect_page__field_rules__are_the_specs_patterns_lengths_and_defaults(anonymous_client):
    schemas = yaml.safe_load(SPEC_PATH.read_text())["components"]["schemas"]
    identifier = schemas["SnowflakeIdentifier"]

    rules = json.loads(meta(anonymous_client.get("/connect/").text, "wc-field-rules"))

    assert rules["account_identifier"] == {
        "pattern": schemas["SnowflakeAccountIdentifier"]["pattern"],
        "maxLength": schemas["SnowflakeAccountIdentifier"]["maxLength"],
    }
    create = schemas["SnowflakeConnectionCreate"]["properties"]
    assert rules["names"] == {
        name: {
            "pattern": identifier["pattern"],
            "maxLength": identifier["maxLength"],
            "default": create[name]["default"],
        }
        for name in ("warehouse", "database", "schema", "role", "user")
    }


def test_connect_page__unknown_file__returns_404(anonymous_client):
    assert anonymous_client.get("/connect/admin.js").status_code == 404


def test_connect_page__without_the_slash__redirects_to_it(anonymous_client):
    response = anonymous_client.get("/connect", follow_redirects=False)

    assert (response.status_code, response.headers["location"]) == (308, "/connect/")


def test_connect_page__frame_ancestors_set__csp_names_them_and_the_page_takes_tokens_from_exact_origins():
    ancestors = ("'self'", "https://app.example.com", "https://*.example.org")
    spec = yaml.safe_load(SPEC_PATH.read_text())

    page = connect_page.packaged_files(ancestors, spec)["index.html"][0].decode()

    assert connect_page.strict_headers(ancestors)["Content-Security-Policy"].endswith(
        "; frame-ancestors 'self' https://app.example.com https://*.example.org"
    )
    assert meta(page, "wc-embedding-origins") == "https://app.example.com"
