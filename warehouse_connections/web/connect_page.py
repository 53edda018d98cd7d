"""The connect page at /connect/: its packaged static files, each answered with the page's strict headers.

The files are read once, when the app is built; nothing is generated but the embedding origins in the HTML.
"""

import html
import json
from importlib import resources

from flask import Flask, Response, abort, redirect

PACKAGE = "warehouse_connections.connect_page"
PATH = "/connect/"
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
# In index.html: replaced by the origins allowed to hand the page a token with postMessage, and by the spec's rules
# for the fields the page checks as the person types.
EMBEDDING_ORIGINS_PLACEHOLDER = "{{embedding_origins}}"
FIELD_RULES_PLACEHOLDER = "{{field_rules}}"
NAME_FIELDS = ("warehouse", "database", "schema", "role", "user")


def content_security_policy(frame_ancestors: tuple[str, ...]) -> str:
    # 'self' only, no inline script or style and no eval; nothing the page does needs more.
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        f"base-uri 'none'; form-action 'self'; object-src 'none'; frame-ancestors {' '.join(frame_ancestors)}"
    )


def strict_headers(frame_ancestors: tuple[str, ...]) -> dict[str, str]:
    return {
        "Content-Security-Policy": content_security_policy(frame_ancestors),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        # Revalidated on every load, so a new release's page never runs with the last release's modules.
        "Cache-Control": "no-cache",
    }


def embedding_origins(frame_ancestors: tuple[str, ...]) -> str:
    """The origins the page accepts a token from: the frame ancestors that name one origin exactly."""
    return " ".join(source for source in frame_ancestors if source.startswith("http") and "*" not in source)


def field_rules(spec: dict) -> dict:
    """The create body's patterns, lengths and defaults, as the spec has them: the page checks input with these."""
    schemas = spec["components"]["schemas"]
    account, identifier = schemas["SnowflakeAccountIdentifier"], schemas["SnowflakeIdentifier"]
    create = schemas["SnowflakeConnectionCreate"]["properties"]
    name_rule = {"pattern": identifier["pattern"], "maxLength": identifier["maxLength"]}
    return {
        "account_identifier": {"pattern": account["pattern"], "maxLength": account["maxLength"]},
        "names": {name: {**name_rule, "default": create[name]["default"]} for name in NAME_FIELDS},
    }


def packaged_files(frame_ancestors: tuple[str, ...], spec: dict) -> dict[str, tuple[bytes, str]]:
    """Each servable file's name -> (bytes, media type)."""
    files = {}
    for entry in resources.files(PACKAGE).iterdir():
        suffix = "." + entry.name.rpartition(".")[2]
        if suffix in MEDIA_TYPES:
            files[entry.name] = (entry.read_bytes(), MEDIA_TYPES[suffix])
    page, media_type = files["index.html"]
    for placeholder, value in (
        (EMBEDDING_ORIGINS_PLACEHOLDER, embedding_origins(frame_ancestors)),
        (FIELD_RULES_PLACEHOLDER, json.dumps(field_rules(spec))),
    ):
        page = page.replace(placeholder.encode(), html.escape(value, quote=True).encode())
    files["index.html"] = (page, media_type)
    return files


def add_routes(flask_app: Flask, frame_ancestors: tuple[str, ...], spec: dict) -> None:
    """GET /connect/ (the page) and /connect/<file> (its modules and style)."""
    files = packaged_files(frame_ancestors, spec)
    headers = strict_headers(frame_ancestors)

    def serve(name: str = "index.html") -> Response:
        if name not in files:
            abort(404)
        body, media_type = files[name]
        return Response(body, content_type=media_type, headers=headers)

    # Flask's own redirect of /connect would reach connexion as an exception, answered without its Location.
    flask_app.add_url_rule(PATH.rstrip("/"), "connect_page_unslashed", lambda: redirect(PATH, 308))
    flask_app.add_url_rule(PATH, "connect_page", serve)
    flask_app.add_url_rule(f"{PATH}<name>", "connect_page_file", serve)
