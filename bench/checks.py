"""Checks: the reference answers what the service answers, the detail keys, and what --smoke asserts."""

import json
import math
import random
from pathlib import Path

from common import BenchError
from servers import DETAIL_PATH, LIST_PATH, Server, http_get


def check_semantics(servers: dict[str, Server], keys: list[tuple[int, str]]) -> dict:
    """The reference answers what the service answers: same bodies for list and detail, same 401/403/404."""
    service = servers["service"]
    sample = random.Random(1).sample(keys, min(5, len(keys)))
    problems = []
    for name, server in servers.items():
        if name == "service":
            continue
        for org, key in sample:
            cases = [(LIST_PATH.format(org=org), key)]
            status, body = http_get(f"http://127.0.0.1:{service.port}" + cases[0][0], key)
            if status == 200 and json.loads(body):
                connection = json.loads(body)[0]["id"]
                cases.append((DETAIL_PATH.format(org=org, connection=connection), key))
                cases.append((DETAIL_PATH.format(org=org, connection="wc_" + "0" * 20), key))
            other = next((o for o, _ in keys if o != org), org + 1)
            cases.append((LIST_PATH.format(org=other), key))  # another organisation's path: 403
            cases.append((LIST_PATH.format(org=org), "wck_" + "x" * 43))  # unknown key: 401
            for path, case_key in cases:
                a = http_get(f"http://127.0.0.1:{service.port}" + path, case_key)
                b = http_get(f"http://127.0.0.1:{server.port}" + path, case_key)
                same = a[0] == b[0] and (a[0] != 200 or json.loads(a[1]) == json.loads(b[1]))
                if not same:
                    problems.append(f"{name} {path}: service {a[0]}, reference {b[0]}")
    return {"checked_organisations": len(sample), "equal": not problems, "differences": problems[:10]}


def detail_keys(service: Server, keys: list[tuple[int, str]], sample: int, path: Path) -> Path:
    """org<TAB>key<TAB>connection_id for a sample of organisations, from the list endpoint (a setup pass)."""
    lines = []
    for org, key in random.Random(3).sample(keys, min(sample, len(keys))):
        status, body = http_get(f"http://127.0.0.1:{service.port}" + LIST_PATH.format(org=org), key)
        if status != 200:
            raise BenchError(f"setup pass: list for organisation {org} answered {status}")
        for connection in json.loads(body):
            lines.append(f"{org}\t{key}\t{connection['id']}\n")
    if not lines:
        raise BenchError("setup pass: no organisation has a connection; seed-demo should create one for each")
    path.write_text("".join(lines))
    return path


def sanity_failures(result: dict) -> list[str]:
    """What --smoke asserts: it ran end to end and the numbers could be true. No speed thresholds."""
    failures = []
    for db_name, db in result["databases"].items():
        for run in db["runs"]:
            where = f"{db_name} {run['config']} {run['endpoint']} round {run['round']}"
            if run["requests"] < 5 or not 0 < run["rps"] < 1e6:
                failures.append(f"{where}: {run['requests']} requests, {run['rps']} req/s")
            if any(run["errors"].values()):
                failures.append(f"{where}: errors {run['errors']}")
            if not 0 < run["p50_ms"] <= run["p99_ms"] < 10_000:
                failures.append(f"{where}: p50 {run['p50_ms']} ms, p99 {run['p99_ms']} ms")
        for name, server in db["servers"].items():
            if not 0 < server["startup_s"] < 60:
                failures.append(f"{db_name} {name}: startup {server['startup_s']} s")
            if not 5 < server["rss_mib"] < 4096:
                failures.append(f"{db_name} {name}: RSS {server['rss_mib']} MiB")
        for endpoint, ratio in db["summary"]["ratio"].items():
            if not (math.isfinite(ratio["median"]) and ratio["median"] > 0):
                failures.append(f"{db_name} {endpoint}: ratio {ratio}")
        bearer = db["summary"].get("bearer_vs_api_key")
        if bearer and not (math.isfinite(bearer["median"]) and bearer["median"] > 0):
            failures.append(f"{db_name} list-bearer: over the API key {bearer}")
        if not db["semantics"]["equal"]:
            failures.append(f"{db_name}: the reference answers differently: {db['semantics']['differences']}")
    return failures


def scenario_failures(result: dict) -> list[str]:
    """What --tests-hanging asserts: the scenario happened as designed (the targets are reported, not asserted)."""
    failures = []
    for db_name, db in result["tests"].items():
        s, healthy = db["summary"], db["healthy"]
        if s["refused"] != s["refused_expected"] or s["refused_with_retry_after"] != s["refused"]:
            failures.append(
                f"{db_name}: {s['refused']} refused 503 ({s['refused_with_retry_after']} with Retry-After), "
                f"expected {s['refused_expected']}"
            )
        alone = [call for r in db["rounds"] for call in r["refused_alone"]]
        if any(call["status"] != 503 for call in alone):
            failures.append(f"{db_name}: a test sent alone while the pool was full was not refused 503")
        if s["hung_throughout"] != s["hung_expected"]:
            failures.append(f"{db_name}: {s['hung_throughout']} tests hung throughout, expected {s['hung_expected']}")
        if s["list_socket_errors"] or s["list_requests"] < 5:
            failures.append(f"{db_name}: {s['list_requests']} list requests, {s['list_socket_errors']} socket errors")
        if healthy["passed"] != healthy["tests"]:
            failures.append(f"{db_name}: {healthy['passed']} of {healthy['tests']} healthy tests passed")
    return failures
