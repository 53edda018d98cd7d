"""The problem+json bodies the service answers with, as the tests expect them."""


def problem(status: int, title: str, detail: str) -> dict:
    """An RFC 9457 body as the service writes it."""
    return {"type": "about:blank", "title": title, "status": status, "detail": detail}


def assert_problem(response, status: int, title: str, detail: str, **extra) -> None:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {**problem(status, title, detail), **extra}


def assert_database_unavailable(response) -> None:
    """The 503 every API call answers while the database cannot be used."""
    assert response.headers["retry-after"] == "5"
    assert_problem(
        response,
        503,
        "Service Unavailable",
        "The database cannot be reached; try again shortly.",
        request_id=response.headers["x-request-id"],
    )
