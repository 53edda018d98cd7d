#!/usr/bin/env python3
"""The benchmark of the read path (issue 7): the service against a plain Flask + peewee reference, side by side.

    python bench/run.py                        # SQLite and PostgreSQL, 10,000 organisations, list and detail
    python bench/run.py --db sqlite            # one database
    python bench/run.py --scale                # PostgreSQL, list endpoint, 1k / 100k / 1M organisations
    python bench/run.py --tests-hanging        # the list while 20 connection tests hang; a healthy test's time
    python bench/run.py --smoke                # seconds: runs end to end, asserts the numbers are sane
    python bench/run.py --write-docs           # ... then regenerate docs/performance.md and its plots
    python bench/run.py --docs-only            # only regenerate the docs from bench/results/*.json

Method, per database: seed with `warehouse-connections seed-demo`; start the service
(`warehouse-connections serve --workers 1`, logging and metrics on) and the reference app
(bench/reference_app.py) under gunicorn twice, sync and gthread with keep-alive, all pinned to CPU 0 with
`taskset`; drive each with `wrk -c16` pinned to CPU 1 and bench/random_org.lua, which sends every request
to a random organisation with its own key; warm up, then several rounds that interleave the servers (the
order rotates every round) so that drift on the machine hits them alike. The ratio is the service's
requests per second over the better reference deployment's in the same round. --scale also measures, in
the same rounds at every count, the control: the service over a second database that stays at the smallest
count; each configuration's p50 over the control's in the same round is what drift on the machine cannot move.
At every count, wrk draws from as many organisations as at the smallest (a sample of the whole table), so that
only the table grows and the API-key cache hits as often at every count. --tests-hanging (issue 19) measures
the service alone, a fresh process per round: the list at rest, then while 20 connection tests of 20
organisations hang on a loopback port that accepts and never answers (the ones beyond WC_MAX_CONCURRENT_TESTS
refused, each timed), and 20 healthy tests, one after another, against the Snowflake emulator.

Needs `wrk` (Debian: `apt-get install -y wrk`), `gunicorn` (the reference), `py-spy` (the profile, optional),
`matplotlib` (only for --write-docs) and, for PostgreSQL, a server (`--pg-url`, a role that may create
databases: each run creates `bench_wc_*` and drops it after).
"""

import argparse
import datetime
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

# The other bench modules, found beside this script: Python puts the script's folder first on sys.path.
from checks import sanity_failures, scenario_failures
from common import CLIENT_CPU, PINNING, SERVER_CPU, BenchError, Options, bin_path, log, relative, tool
from connection_tests import MAX_CONCURRENT_TESTS, tests_database
from load import WRK_INSTALL
from record import git_state, machine, method, print_summary, write_result
from report import write_docs
from scenarios import bench_database, scale_database
from servers import CONFIGS, CONTROL, server_command

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def parse_options(argv: list[str] | None) -> tuple[Options, argparse.Namespace]:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--scale", action="store_true", help="PostgreSQL, list endpoint, latency vs organisation count")
    mode.add_argument("--smoke", action="store_true", help="a few seconds, tiny N, 1 round; exit 1 unless sane")
    mode.add_argument(
        "--tests-hanging",
        action="store_true",
        help="the list endpoint at rest and while connection tests hang; healthy tests against the emulator",
    )
    mode.add_argument("--docs-only", action="store_true", help="regenerate docs/performance.md from bench/results")
    parser.add_argument("--write-docs", action="store_true", help="after the run, regenerate docs/performance.md")
    parser.add_argument("--db", default=None, help="sqlite, postgresql or both (default: both; --smoke: sqlite)")
    parser.add_argument("--organisations", type=int, default=None, help="default 10000 (--smoke: 40)")
    parser.add_argument(
        "--scale-counts", default="1000,100000,1000000", help="organisation counts for --scale (comma-separated)"
    )
    parser.add_argument(
        "--endpoints",
        default=None,
        help="list,detail,list-bearer (default; --scale: list); list-bearer: the service's list with a bearer token",
    )
    parser.add_argument(
        "--configs",
        default=None,
        help="service,service-stock,reference-sync,reference-gthread (default; --scale: "
        "service,service-no-key-cache,reference-gthread, and the control)",
    )
    parser.add_argument(
        "--rounds", type=int, default=None, help="measured rounds (default 5; --smoke 1; --tests-hanging 3)"
    )
    parser.add_argument("--hanging-tests", type=int, default=20, help="--tests-hanging: tests sent at once")
    parser.add_argument("--healthy-tests", type=int, default=20, help="--tests-hanging: tests against the emulator")
    parser.add_argument(
        "--startups", type=int, default=None, help="starts per server; start-up is their median (default 5; --smoke 1)"
    )
    parser.add_argument("--duration", type=int, default=None, help="seconds per wrk run (default 10; --smoke 1)")
    parser.add_argument("--warmup", type=int, default=None, help="warm-up seconds per server and endpoint (default 5)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk threads (default 1: wrk has one core)")
    parser.add_argument("--gthread-threads", type=int, default=4, help="threads of the gthread reference (default 4)")
    parser.add_argument("--detail-sample", type=int, default=2000, help="organisations whose connection id to fetch")
    parser.add_argument("--max-wrk-keys", type=int, default=200_000, help="wrk draws from a sample this large at most")
    parser.add_argument(
        "--log-level", default="INFO", help="the service's WC_LOG_LEVEL (default INFO: a line per request)"
    )
    parser.add_argument("--rsa-key-bits", type=int, default=None, help="WC_RSA_KEY_BITS (default 4096; --smoke 2048)")
    profile = parser.add_mutually_exclusive_group()
    profile.add_argument("--profile", dest="profile", action="store_true", default=None, help="py-spy the service")
    profile.add_argument("--no-profile", dest="profile", action="store_false")
    parser.add_argument("--profile-seconds", type=int, default=15)
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG_URL), help="an admin URL")
    parser.add_argument("--keep", action="store_true", help="keep the work directory and the PostgreSQL database")
    parser.add_argument("--output", type=Path, default=None, help="the JSON result (default bench/results/...)")
    parser.add_argument("--label", default="", help="a name for this run in the result and the docs' history")
    args = parser.parse_args(argv)

    kind = "scale" if args.scale else "smoke" if args.smoke else "tests" if args.tests_hanging else "bench"
    smoke = kind == "smoke"
    databases = args.db or ("postgresql" if kind == "scale" else "sqlite" if smoke else "both")
    databases = ("sqlite", "postgresql") if databases == "both" else tuple(databases.split(","))
    if not set(databases) <= {"sqlite", "postgresql"}:
        parser.error(f"--db takes sqlite, postgresql or both, not {args.db!r}")
    if kind == "scale" and databases != ("postgresql",):
        parser.error("--scale runs on PostgreSQL only")
    if kind == "tests":
        _check_tests_options(parser, args)
    endpoints = tuple(
        (args.endpoints or ("list" if kind in ("scale", "tests") else "list,detail,list-bearer")).split(",")
    )
    configs = args.configs or (
        "service,service-no-key-cache,reference-gthread"
        if kind == "scale"
        else "service"
        if kind == "tests"
        else "service,reference-sync,reference-gthread"
        if smoke
        else "service,service-stock,reference-sync,reference-gthread"
    )
    options = Options(
        kind=kind,
        databases=databases,
        organisations=args.organisations or (40 if smoke else 10_000),
        scale_counts=tuple(int(n) for n in args.scale_counts.split(",")),
        endpoints=endpoints,
        configs=tuple(configs.split(",")),
        rounds=args.rounds or (1 if smoke else 3 if kind == "tests" else 5),
        startups=args.startups or (1 if smoke else 5),
        duration=args.duration or (1 if smoke else 10),
        warmup=args.warmup if args.warmup is not None else (1 if smoke else 5),
        connections=args.connections,
        wrk_threads=args.wrk_threads,
        gthread_threads=args.gthread_threads,
        detail_sample=args.detail_sample,
        max_wrk_keys=args.max_wrk_keys,
        log_level=args.log_level.upper(),
        rsa_key_bits=args.rsa_key_bits or (2048 if smoke else 4096),
        profile=(kind == "bench" and shutil.which("py-spy", path=bin_path()) is not None)
        if args.profile is None
        else args.profile,
        profile_seconds=args.profile_seconds,
        pg_url=args.pg_url,
        keep=args.keep,
        output=args.output,
        label=args.label,
        hanging_tests=args.hanging_tests,
        healthy_tests=args.healthy_tests,
    )
    for name in options.databases:
        if name not in ("sqlite", "postgresql"):
            parser.error(f"--db: unknown database {name!r}")
    for name in options.endpoints:
        if name not in ("list", "detail", "list-bearer"):
            parser.error(f"--endpoints: unknown endpoint {name!r}")
    for name in options.configs:
        if name not in CONFIGS:
            parser.error(f"--configs: unknown configuration {name!r} (known: {', '.join(CONFIGS)})")
    if "service" not in options.configs:
        parser.error("--configs must include service")
    if kind == "scale" and "list-bearer" in options.endpoints:
        parser.error("--endpoints: list-bearer is measured by the bench run, not --scale")
    if CONTROL in options.configs:
        parser.error(f"--configs: {CONTROL} is added by --scale itself")
    return options, args


def _check_tests_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.hanging_tests <= MAX_CONCURRENT_TESTS:
        parser.error(f"--hanging-tests must be more than the {MAX_CONCURRENT_TESTS} tests the service runs at once")
    if args.healthy_tests < 1:
        parser.error("--healthy-tests must be at least 1")
    if args.configs or args.endpoints:
        parser.error("--tests-hanging measures the service's list endpoint alone: no --configs or --endpoints")


def run(options: Options) -> dict:
    if not PINNING:
        log(f"warning: cannot pin to CPUs {SERVER_CPU} and {CLIENT_CPU} (taskset, 2 CPUs); running unpinned")
    tool("wrk", WRK_INSTALL)
    for name in options.configs:
        server_command(CONFIGS[name], 0, options)  # every tool there before anything starts
    if options.profile:
        tool("py-spy", "The profile needs it: python -m pip install py-spy (or --no-profile)")
    from cryptography.fernet import Fernet

    secret_key = Fernet.generate_key().decode()
    result = {
        "kind": options.kind,
        "label": options.label,
        "started_at": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(),
        "git": git_state(),
        "method": method(options),
    }
    workdir = Path(tempfile.mkdtemp(prefix="bench-wc-"))
    try:
        if options.kind == "scale":
            result["scale"] = scale_database(options, workdir, secret_key)
        elif options.kind == "tests":
            result["tests"] = {db: tests_database(db, options, workdir, secret_key) for db in options.databases}
        else:
            result["databases"] = {}
            for db_kind in options.databases:
                result["databases"][db_kind] = bench_database(db_kind, options, workdir, secret_key)
    finally:
        if options.keep:
            log(f"kept the work directory {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    result["finished_at"] = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    result["machine"]["loadavg_after"] = os.getloadavg()[0]
    return result


def main(argv: list[str] | None = None) -> int:
    options, args = parse_options(argv)
    # A SIGTERM (a test's timeout) unwinds like Ctrl-C: the servers stop and the database is dropped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        if args.docs_only:
            log(f"wrote {relative(write_docs())}")
            return 0
        started = time.perf_counter()
        result = run(options)
        path = write_result(result, options)
        print_summary(result)
        log(f"\nwrote {relative(path)} ({time.perf_counter() - started:.0f} s)")
        if options.kind == "smoke":
            failures = sanity_failures(json.loads(path.read_text()))
            if failures:
                raise BenchError("smoke: " + "; ".join(failures))
            log("smoke: ran end to end; the numbers are sane")
        if options.kind == "tests":
            failures = scenario_failures(json.loads(path.read_text()))
            if failures:
                raise BenchError("the scenario did not run as designed: " + "; ".join(failures))
            log("tests-hanging: the scenario ran as designed")
        if args.write_docs:
            log(f"wrote {relative(write_docs())}")
        return 0
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
