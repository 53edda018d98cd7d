"""Schemathesis CLI hooks (SCHEMATHESIS_HOOKS=tests.fuzz.hooks) that aim generated requests.

Changed in `before_call`, so schemathesis re-checks whether each request is still a negative one.
"""

import itertools
import os
from collections.abc import MutableMapping

import httpx
import schemathesis
from schemathesis.core.parameters import ParameterLocation

from tests.fuzz import aiming

ORGANISATION = int(os.environ["WC_FUZZ_ORGANISATION"])
API = os.environ["WC_FUZZ_API"]
AUTH = {"Authorization": f"Api-Key {os.environ['WC_FUZZ_API_KEY']}"}
BEARER = f"Bearer {os.environ['WC_FUZZ_BEARER_TOKEN']}"
# Where PostgreSQL connections point: a loopback port nothing listens on (the server allows private hosts).
CLOSED_PORT = int(os.environ["WC_FUZZ_CLOSED_PORT"])
LIST = f"{API}/organisations/{ORGANISATION}/integrations/warehouse-connections/"
# Every other call that carries the API key carries the bearer token instead: both schemes are exercised.
calls = itertools.count()
# Every other call of a connection names the organisation's own (see `before_call`).
calls_of_a_connection = itertools.count()
# The type each create that will be stored gets: both types are stored in turn, however the run deletes them.
types_to_store = itertools.cycle(aiming.SMALLEST_CREATE)


@schemathesis.hook
def before_call(context, case, kwargs):
    parameters = case.path_parameters if isinstance(case.path_parameters, dict) else {}
    # Generated organisation ids would nearly all meet the 403 of another organisation; the in-process
    # tests and tests/test_bad_input.py cover malformed ones.
    if "organisation_pk" in parameters:
        parameters["organisation_pk"] = ORGANISATION
    # Generated and linked ids mostly name no connection: naming the organisation's own every other call lets
    # tests, edits, rotations and deletes reach their logic, whichever connection is stored at the time.
    stored = None
    if "id" in parameters and not is_negative_at(case, ParameterLocation.PATH) and next(calls_of_a_connection) % 2:
        stored = next(iter(stored_connections()), None)
        if stored:
            parameters["id"] = stored["id"]
    headers = case.headers if isinstance(case.headers, MutableMapping) else {}
    if headers.get("Authorization") == AUTH["Authorization"] and next(calls) % 2:
        headers["Authorization"] = BEARER
    # Rules of state the spec's schemas cannot state (tests/fuzz/aiming.py); a negative body gets its 400 anyway.
    if case.method in ("POST", "PUT", "PATCH") and not is_negative_at(case, ParameterLocation.BODY):
        if is_create_to_be_stored(case, parameters):
            # The type's turn, so that a run never ends up testing one type only.
            case.body.clear()
            case.body.update(aiming.SMALLEST_CREATE[next(types_to_store)])
        if "id" in parameters and stored is None:
            answer = httpx.get(f"{LIST}{parameters['id']}/", headers=AUTH)
            stored = answer.json() if answer.status_code == 200 else None
        stored_type, stored_config = (stored["type"], stored["config"]) if stored else (None, None)
        aiming.aim(case.method, case.body, stored_type, stored_config, CLOSED_PORT)


def is_negative_at(case, location: ParameterLocation) -> bool:
    return bool(case.meta and case.meta.is_negative_at(location))


def is_create_to_be_stored(case, parameters: dict) -> bool:
    """A valid create now would be stored: the organisation has no connection."""
    return case.method == "POST" and "id" not in parameters and isinstance(case.body, dict) and not stored_connections()


def stored_connections() -> list[dict]:
    return httpx.get(LIST, headers=AUTH).json()
