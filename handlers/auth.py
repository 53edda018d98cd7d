"""Who is calling, and may they touch this organisation: the spec's `ApiKey` and `BearerAuth` schemes.

Both return the same token_info, `{"sub", "organisation_id", "read_only"}`, which the log line and the handlers
read. Both run on connexion's event loop.
"""

from connexion.exceptions import ProblemException, Unauthorized
from connexion.security import NO_VALUE

from models import ApiKey, Organisation, database
from models.api_key import ActiveKey, hash_key
from warehouse_connections.tokens.errors import InvalidToken
from warehouse_connections.web import app_state

SCHEME = "api-key"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# A token's role in an organisation: admin may call every operation, user only the reads.
ROLES = {"admin": False, "user": True}
# Bounds the memory of the organisations remembered to exist.
MAX_KNOWN_ORGANISATIONS = 100_000


async def authenticate(apikey: str, request) -> dict:
    """Resolve `Authorization: Api-Key <key>` to its organisation, or raise 401/403."""
    scheme, _, key = apikey.strip().partition(" ")
    key = key.strip()
    if scheme.lower() == "bearer":
        return NO_VALUE  # the BearerAuth scheme's
    if scheme.lower() != SCHEME or not key:
        raise Unauthorized(detail="The Authorization header must be 'Api-Key <key>' or 'Bearer <token>'.")
    state = app_state.of_request(request.scope)
    digest = hash_key(key)
    caller = state.callers.get(digest)
    if caller is False:
        caller = await state.run_blocking(request.scope, _find_caller, key)
        state.callers.put(digest, caller)
    if caller is None:
        raise Unauthorized(detail="The API key is unknown or revoked.")
    _authorise(caller, request)
    # For the log line (web/observability.py), which names the caller by its sub.
    request.context["auth_scheme"] = "api-key"
    return {"sub": caller.prefix, "organisation_id": caller.organisation_id, "read_only": caller.read_only}


async def authenticate_bearer(token: str, request) -> dict:
    """Resolve `Authorization: Bearer <JWT>` to its subject and role in the path's organisation, or raise 401/403
    (503 while the issuer's keys have never been fetched: KeysUnavailable)."""
    state = app_state.of_request(request.scope)
    if state.tokens is None:
        raise InvalidBearerToken("This service accepts no bearer tokens; use an API key.")
    try:
        claims = await state.tokens.claims(token.strip())
    except InvalidToken as error:
        raise InvalidBearerToken(str(error)) from None
    organisation_pk = request.scope["path_params"].get("organisation_pk")
    read_only = _role(claims, state.tokens.settings.organisations_claim, organisation_pk, request.method)
    if organisation_pk not in state.known_organisations:
        if not await state.run_blocking(request.scope, _organisation_exists, organisation_pk):
            raise Forbidden(f"Organisation {organisation_pk} is not known to this service.")
        if len(state.known_organisations) >= MAX_KNOWN_ORGANISATIONS:
            state.known_organisations.clear()
        state.known_organisations.add(organisation_pk)
    request.context["auth_scheme"] = "bearer"
    return {"sub": claims["sub"], "organisation_id": organisation_pk, "read_only": read_only}


def _role(claims: dict, claim: str, organisation_pk: int, method: str) -> bool:
    """Whether the token may only read in the organisation; raises 401 without the claim, 403 without a role."""
    roles = claims.get(claim)
    if not isinstance(roles, dict):
        raise InvalidBearerToken(f"The token has no '{claim}' object.")
    role = roles.get(str(organisation_pk))
    if not isinstance(role, str) or role not in ROLES:
        raise Forbidden(f"This token gives no role in organisation {organisation_pk}.")
    if ROLES[role] and method not in READ_METHODS:
        raise Forbidden(f"This token's role in organisation {organisation_pk} is 'user', which may only read.")
    return ROLES[role]


def _find_caller(key: str) -> ActiveKey | None:
    with database.connection_context():
        return ApiKey.find_active(key)


def _organisation_exists(organisation_pk: int) -> bool:
    with database.connection_context():
        return Organisation.exists_with_id(organisation_pk)


def _authorise(caller: ActiveKey, request) -> None:
    # The router has already matched the path and converted organisation_pk to an int.
    if request.scope["path_params"].get("organisation_pk") != caller.organisation_id:
        raise Forbidden("This API key belongs to another organisation.")
    if caller.read_only and request.method not in READ_METHODS:
        raise Forbidden("This API key is read-only.")


class Forbidden(ProblemException):
    def __init__(self, detail: str):
        super().__init__(status=403, title="Forbidden", detail=detail)


class InvalidBearerToken(Unauthorized):
    """A 401 whose challenge says why the token was refused (RFC 6750, 3.1); the reason names no part of it."""

    def __init__(self, reason: str):
        super().__init__(detail=reason)
        # A quoted-string (RFC 9110, 5.6.4) cannot hold a bare quote or backslash.
        description = reason.replace("\\", "").replace('"', "'")
        self.headers = {"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{description}"'}
