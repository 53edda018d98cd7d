"""Schemathesis CLI hooks (SCHEMATHESIS_HOOKS=tests.fuzz.hooks) that aim generated requests.

Changed in `before_call`, so schemathesis re-checks whether each request is still a negative one.
"""

import itertools
import os
from collections.abc import MutableMapping

import httpx
import schemathesis

ORGANISATION = int(os.environ["WC_FUZZ_ORGANISATION"])
API = os.environ["WC_FUZZ_API"]
AUTH = {"Authorization": f"Api-Key {os.environ['WC_FUZZ_API_KEY']}"}
BEARER = f"Bearer {os.environ['WC_FUZZ_BEARER_TOKEN']}"
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
    # A PUT may not change account_identifier (400): a rule of state that the spec's schemas cannot state.
    if case.method == "PUT" and isinstance(case.body, dict) and "account_identifier" in case.body:
        stored = httpx.get(
            f"{API}/organisations/{ORGANISATION}/integrations/warehouse-connections/{parameters.get('id')}/",
            headers=AUTH,
        )
        if stored.status_code == 200:
            case.body["account_identifier"] = stored.json()["config"]["account_identifier"]
