"""Who is calling, and may they touch this organisation: the spec's `ApiKey` scheme."""

import asyncio

from connexion.exceptions import ProblemException, Unauthorized

from models import ApiKey, database

SCHEME = "api-key"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def authenticate(apikey: str, request) -> dict:
    """Resolve `Authorization: Api-Key <key>` to its organisation, or raise 401/403.

    Runs on connexion's event loop, so the database lookup happens in a worker thread.
    """
    scheme, _, key = apikey.strip().partition(" ")
    if scheme.lower() != SCHEME or not key.strip():
        raise Unauthorized(detail="The Authorization header must be 'Api-Key <key>'.")
    api_key = await asyncio.to_thread(_find_active, key.strip())
    if api_key is None:
        raise Unauthorized(detail="The API key is unknown or revoked.")
    _authorise(api_key, request)
    return {
        "sub": api_key.prefix,
        "organisation_id": api_key.organisation_id,
        "read_only": api_key.read_only,
    }


def _find_active(key: str) -> ApiKey | None:
    with database.connection_context():
        return ApiKey.find_active(key)


def _authorise(api_key: ApiKey, request) -> None:
    # The router has already matched the path and converted organisation_pk to an int.
    if request.scope["path_params"].get("organisation_pk") != api_key.organisation_id:
        raise Forbidden("This API key belongs to another organisation.")
    if api_key.read_only and request.method not in READ_METHODS:
        raise Forbidden("This API key is read-only.")


class Forbidden(ProblemException):
    def __init__(self, detail: str):
        super().__init__(status=403, title="Forbidden", detail=detail)
