"""Issue 19's scenario: the list endpoint while connection tests hang, the refusals beyond the limit, a healthy test.

Per database, on the seeded data: first the service, pointed at the Snowflake emulator, answers healthy tests one
after another, timed end to end (its list endpoint also names the connections the scenario tests). Then each round
starts the service pointed at a port of the bench's own, which refuses until the list has been measured at rest,
then accepts and never answers: 20 tests go at once (20 organisations), the refused ones are timed one by one, and
the list is measured again while the admitted ones hang."""

import json
import random
import statistics
from pathlib import Path

from common import CLIENT_CPU, BenchError, Options, log, this_thread_on, tool
from databases import Database, environment, read_keys, seed, sqlite_version, wrk_keys_file
from hung_warehouse import SilentListener, Target, TestBurst, post_test
from load import run_wrk
from servers import LIST_PATH, Config, Server, free_port, http_get

MAX_CONCURRENT_TESTS = 4  # WC_MAX_CONCURRENT_TESTS, the service's default, set explicitly so the bench knows it
REFUSALS_ALONE = 5  # refused tests sent one after another once the burst is answered
HANGING = Config("service-tests-hanging", "service, WC_SNOWFLAKE_ENDPOINT at a port that never answers", False)
HEALTHY = Config("service-tests-healthy", "service, WC_SNOWFLAKE_ENDPOINT at the Snowflake emulator", False)


def login_timeout(options: Options) -> int:
    """WC_SNOWFLAKE_LOGIN_TIMEOUT for the hung tests: they must outlast the warm-up and both measurements."""
    return max(60, 2 * (options.warmup + 2 * options.duration))


def tests_database(db_kind: str, options: Options, workdir: Path, secret_key: str) -> dict:
    log(f"== {db_kind}: {options.organisations} organisations, connection tests beside the list endpoint")
    dir_ = workdir / db_kind
    dir_.mkdir()
    db = Database(db_kind, dir_, options.pg_url, options.keep)
    try:
        env = environment(db, dir_, options, secret_key)
        keys_file = dir_ / "keys.tsv"
        seconds = seed(env, options.organisations, keys_file, dir_)
        log(f"  seed-demo: {options.organisations} organisations in {seconds:.1f} s")
        db.settle()
        keys = read_keys(keys_file)
        healthy, targets = _healthy_tests(options, env, dir_, keys)
        wrk_file = wrk_keys_file(keys, options.max_wrk_keys, dir_ / "wrk-list.tsv")
        rounds = [_hanging_round(n, options, env, dir_, targets, wrk_file) for n in range(1, options.rounds + 1)]
        return {
            "database": db_kind,
            "database_version": getattr(db, "server_version", None) or sqlite_version(),
            "organisations": options.organisations,
            "seed_seconds": round(seconds, 2),
            "max_concurrent_tests": MAX_CONCURRENT_TESTS,
            "login_timeout_s": login_timeout(options),
            "rounds": rounds,
            "summary": _summary(rounds),
            "healthy": healthy,
        }
    finally:
        db.drop()


def _start(config: Config, env: dict, dir_: Path, probe: tuple[int, str]) -> Server:
    port = free_port()
    command = tool("warehouse-connections", "Install the project: python -m pip install -e .")
    command = [command, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    server = Server(config, command, env, port, dir_ / f"{config.name}.log")
    server.startup_s = server.start(probe)
    return server


def _targets(server: Server, keys: list[tuple[int, str]], count: int) -> list[Target]:
    """The connections of `count` organisations, from the list endpoint."""
    if len(keys) < count:
        raise BenchError(f"the scenario tests {count} organisations' connections; seed at least that many")
    targets = []
    for org, key in random.Random(19).sample(keys, count):
        status, body = http_get(f"http://127.0.0.1:{server.port}" + LIST_PATH.format(org=org), key)
        if status != 200 or not json.loads(body):
            raise BenchError(f"setup pass: organisation {org}'s list answered {status} with no connection")
        connection = json.loads(body)[0]
        config = connection["config"]
        targets.append(
            Target(org, key, connection["id"], config["account_identifier"], config["user"], connection["public_key"])
        )
    return targets


def _healthy_tests(options: Options, env: dict, dir_: Path, keys: list[tuple[int, str]]) -> tuple[dict, list[Target]]:
    """The service pointed at the emulator, which knows the tested connections' keys: tests one after another."""
    from warehouse_connections.devtools.snowflake_emulator.emulator import SnowflakeEmulator

    # The emulator stands for a remote account: it and the client run on wrk's CPU, not the service's.
    with this_thread_on(CLIENT_CPU), SnowflakeEmulator() as emulator:
        emulator.every_stage_exists = True  # as `snowflake-emulator` does: the setup script ran on every account
        server = _start(HEALTHY, {**env, "WC_SNOWFLAKE_ENDPOINT": emulator.url}, dir_, keys[0])
        try:
            targets = _targets(server, keys, max(options.hanging_tests, options.healthy_tests))
            # The tested connections' users only: command.py's resolve_user reads every connection at every login,
            # which on 10,000 organisations would time the emulator's lookup, not the service.
            for target in targets:
                emulator.register_user(target.account_identifier, target.user, target.public_key)
            calls = [post_test(server.port, target, timeout=30) for target in targets[: options.healthy_tests]]
        finally:
            server.stop()
    result = _healthy_summary(calls)
    log(
        f"  healthy tests: {result['passed']} of {result['tests']} passed; the first {result['first_s']:.3f} s, "
        f"then median {result['median_s']:.3f} s, max {result['max_s']:.3f} s"
    )
    return result, targets


def _healthy_summary(calls: list) -> dict:
    seconds = [call.seconds if call.seconds is not None else float("nan") for call in calls]
    # The first test after start-up pays for what the process loads on first use; shown apart from the others.
    after_first = seconds[1:] or seconds
    return {
        "tests": len(calls),
        "passed": sum(1 for call in calls if call.status == 200 and json.loads(call.body).get("success")),
        "first_s": round(seconds[0], 3),
        "median_s": round(statistics.median(after_first), 3),
        "max_s": round(max(after_first), 3),
        "median_all_s": round(statistics.median(seconds), 3),
        "max_all_s": round(max(seconds), 3),
        "calls": [call.record() for call in calls],
    }


def _hanging_round(number: int, options: Options, env: dict, dir_: Path, targets: list[Target], wrk_file) -> dict:
    """The service pointed at a port that never answers: the list at rest, then while the tests hang."""
    with SilentListener() as listener:
        settings = {
            "WC_SNOWFLAKE_ENDPOINT": listener.url,
            "WC_SNOWFLAKE_LOGIN_TIMEOUT": str(login_timeout(options)),
            "WC_MAX_CONCURRENT_TESTS": str(MAX_CONCURRENT_TESTS),
            # The hung tests hold their requests; the round's end need not wait the default 10 s for them.
            "WC_SHUTDOWN_TIMEOUT": "1",
        }
        server = _start(HANGING, {**env, **settings}, dir_, (targets[0].organisation, targets[0].key))
        try:
            # The process's first test loads the connector (its time is reported apart); refused, it ends at once.
            first_test = post_test(server.port, targets[0], timeout=30)
            if options.warmup:
                run_wrk(server, wrk_file, "list", options.warmup, options)
            at_rest = run_wrk(server, wrk_file, "list", options.duration, options)
            listener.listen()
            burst = TestBurst(server.port, targets[: options.hanging_tests], timeout=login_timeout(options) + 30)
            with this_thread_on(CLIENT_CPU):  # the burst's threads, like wrk, off the service's CPU
                burst.fire().wait_for_answers(options.hanging_tests - MAX_CONCURRENT_TESTS, seconds=10)
            answered = [call.record() for call in burst.answered()]
            # The same refusal with nothing beside it: what one costs, without the burst's queue.
            alone = [post_test(server.port, target, timeout=10).record() for target in targets[:REFUSALS_ALONE]]
            hanging = run_wrk(server, wrk_file, "list", options.duration, options)
            hung_throughout = burst.pending()
            reached = listener.accepted
        finally:
            server.stop()
        burst.join(seconds=10)
    round_ = {
        "round": number,
        "startup_s": round(server.startup_s, 3),
        "first_test": first_test.record(),
        "at_rest": at_rest,
        "hanging": hanging,
        "tests": options.hanging_tests,
        "answered_at_once": answered,
        "refused_alone": alone,
        "hung_throughout": hung_throughout,
        "listener_connections": reached,
        "p99_ratio": round(hanging["p99_ms"] / at_rest["p99_ms"], 3),
    }
    _log_round(round_)
    return round_


def _refused(calls: list[dict]) -> list[dict]:
    return [call for call in calls if call["status"] == 503]


def _log_round(r: dict) -> None:
    refused_ms = [call["ms"] for call in _refused(r["answered_at_once"])]
    log(
        f"  round {r['round']}: list p99 {r['at_rest']['p99_ms']:.2f} ms at rest, {r['hanging']['p99_ms']:.2f} ms "
        f"while {r['hung_throughout']} tests hang ({r['p99_ratio']:.2f}x); {len(refused_ms)} of {r['tests']} "
        f"refused 503, the slowest in {max(refused_ms, default=float('nan')):.1f} ms"
    )


def _summary(rounds: list[dict]) -> dict:
    runs = [r[phase] for r in rounds for phase in ("at_rest", "hanging")]
    refused = [call for r in rounds for call in _refused(r["answered_at_once"])]
    refused_ms = sorted(call["ms"] for call in refused)
    alone_ms = sorted(call["ms"] for r in rounds for call in _refused(r["refused_alone"]))
    return {
        "list_p99_at_rest_ms": round(statistics.median(r["at_rest"]["p99_ms"] for r in rounds), 3),
        "list_p99_hanging_ms": round(statistics.median(r["hanging"]["p99_ms"] for r in rounds), 3),
        "list_p50_at_rest_ms": round(statistics.median(r["at_rest"]["p50_ms"] for r in rounds), 3),
        "list_p50_hanging_ms": round(statistics.median(r["hanging"]["p50_ms"] for r in rounds), 3),
        "list_rps_at_rest": round(statistics.median(r["at_rest"]["rps"] for r in rounds), 1),
        "list_rps_hanging": round(statistics.median(r["hanging"]["rps"] for r in rounds), 1),
        "p99_ratio_median": round(statistics.median(r["p99_ratio"] for r in rounds), 3),
        "p99_ratio_worst": max(r["p99_ratio"] for r in rounds),
        "list_requests": sum(run["requests"] for run in runs),
        "list_non_2xx": sum(run["errors"]["status"] for run in runs),
        "list_socket_errors": sum(n for run in runs for kind, n in run["errors"].items() if kind != "status"),
        "refused": len(refused),
        "refused_expected": sum(r["tests"] - MAX_CONCURRENT_TESTS for r in rounds),
        "refused_with_retry_after": sum(1 for call in refused if call["retry_after"]),
        "refused_ms_max": refused_ms[-1] if refused_ms else None,
        "refused_ms_p99": _percentile(refused_ms, 99),
        "refused_ms_median": _percentile(refused_ms, 50),
        "refused_alone_ms_median": _percentile(alone_ms, 50),
        "refused_alone_ms_max": alone_ms[-1] if alone_ms else None,
        "hung_throughout": sum(r["hung_throughout"] for r in rounds),
        "hung_expected": len(rounds) * MAX_CONCURRENT_TESTS,
    }


def _percentile(ordered: list[float], percent: float) -> float | None:
    """The nearest-rank percentile of sorted values."""
    if not ordered:
        return None
    rank = -(-len(ordered) * percent // 100)  # ceil
    return ordered[int(min(len(ordered), max(1, rank))) - 1]
