"""Checks in front of connexion's router, for requests no operation can serve.

connexion routes with Starlette, then Flask routes again with werkzeug. The two disagree on paths with
control characters or empty segments (`%0A`, `%2F`): 500s, and redirects to other URLs. Starlette's
`int` converter turns an organisation id that is not a number into a bare 404. And nothing bounds a
request's headers, nor its body's size or how long it takes to arrive. So, before routing:
- more than WC_MAX_HEADERS headers is a 431 (their bytes are bounded before: web/http_protocol.py);
- a path with control characters or `//` is a 404 (no path of the spec can contain them);
- a path of the spec whose integer parameter is not an integer in range is a 400 naming it;
- a body without a Content-Type is a 415;
- a body over the limit is a 413, decided from Content-Length or while it streams in;
- a body not in within WC_BODY_TIMEOUT of the request's headers is a 408, and the connection is closed.
"""

import asyncio
import re

from connexion.exceptions import ProblemException

UNROUTABLE = re.compile(r"[\x00-\x1f\x7f]|//")
DIGITS = re.compile(r"[0-9]{1,20}")
MAX_BODY_BYTES = 64 * 1024


def integer_parameters(spec: dict, base_path: str) -> list[tuple[re.Pattern, dict[str, dict]]]:
    """For each path of the spec with integer parameters: its regex and those parameters' schemas."""
    shared = spec["components"]["parameters"]
    routes = []
    for template, item in spec["paths"].items():
        parameters = [shared[p["$ref"].rsplit("/", 1)[1]] if "$ref" in p else p for p in item.get("parameters", [])]
        integers = {
            p["name"]: p["schema"] for p in parameters if p["in"] == "path" and p["schema"]["type"] == "integer"
        }
        if integers:
            pattern = re.sub(r"\\\{([^}]+)\\\}", r"(?P<\1>[^/]+)", re.escape(base_path + template))
            routes.append((re.compile(pattern), integers))
    return routes


class RequestGuardMiddleware:
    def __init__(
        self, app, integer_routes: list[tuple[re.Pattern, dict[str, dict]]], max_headers: int, body_timeout: float
    ):
        self.app = app
        self.integer_routes = integer_routes
        self.max_headers = max_headers
        self.body_timeout = body_timeout

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if len(scope["headers"]) > self.max_headers:
            raise ProblemException(
                status=431,
                title="Request Header Fields Too Large",
                detail=f"The request has more than {self.max_headers} headers.",
            )
        path = scope["path"]
        if UNROUTABLE.search(path):
            raise ProblemException(
                status=404, title="Not Found", detail="No resource has this path: it has control characters or '//'."
            )
        self._check_integer_parameters(path)
        headers = dict(scope["headers"])
        has_body = headers.get(b"content-length", b"0") not in (b"0", b"") or b"transfer-encoding" in headers
        if not has_body:
            return await self.app(scope, receive, send)
        if not headers.get(b"content-type"):
            # connexion would guess JSON; a client that names no type gets told to name it.
            raise ProblemException(
                status=415, title="Unsupported Media Type", detail="The request has a body but no Content-Type."
            )
        receive = self._bounded(headers, receive)
        if b"content-length" in headers:
            await self.app(scope, receive, send)
            return
        # connexion reads a body without Content-Length as no body ("RequestBody is required"): read a
        # chunked one here, within the bounds, and hand it on with its length.
        body = await _read_all(receive)
        headers[b"content-length"] = str(len(body)).encode()
        scope = {**scope, "headers": [(name, value) for name, value in headers.items() if name != b"transfer-encoding"]}
        await self.app(scope, _replay(body), send)

    def _check_integer_parameters(self, path: str) -> None:
        for pattern, integers in self.integer_routes:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            for name, schema in integers.items():
                value = match.group(name)
                low, high = schema.get("minimum"), schema.get("maximum")
                if not DIGITS.fullmatch(value) or not low <= int(value) <= high:
                    raise ProblemException(
                        status=400, title="Bad Request", detail=f"'{name}' must be an integer from {low} to {high}."
                    )

    def _bounded(self, headers: dict, receive):
        """`receive` for the body: a 413 past MAX_BODY_BYTES, a 408 if it is not all in by the deadline."""
        declared = headers.get(b"content-length", b"0")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            raise _too_large()
        deadline = asyncio.get_running_loop().time() + self.body_timeout
        received, more = 0, True

        async def receive_within_bounds():
            nonlocal received, more
            if not more:
                # The body is in: what may follow (a disconnect) takes as long as it takes.
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise _too_slow(self.body_timeout) from None
            received += len(message.get("body", b""))
            more = message.get("more_body", False)
            if received > MAX_BODY_BYTES:
                raise _too_large()
            return message

        return receive_within_bounds


async def _read_all(receive) -> bytes:
    chunks, more = [], True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


def _replay(body: bytes):
    sent = False

    async def receive():
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _too_slow(seconds: float) -> ProblemException:
    return ProblemException(
        status=408,
        title="Request Timeout",
        detail=f"The request body did not arrive within {seconds:g} seconds.",
        # uvicorn closes the connection after this answer: what is left of the body never needs reading.
        headers={"Connection": "close"},
    )


def _too_large() -> ProblemException:
    return ProblemException(
        status=413, title="Content Too Large", detail=f"The request body is larger than {MAX_BODY_BYTES} bytes."
    )
