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
# Every other call that carries the API key carries the bearer token instead: both schemes are exercised.
calls = itertools.count()


@schemathesis.hook
def before_call(context, case, kwargs):
    parameters = case.path_parameters if isinstance(case.path_parameters, dict) else {}
    # Generated organisation ids would nearly all meet the 403 of another organisation; the in-process
    # tests and tests/test_bad_input.py cover malformed ones.
    if "organisation_pk" in parameters:
        parameters["organisation_pk"] = ORGANISATION
    headers = case.headers if isinstance(case.headers, MutableMapping) else {}
    if headers.get("Authorization") == AUTH["Authorization"] and next(calls) % 2:
        headers["Authorization"] = BEARER
    # Rules of state the spec's schemas cannot state (tests/fuzz/aiming.py); a negative body gets its 400 anyway.
    if case.method in ("POST", "PUT", "PATCH") and not (case.meta and case.meta.is_negative_at(ParameterLocation.BODY)):
        stored = None
        if "id" in parameters:
            answer = httpx.get(
                f"{API}/organisations/{ORGANISATION}/integrations/warehouse-connections/{parameters['id']}/",
                headers=AUTH,
            )
            stored = answer.json() if answer.status_code == 200 else None
        stored_type, stored_config = (stored["type"], stored["config"]) if stored else (None, None)
        aiming.aim(case.method, case.body, stored_type, stored_config, CLOSED_PORT)
