"""Who is calling, and may they touch this organisation: the spec's `ApiKey` scheme."""

from connexion.exceptions import ProblemException, Unauthorized

from models import ApiKey, database
from models.api_key import ActiveKey, hash_key
from warehouse_connections.web import app_state

SCHEME = "api-key"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def authenticate(apikey: str, request) -> dict:
    """Resolve `Authorization: Api-Key <key>` to its organisation, or raise 401/403.

    Runs on connexion's event loop.
    """
    scheme, _, key = apikey.strip().partition(" ")
    key = key.strip()
    if scheme.lower() != SCHEME or not key:
        raise Unauthorized(detail="The Authorization header must be 'Api-Key <key>'.")
    state = app_state.of_request(request.scope)
    digest = hash_key(key)
    caller = state.callers.get(digest)
    if caller is False:
        caller = await state.run_blocking(request.scope, _find_caller, key)
        state.callers.put(digest, caller)
    if caller is None:
        raise Unauthorized(detail="The API key is unknown or revoked.")
    _authorise(caller, request)
    return {"sub": caller.prefix, "organisation_id": caller.organisation_id, "read_only": caller.read_only}


def _find_caller(key: str) -> ActiveKey | None:
    with database.connection_context():
        return ApiKey.find_active(key)


def _authorise(caller: ActiveKey, request) -> None:
    # The router has already matched the path and converted organisation_pk to an int.
    if request.scope["path_params"].get("organisation_pk") != caller.organisation_id:
        raise Forbidden("This API key belongs to another organisation.")
    if caller.read_only and request.method not in READ_METHODS:
        raise Forbidden("This API key is read-only.")


class Forbidden(ProblemException):
    def __init__(self, detail: str):
        super().__init__(status=403, title="Forbidden", detail=detail)
