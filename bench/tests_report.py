"""The section of docs/performance.md on connection tests beside the API (issue 19), from a --tests-hanging result."""

from figures import _mark, _run_line

# Targets from issue 19, reported (never asserted).
TARGET_P99_RATIO, TARGET_REFUSAL_MS, TARGET_HEALTHY_S = 1.2, 50, 1.0


def tests_section(result: dict, bench_rps: dict[str, float]) -> list[str]:
    """`bench_rps`: by database, the list's req/s in the latest figures above, to show how busy the machine was."""
    m = result["method"]
    lines = [
        "## Connection tests beside the API (issue 19)",
        "",
        _run_line(result),
        "",
        "`python bench/run.py --tests-hanging`, per database, on the data seeded as above "
        f"({_organisations(result)} organisations):",
        "",
        f"1. {_rounds(m['rounds'])}, each on a fresh `serve --workers 1` (pinned as above) pointed with "
        "`WC_SNOWFLAKE_ENDPOINT` at a loopback port of the bench's own, with `WC_MAX_CONCURRENT_TESTS="
        f"{_first(result)['max_concurrent_tests']}` and `WC_SNOWFLAKE_LOGIN_TIMEOUT="
        f"{_first(result)['login_timeout_s']}` (longer than the round). The port first refuses connections: one "
        "test, which fails at once, loads the connector (the process's first test; its time is below). Then "
        f"a {m['warmup_s']} s warm-up and {m['duration_s']} s of `wrk -c{m['connections']}` on the list endpoint "
        f"**at rest**. Then the port accepts and never answers, and {m['hanging_tests']} `POST …/test/` go at "
        f"once, on connections of {m['hanging_tests']} organisations, each from a thread and a TCP connection of "
        "its own (opened before the clock starts), the threads on wrk's CPU. The ones beyond the limit are "
        "answered at once; each is timed from sending to its whole answer. Five more, sent one after another, "
        f"time a refusal alone. Then {m['duration_s']} s of wrk again, **while the admitted tests hang** (each "
        "round checks that they are still unanswered when it ends).",
        f"2. A `serve` pointed at the Snowflake emulator (`warehouse_connections/devtools/snowflake_emulator`, in "
        "the bench's process, on wrk's CPU: a remote account), which knows the tested connections' users and "
        f"keys and has every stage: {m['healthy_tests']} tests, one after another, each timed end to end "
        "(all six steps: reach, log in, warehouse, read and write the stage, a temporary table). The first "
        "after start-up loads the connector, so it is shown apart.",
        "",
        "The machine has 2 cores and is shared with other work (other engineers' test suites and benchmarks "
        "ran beside this one; the load average is in the run line): latencies at the tail move with it, and "
        "the ratio compares runs seconds apart on the same process.",
        "",
    ]
    for name, db in result["tests"].items():
        lines += _database_lines(name, db, bench_rps.get(name))
    return lines


def _database_lines(name: str, db: dict, bench_rps: float | None) -> list[str]:
    s, healthy = db["summary"], db["healthy"]
    title = "SQLite" if name == "sqlite" else "PostgreSQL"
    ratio_ok = s["p99_ratio_median"] <= TARGET_P99_RATIO
    refusals_ok = s["refused_ms_max"] is not None and s["refused_ms_max"] < TARGET_REFUSAL_MS
    lines = [
        f"### {title} {db['database_version']}, {db['organisations']:,} organisations",
        "",
        "| target (issue 19) | measured | |",
        "|---|---|---|",
        f"| list p99 while {db['max_concurrent_tests']} tests hang within {TARGET_P99_RATIO}x its p99 at rest "
        f"| {s['p99_ratio_median']:.2f}x, the median of the rounds' ratios (worst round {s['p99_ratio_worst']:.2f}x); "
        f"p99 {s['list_p99_at_rest_ms']:.2f} ms at rest, {s['list_p99_hanging_ms']:.2f} ms hanging (medians) "
        f"| {_mark(ratio_ok)} |",
        f"| no non-2xx list answers | {s['list_non_2xx']} of {s['list_requests']:,} "
        f"({s['list_socket_errors']} socket errors) | {_mark(s['list_non_2xx'] == 0)} |",
        f"| every test beyond the limit refused 503 in under {TARGET_REFUSAL_MS} ms | {s['refused']} of "
        f"{s['refused_expected']} refused ({s['refused_with_retry_after']} with `Retry-After`); max "
        f"{_ms(s['refused_ms_max'])}, p99 {_ms(s['refused_ms_p99'])}, median {_ms(s['refused_ms_median'])} "
        f"| {_mark(refusals_ok and s['refused'] == s['refused_expected'])} |",
        f"| a healthy test against the emulator under {TARGET_HEALTHY_S:.0f} s end to end | median "
        f"{healthy['median_all_s']:.3f} s, max {healthy['max_all_s']:.3f} s over {healthy['tests']} "
        f"({healthy['passed']} passed); the first after start-up {healthy['first_s']:.3f} s, the others median "
        f"{healthy['median_s']:.3f} s, max {healthy['max_s']:.3f} s "
        f"| {_mark(healthy['max_all_s'] < TARGET_HEALTHY_S and healthy['passed'] == healthy['tests'])} |",
        "",
        f"A refusal alone, with nothing beside it: median {_ms(s['refused_alone_ms_median'])}, max "
        f"{_ms(s['refused_alone_ms_max'])}. The burst's refusals share the service's one core, so the last of "
        f"{s['refused_expected'] // len(db['rounds'])} waits for the others.",
        "",
        *_busy_line(s["list_rps_at_rest"], bench_rps),
        "| round | list req/s at rest / hanging | list p50 ms at rest / hanging | list p99 ms at rest / hanging "
        "| ratio | refused (slowest) | still hung at the end | the process's first test |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in db["rounds"]:
        refused = [call["ms"] for call in r["answered_at_once"] if call["status"] == 503]
        rest, hang = r["at_rest"], r["hanging"]
        lines.append(
            f"| {r['round']} | {rest['rps']:,.0f} / {hang['rps']:,.0f} | {rest['p50_ms']:.2f} / {hang['p50_ms']:.2f} "
            f"| {rest['p99_ms']:.2f} / {hang['p99_ms']:.2f} | {r['p99_ratio']:.2f} "
            f"| {len(refused)} ({_ms(max(refused, default=None))}) | {r['hung_throughout']} "
            f"| {_ms(r['first_test']['ms'])} |"
        )
    return [*lines, ""]


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} ms"


def _first(result: dict) -> dict:
    return next(iter(result["tests"].values()))


def _organisations(result: dict) -> str:
    return ", ".join(sorted({f"{db['organisations']:,}" for db in result["tests"].values()}))


def _rounds(count: int) -> str:
    return "1 round" if count == 1 else f"{count} rounds"


def _busy_line(rps_at_rest: float, bench_rps: float | None) -> list[str]:
    if not bench_rps:
        return []
    return [
        f"At rest the list served {rps_at_rest:,.0f} req/s here, against {bench_rps:,.0f} in the latest figures "
        f"above (the same endpoint, load and pinning, an earlier run): {rps_at_rest / bench_rps:.0%} of that "
        "throughput, which shows how busy the shared machine was.",
        "",
    ]
