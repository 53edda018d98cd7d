#!/usr/bin/env python3
"""The benchmark of the read path (issue 7): the service against a plain Flask + peewee reference, side by side.

    python bench/run.py                        # SQLite and PostgreSQL, 10,000 organisations, list and detail
    python bench/run.py --db sqlite            # one database
    python bench/run.py --scale                # PostgreSQL, list endpoint, 1k / 100k / 1M organisations
    python bench/run.py --smoke                # seconds: runs end to end, asserts the numbers are sane
    python bench/run.py --write-docs           # ... then regenerate docs/performance.md and its plots
    python bench/run.py --docs-only            # only regenerate the docs from bench/results/*.json

Method, per database: seed with `warehouse-connections seed-demo`; start the service
(`warehouse-connections serve --workers 1`, logging and metrics on) and the reference app
(bench/reference_app.py) under gunicorn twice, sync and gthread with keep-alive, all pinned to CPU 0 with
`taskset`; drive each with `wrk -c16` pinned to CPU 1 and bench/random_org.lua, which sends every request
to a random organisation with its own key; warm up, then several rounds that interleave the servers (the
order rotates every round) so that drift on the machine hits them alike. The ratio is the service's
requests per second over the better reference deployment's in the same round.

Needs `wrk` (Debian: `apt-get install -y wrk`), `gunicorn` (the reference), `py-spy` (the profile, optional),
`matplotlib` (only for --write-docs) and, for PostgreSQL, a server (`--pg-url`, a role that may create
databases: each run creates `bench_wc_*` and drops it after).
"""

import argparse
import contextlib
import datetime
import gzip
import importlib.metadata
import json
import math
import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
DOCS_DIR = ROOT / "docs"
PLOTS_DIR = DOCS_DIR / "performance"
LUA_SCRIPT = BENCH_DIR / "random_org.lua"
LIST_PATH = "/api/v1/organisations/{org}/integrations/warehouse-connections/"
DETAIL_PATH = LIST_PATH + "{connection}/"
SERVER_CPU, CLIENT_CPU = 0, 1
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
WRK_INSTALL = "Install it: apt-get install -y wrk (Debian, Ubuntu), brew install wrk (macOS)"
PACKAGES = (
    "connexion",
    "flask",
    "werkzeug",
    "starlette",
    "a2wsgi",
    "uvicorn",
    "uvloop",
    "httptools",
    "peewee",
    "psycopg",
    "prometheus-client",
    "gunicorn",
    "orjson",
)
# Targets from issue 7, reported (never asserted) against the list endpoint's figures.
TARGET_RATIO, TARGET_TAIL, TARGET_STARTUP_S, TARGET_RSS_MIB = 1.25, 2.0, 0.5, 90


class BenchError(Exception):
    """A problem the user can fix, or a failed check; printed without a traceback, exit status 1."""


# ---------------------------------------------------------------------------------------------- setup


@dataclass(frozen=True)
class Options:
    kind: str  # bench, scale or smoke
    databases: tuple[str, ...]
    organisations: int
    scale_counts: tuple[int, ...]
    endpoints: tuple[str, ...]
    configs: tuple[str, ...]
    rounds: int
    duration: int
    warmup: int
    connections: int
    wrk_threads: int
    gthread_threads: int
    detail_sample: int
    max_wrk_keys: int
    log_level: str
    rsa_key_bits: int
    profile: bool
    profile_seconds: int
    pg_url: str
    keep: bool
    output: Path | None
    label: str


def parse_options(argv: list[str] | None) -> tuple[Options, argparse.Namespace]:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--scale", action="store_true", help="PostgreSQL, list endpoint, latency vs organisation count")
    mode.add_argument("--smoke", action="store_true", help="a few seconds, tiny N, 1 round; exit 1 unless sane")
    mode.add_argument("--docs-only", action="store_true", help="regenerate docs/performance.md from bench/results")
    parser.add_argument("--write-docs", action="store_true", help="after the run, regenerate docs/performance.md")
    parser.add_argument("--db", default=None, help="sqlite, postgresql or both (default: both; --smoke: sqlite)")
    parser.add_argument("--organisations", type=int, default=None, help="default 10000 (--smoke: 40)")
    parser.add_argument(
        "--scale-counts", default="1000,100000,1000000", help="organisation counts for --scale (comma-separated)"
    )
    parser.add_argument("--endpoints", default=None, help="list,detail (default; --scale: list)")
    parser.add_argument(
        "--configs",
        default=None,
        help="service,reference-sync,reference-gthread (default; --scale: service,reference-gthread)",
    )
    parser.add_argument("--rounds", type=int, default=None, help="measured rounds (default 5; --scale 3; --smoke 1)")
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

    kind = "scale" if args.scale else "smoke" if args.smoke else "bench"
    smoke = kind == "smoke"
    databases = args.db or ("postgresql" if kind == "scale" else "sqlite" if smoke else "both")
    databases = ("sqlite", "postgresql") if databases == "both" else tuple(databases.split(","))
    endpoints = tuple((args.endpoints or ("list" if kind == "scale" else "list,detail")).split(","))
    configs = args.configs or (
        "service,service-no-key-cache,reference-gthread"
        if kind == "scale"
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
        rounds=args.rounds or (1 if smoke else 3 if kind == "scale" else 5),
        duration=args.duration or (1 if smoke else 10),
        warmup=args.warmup if args.warmup is not None else (1 if smoke else 5),
        connections=args.connections,
        wrk_threads=args.wrk_threads,
        gthread_threads=args.gthread_threads,
        detail_sample=args.detail_sample,
        max_wrk_keys=args.max_wrk_keys,
        log_level=args.log_level.upper(),
        rsa_key_bits=args.rsa_key_bits or (2048 if smoke else 4096),
        profile=(kind == "bench" and shutil.which("py-spy", path=_bin_path()) is not None)
        if args.profile is None
        else args.profile,
        profile_seconds=args.profile_seconds,
        pg_url=args.pg_url,
        keep=args.keep,
        output=args.output,
        label=args.label,
    )
    for name in options.databases:
        if name not in ("sqlite", "postgresql"):
            parser.error(f"--db: unknown database {name!r}")
    for name in options.endpoints:
        if name not in ("list", "detail"):
            parser.error(f"--endpoints: unknown endpoint {name!r}")
    for name in options.configs:
        if name not in CONFIGS:
            parser.error(f"--configs: unknown configuration {name!r} (known: {', '.join(CONFIGS)})")
    if "service" not in options.configs:
        parser.error("--configs must include service")
    return options, args


def _bin_path() -> str:
    # The venv's scripts first (warehouse-connections, gunicorn, py-spy), then PATH.
    return os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])


def tool(name: str, hint: str) -> str:
    found = shutil.which(name, path=_bin_path())
    if found is None:
        raise BenchError(f"{name} not found. {hint}")
    return found


def pinned(cpu: int) -> list[str]:
    return ["taskset", "-c", str(cpu)] if PINNING else []


def _can_pin() -> bool:
    return shutil.which("taskset") is not None and {SERVER_CPU, CLIENT_CPU} <= os.sched_getaffinity(0)


PINNING = _can_pin()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def log(message: str) -> None:
    print(message, flush=True)


# ---------------------------------------------------------------------------------------------- databases


class Database:
    """A fresh database for one run: a SQLite file in the work directory, or a PostgreSQL database."""

    def __init__(self, kind: str, workdir: Path, pg_url: str, keep: bool):
        self.kind = kind
        self.keep = keep
        self.pg_url = pg_url
        if kind == "sqlite":
            self.url = f"sqlite:///{workdir / 'bench.sqlite3'}"
            self.name = None
            return
        import psycopg

        self.name = f"bench_wc_{int(time.time())}_{os.getpid()}"
        try:
            with psycopg.connect(pg_url, autocommit=True, connect_timeout=5) as admin:
                admin.execute(f'CREATE DATABASE "{self.name}"')
                self.server_version = admin.execute("SHOW server_version").fetchone()[0]
        except psycopg.Error as error:
            raise BenchError(
                f"PostgreSQL at {pg_url} cannot create a database ({error}); --pg-url, or --db sqlite"
            ) from None
        parts = urlsplit(pg_url)
        self.url = urlunsplit(parts._replace(path="/" + self.name))

    def analyse(self) -> None:
        """After a bulk load: fresh planner statistics and visibility map, as autovacuum would give in time."""
        if self.kind == "postgresql":
            import psycopg

            with psycopg.connect(self.url, autocommit=True) as conn:
                conn.execute("VACUUM ANALYZE")

    def drop(self) -> None:
        if self.kind != "postgresql" or self.keep:
            return
        import psycopg

        with psycopg.connect(self.pg_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def environment(db: Database, workdir: Path, options: Options, secret_key: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WC_", "PROMETHEUS_"))}
    env.update(
        DATABASE_URL=db.url,
        WC_DATA_DIR=str(workdir / "data"),
        WC_SECRET_KEYS=secret_key,
        WC_RSA_KEY_BITS=str(options.rsa_key_bits),
        WC_LOG_LEVEL=options.log_level,
        WC_LOG_FORMAT="json",
        WC_METRICS="on",
        WC_VALIDATE_RESPONSES="false",
        PATH=_bin_path(),
    )
    return env


def seed(env: dict[str, str], count: int, keys_file: Path, workdir: Path) -> float:
    """`seed-demo` N more organisations; appends their keys to keys_file; returns the seconds it took."""
    command = tool("warehouse-connections", "Install the project: python -m pip install -e .")
    batch = workdir / "seed-keys.tsv"
    started = time.perf_counter()
    done = subprocess.run(
        [command, "seed-demo", "--organisations", str(count), "--keys-file", str(batch)],
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise BenchError(f"seed-demo failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    lines = batch.read_text().splitlines()
    if len(lines) != count or not all(re.fullmatch(r"\d+\twck_\S+", line) for line in lines[:100]):
        raise BenchError(f"seed-demo wrote {len(lines)} lines to {batch}, expected {count} 'org_id<TAB>key' lines")
    with keys_file.open("a") as out:
        out.write("\n".join(lines) + "\n")
    batch.unlink()
    return seconds


def read_keys(keys_file: Path) -> list[tuple[int, str]]:
    keys = []
    for line in keys_file.read_text().splitlines():
        org, key = line.split("\t")[:2]
        keys.append((int(org), key))
    return keys


def wrk_keys_file(keys: list[tuple[int, str]], limit: int, path: Path) -> Path:
    """The file wrk draws from: every organisation, or a uniform sample of `limit` of them (LuaJIT's memory)."""
    chosen = keys if len(keys) <= limit else random.Random(7).sample(keys, limit)
    path.write_text("".join(f"{org}\t{key}\n" for org, key in chosen))
    return path


# ---------------------------------------------------------------------------------------------- servers


@dataclass(frozen=True)
class Config:
    name: str
    label: str
    reference: bool
    env: tuple[tuple[str, str], ...] = ()  # settings of this configuration's own


CONFIGS = {
    "service": Config("service", "service (serve --workers 1)", False),
    # What the fast path (handlers/inline.py) buys: the same service on connexion's stock path.
    "service-stock": Config("service-stock", "service, WC_FAST_PATH=off", False, (("WC_FAST_PATH", "off"),)),
    # Every key looked up in the database: how the database path alone scales with the organisation count.
    "service-no-key-cache": Config(
        "service-no-key-cache", "service, WC_API_KEY_CACHE_SECONDS=0", False, (("WC_API_KEY_CACHE_SECONDS", "0"),)
    ),
    "reference-sync": Config("reference-sync", "Flask + peewee, gunicorn sync", True),
    "reference-gthread": Config("reference-gthread", "Flask + peewee, gunicorn gthread", True),
}


def server_command(config: Config, port: int, options: Options) -> list[str]:
    if config.name.startswith("service"):
        command = tool("warehouse-connections", "Install the project: python -m pip install -e .")
        return [command, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    gunicorn = tool("gunicorn", "The reference app needs it: python -m pip install gunicorn")
    command = [gunicorn, "--chdir", str(BENCH_DIR), "--workers", "1", "--bind", f"127.0.0.1:{port}"]
    command += ["--log-level", "warning"]
    if config.name == "reference-gthread":
        command += ["--worker-class", "gthread", "--threads", str(options.gthread_threads), "--keep-alive", "30"]
    return [*command, "reference_app:app"]


@dataclass
class Server:
    config: Config
    command: list[str]
    env: dict[str, str]
    port: int
    log_path: Path
    process: subprocess.Popen | None = None
    startup_s: float | None = None
    log_file: object = None

    def start(self, probe_key: tuple[int, str]) -> float:
        """Start it; returns the seconds from process start to the first 200 on an authenticated list call."""
        self.log_file = self.log_path.open("ab")
        url = f"http://127.0.0.1:{self.port}" + LIST_PATH.format(org=probe_key[0])
        started = time.perf_counter()
        self.process = subprocess.Popen(
            [*pinned(SERVER_CPU), *self.command],
            env=self.env,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        while True:
            if self.process.poll() is not None:
                raise BenchError(f"{self.config.name} exited with {self.process.returncode}:\n{self.log_tail()}")
            status, _ = http_get(url, probe_key[1], timeout=1)
            if status == 200:
                self.startup_s = time.perf_counter() - started
                return self.startup_s
            if status is not None:
                raise BenchError(f"{self.config.name} answered {status} instead of 200:\n{self.log_tail()}")
            if time.perf_counter() - started > 60:
                raise BenchError(f"{self.config.name} gave no 200 within 60 s (last: {status}):\n{self.log_tail()}")
            time.sleep(0.005)

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def pids(self) -> list[int]:
        """The process and its descendants."""
        found, todo = [], [self.process.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            with contextlib.suppress(OSError):
                for task in Path(f"/proc/{pid}/task").iterdir():
                    todo += [int(c) for c in (task / "children").read_text().split()]
        return found

    def worker_pids(self) -> list[int]:
        """The processes that serve requests: gunicorn's workers (not its arbiter), or the service itself."""
        children = [pid for pid in self.pids() if pid != self.process.pid]
        return children or [self.process.pid]

    def memory(self) -> dict:
        workers = [_status(pid) for pid in self.worker_pids()]
        tree = [_status(pid) for pid in self.pids()]
        return {
            "rss_mib": round(max(w.get("VmRSS", 0) for w in workers) / 1024, 1),
            "peak_rss_mib": round(max(w.get("VmHWM", 0) for w in workers) / 1024, 1),
            "tree_rss_mib": round(sum(t.get("VmRSS", 0) for t in tree) / 1024, 1),
            "processes": len(tree),
        }

    def cpu_seconds(self) -> float:
        total = 0.0
        for pid in self.pids():
            with contextlib.suppress(OSError, IndexError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            self._close_log()
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)
        self._close_log()

    def _close_log(self) -> None:
        if self.log_file is not None:
            self.log_file.close()
            self.log_file = None


def _status(pid: int) -> dict[str, int]:
    values = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                values[name] = int(rest.split()[0])
    return values


def http_get(url: str, key: str, timeout: float = 5) -> tuple[int | None, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"Api-Key {key}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except (OSError, urllib.error.URLError):
        return None, b""


# ---------------------------------------------------------------------------------------------- wrk


def cpu_times() -> dict[int, tuple[int, int]]:
    """Per CPU, (busy, total) jiffies from /proc/stat."""
    times = {}
    for line in Path("/proc/stat").read_text().splitlines():
        if re.match(r"cpu\d+ ", line):
            name, *values = line.split()
            values = [int(v) for v in values]
            idle = values[3] + values[4]
            times[int(name[3:])] = (sum(values) - idle, sum(values))
    return times


def run_wrk(server: Server, keys_file: Path, endpoint: str, seconds: int, options: Options) -> dict:
    wrk = tool("wrk", WRK_INSTALL)
    command = [*pinned(CLIENT_CPU), wrk, f"-t{options.wrk_threads}", f"-c{options.connections}", f"-d{seconds}s"]
    command += ["--timeout", "5s", "-s", str(LUA_SCRIPT), f"http://127.0.0.1:{server.port}", "--"]
    command += [str(keys_file), endpoint]
    cpu_before, machine_before = server.cpu_seconds(), cpu_times()
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    cpu_after, machine_after = server.cpu_seconds(), cpu_times()
    found = re.search(r"^WRK_RESULT (.*)$", done.stdout, re.M)
    if done.returncode != 0 or not found:
        raise BenchError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    raw = json.loads(found.group(1))
    wall = raw["duration_us"] / 1e6
    requests = raw["requests"]
    busy = {}
    for cpu, (b1, t1) in machine_after.items():
        b0, t0 = machine_before.get(cpu, (b1, t1))
        busy[f"cpu{cpu}_busy"] = round((b1 - b0) / max(t1 - t0, 1), 3)
    return {
        "requests": requests,
        "rps": round(requests / wall, 1),
        "p50_ms": raw["latency_us"]["p50"] / 1000,
        "p90_ms": raw["latency_us"]["p90"] / 1000,
        "p99_ms": raw["latency_us"]["p99"] / 1000,
        "max_ms": raw["latency_us"]["max"] / 1000,
        "mean_ms": round(raw["latency_us"]["mean"] / 1000, 3),
        "errors": raw["errors"],
        "bytes_per_response": round(raw["bytes"] / max(requests, 1)),
        "server_cpu_s": round(cpu_after - cpu_before, 3),
        "server_cpu_us_per_request": round((cpu_after - cpu_before) * 1e6 / max(requests, 1), 1),
        **busy,
    }


# ---------------------------------------------------------------------------------------------- checks


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
        if not db["semantics"]["equal"]:
            failures.append(f"{db_name}: the reference answers differently: {db['semantics']['differences']}")
    return failures


# ---------------------------------------------------------------------------------------------- the runs


def measure(
    servers: dict[str, Server], files: dict[str, Path], options: Options, rounds: int, label: str
) -> list[dict]:
    """Warm-up, then `rounds` rounds; each round runs every endpoint on every server, the order rotating."""
    names = list(servers)
    for endpoint in options.endpoints:
        for name in names:
            if options.warmup:
                run_wrk(servers[name], files[endpoint], endpoint, options.warmup, options)
    runs = []
    for number in range(1, rounds + 1):
        order = names[(number - 1) % len(names) :] + names[: (number - 1) % len(names)]
        for endpoint in options.endpoints:
            for name in order:
                run = run_wrk(servers[name], files[endpoint], endpoint, options.duration, options)
                runs.append({"round": number, "endpoint": endpoint, "config": name, **run})
                log(
                    f"  {label} round {number} {endpoint:6} {name:18} {run['rps']:8.0f} req/s  "
                    f"p50 {run['p50_ms']:6.2f} ms  p99 {run['p99_ms']:6.2f} ms  "
                    f"{run['server_cpu_us_per_request']:6.0f} µs CPU/req"
                )
    return runs


def summarise(runs: list[dict], endpoints: tuple[str, ...], configs: list[str]) -> dict:
    summary: dict = {"endpoints": {}, "ratio": {}}
    for endpoint in endpoints:
        per_config = {}
        for name in configs:
            mine = [r for r in runs if r["endpoint"] == endpoint and r["config"] == name]
            if not mine:
                continue
            per_config[name] = {
                "rps_median": round(statistics.median(r["rps"] for r in mine), 1),
                "rps_min": min(r["rps"] for r in mine),
                "rps_max": max(r["rps"] for r in mine),
                "p50_ms": round(statistics.median(r["p50_ms"] for r in mine), 3),
                "p99_ms": round(statistics.median(r["p99_ms"] for r in mine), 3),
                "p99_ms_worst": max(r["p99_ms"] for r in mine),
                "cpu_us_per_request": round(statistics.median(r["server_cpu_us_per_request"] for r in mine), 1),
                "server_cpu_busy": round(statistics.median(r.get(f"cpu{SERVER_CPU}_busy", 0) for r in mine), 3),
                "rounds": len(mine),
            }
        summary["endpoints"][endpoint] = per_config
        references = [n for n in configs if CONFIGS[n].reference]
        if not references:
            continue
        per_round = []
        for number in sorted({r["round"] for r in runs}):
            in_round = {r["config"]: r["rps"] for r in runs if r["endpoint"] == endpoint and r["round"] == number}
            best = max(in_round.get(n, 0) for n in references)
            if "service" in in_round and best > 0:
                per_round.append(round(in_round["service"] / best, 3))
        best_reference = max(references, key=lambda n: per_config.get(n, {}).get("rps_median", 0))
        summary["ratio"][endpoint] = {
            "median": round(statistics.median(per_round), 3) if per_round else float("nan"),
            "min": min(per_round) if per_round else float("nan"),
            "max": max(per_round) if per_round else float("nan"),
            "per_round": per_round,
            "best_reference": best_reference,
        }
    return summary


def profile(server: Server, keys_file: Path, endpoint: str, options: Options, out: Path) -> dict:
    """py-spy the service while wrk drives it; returns the top functions by self and total time."""
    py_spy = tool("py-spy", "The profile needs it: python -m pip install py-spy (or --no-profile)")
    pid = server.worker_pids()[0]
    recorder = subprocess.Popen(
        [*pinned(CLIENT_CPU), py_spy, "record", "--pid", str(pid), "--duration", str(options.profile_seconds)]
        + ["--rate", "500", "--format", "raw", "--function", "--nonblocking", "--gil", "--output", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    time.sleep(0.5)
    before = _thread_cpu(pid)
    run = run_wrk(server, keys_file, endpoint, options.profile_seconds - 1, options)
    after = _thread_cpu(pid)
    output, _ = recorder.communicate(timeout=options.profile_seconds + 60)
    if recorder.returncode != 0 or not out.exists():
        raise BenchError(f"py-spy failed ({recorder.returncode}): {output}")
    # Kept gzipped: collapsed stacks compress about tenfold.
    packed = out.with_name(out.name + ".gz")
    packed.write_bytes(gzip.compress(out.read_bytes()))
    out.unlink()
    used = {tid: after[tid] - before.get(tid, 0) for tid in after}
    total = sum(used.values()) or 1
    return {
        "endpoint": endpoint,
        "file": _relative(packed),
        "rps_while_profiling": run["rps"],
        # Of the process's CPU time: the event loop's thread, and all the others (a2wsgi's pool, asyncio's).
        "cpu_main_thread_percent": round(100 * used.get(pid, 0) / total, 1),
        "cpu_other_threads_percent": round(100 * (total - used.get(pid, 0)) / total, 1),
        "threads": len(after),
        **summarise_stacks(packed),
    }


def _thread_cpu(pid: int) -> dict[int, int]:
    """CPU ticks (user + system) per thread of a process."""
    ticks = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError, IndexError):
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            ticks[int(task.name)] = int(fields[11]) + int(fields[12])
    return ticks


# Entry frames every sample of a thread shares: left out of the "total" table, where they would fill the top.
ENTRY_FRAMES = re.compile(
    r"^(<module>|main|_serve|run|asyncio_run|Runner\.run|Server\.run|Server\.serve|Thread\._bootstrap(_inner)?|"
    r"Thread\.run|_worker|_WorkItem\.run) \("
)
NO_PYTHON_FRAME = "(no Python frame: C code holding the GIL)"


def summarise_stacks(path: Path, top: int = 25) -> dict:
    self_counts: dict[str, int] = {}
    total_counts: dict[str, int] = {}
    packages: dict[str, int] = {}
    samples = 0
    for line in gzip.decompress(path.read_bytes()).decode(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        count = int(count)
        frames = [f for f in stack.split(";") if f and not f.startswith(("process ", "thread "))]
        frames = frames or [NO_PYTHON_FRAME]
        leaf = frames[-1]
        samples += count
        self_counts[leaf] = self_counts.get(leaf, 0) + count
        for frame in set(frames):
            if not ENTRY_FRAMES.match(frame):
                total_counts[frame] = total_counts.get(frame, 0) + count
        package = _package(leaf)
        packages[package] = packages.get(package, 0) + count

    def table(counts: dict[str, int]) -> list[dict]:
        ranked = sorted(counts.items(), key=lambda item: -item[1])[:top]
        return [{"function": _short(f), "percent": round(100 * c / max(samples, 1), 1)} for f, c in ranked]

    return {
        "samples": samples,
        "top_self": table(self_counts),
        "top_total": table(total_counts),
        "self_by_package": table(packages),
    }


def _frame_file(frame: str) -> str:
    found = re.search(r"\(([^()]*)\)$", frame)
    return found.group(1).rsplit(":", 1)[0] if found else ""


PROJECT_PACKAGES = ("handlers", "models", "warehouse_connections", "warehouses")


def _package(frame: str) -> str:
    """py-spy names files relative to their sys.path entry: the first part is the top-level package."""
    path = _frame_file(frame)
    top = path.split("/", 1)[0].removesuffix(".py").lstrip("<").split(" ")[-1].rstrip(">")
    if top in PROJECT_PACKAGES:
        return f"{top} (project)"
    if top in sys.stdlib_module_names:
        return f"{top} (stdlib)"
    return top or frame


def _short(frame: str) -> str:
    name = frame.split(" (", 1)[0]
    path = _frame_file(frame)
    return f"{name} ({path})" if path else name


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def start_servers(options: Options, env: dict[str, str], workdir: Path, probe: tuple[int, str]) -> dict[str, Server]:
    servers = {}
    try:
        # One at a time, so that each start-up has the server CPU to itself.
        for name in options.configs:
            config = CONFIGS[name]
            port = free_port()
            command = server_command(config, port, options)
            server = Server(config, command, {**env, **dict(config.env)}, port, workdir / f"{name}.log")
            servers[name] = server
            startup = server.start(probe)
            log(f"  started {name} on port {port}: first 200 after {startup:.2f} s")
    except BaseException:
        stop_all(servers)
        raise
    return servers


def stop_all(servers: dict[str, Server]) -> None:
    for server in servers.values():
        server.stop()


def bench_database(db_kind: str, options: Options, workdir: Path, secret_key: str) -> dict:
    log(f"== {db_kind}: {options.organisations} organisations")
    dir_ = workdir / db_kind
    dir_.mkdir()
    db = Database(db_kind, dir_, options.pg_url, options.keep)
    servers: dict[str, Server] = {}
    try:
        env = environment(db, dir_, options, secret_key)
        keys_file = dir_ / "keys.tsv"
        seconds = seed(env, options.organisations, keys_file, dir_)
        log(f"  seed-demo: {options.organisations} organisations in {seconds:.1f} s")
        db.analyse()
        keys = read_keys(keys_file)
        servers = start_servers(options, env, dir_, keys[0])
        files = {"list": wrk_keys_file(keys, options.max_wrk_keys, dir_ / "wrk-list.tsv")}
        if "detail" in options.endpoints:
            files["detail"] = detail_keys(servers["service"], keys, options.detail_sample, dir_ / "wrk-detail.tsv")
        semantics = check_semantics(servers, keys)
        if not semantics["equal"]:
            log(f"  warning: the reference answers differently: {semantics['differences']}")
        runs = measure(servers, files, options, options.rounds, db_kind)
        result = {
            "database": db_kind,
            "database_version": getattr(db, "server_version", _sqlite_version()),
            "organisations": options.organisations,
            "seed_seconds": round(seconds, 2),
            "servers": {
                name: {
                    "label": s.config.label,
                    "command": _display_command(s.command),
                    "startup_s": round(s.startup_s, 3),
                    **s.memory(),
                }
                for name, s in servers.items()
            },
            "semantics": semantics,
            "runs": runs,
            "summary": summarise(runs, options.endpoints, list(servers)),
        }
        if options.profile:
            stamp = datetime.datetime.now().strftime("%Y%m%dT%H%M%S")
            # Beside the result: bench/results, or the --output's folder.
            folder = options.output.parent if options.output else RESULTS_DIR
            folder.mkdir(parents=True, exist_ok=True)
            out = folder / f"profile-{stamp}-{db_kind}.txt"
            result["profile"] = profile(servers["service"], files["list"], "list", options, out)
            result["servers"]["service"].update(servers["service"].memory())
        return result
    finally:
        stop_all(servers)
        db.drop()


def scale_database(options: Options, workdir: Path, secret_key: str) -> dict:
    """Latency vs organisation count: seed up to each count in turn, restart the servers, measure."""
    dir_ = workdir / "scale"
    dir_.mkdir()
    db = Database("postgresql", dir_, options.pg_url, options.keep)
    points = []
    try:
        env = environment(db, dir_, options, secret_key)
        keys_file = dir_ / "keys.tsv"
        seeded = 0
        for count in sorted(options.scale_counts):
            log(f"== scale: {count} organisations on PostgreSQL")
            seconds = seed(env, count - seeded, keys_file, dir_)
            log(f"  seed-demo: {count - seeded} more organisations in {seconds:.1f} s")
            seeded = count
            db.analyse()
            keys = read_keys(keys_file)
            servers = start_servers(options, env, dir_, keys[0])
            try:
                files = {"list": wrk_keys_file(keys, options.max_wrk_keys, dir_ / "wrk-list.tsv")}
                runs = measure(servers, files, options, options.rounds, f"{count:>9}")
                points.append(
                    {
                        "organisations": count,
                        "seed_seconds": round(seconds, 2),
                        "seeded_organisations": count - (points[-1]["organisations"] if points else 0),
                        "servers": {
                            name: {"startup_s": round(s.startup_s, 3), **s.memory()} for name, s in servers.items()
                        },
                        "runs": runs,
                        "summary": summarise(runs, ("list",), list(servers)),
                    }
                )
            finally:
                stop_all(servers)
        return {"database": "postgresql", "database_version": db.server_version, "points": points}
    finally:
        db.drop()


def _display_command(command: list[str]) -> str:
    shown = [Path(part).name if i == 0 else part for i, part in enumerate(command)]
    return " ".join(shown).replace(str(BENCH_DIR), "bench")


def _sqlite_version() -> str:
    import sqlite3

    return sqlite3.sqlite_version


# ---------------------------------------------------------------------------------------------- the record


def machine() -> dict:
    model = ""
    with contextlib.suppress(OSError):
        found = re.search(r"^model name\s*:\s*(.*)$", Path("/proc/cpuinfo").read_text(), re.M)
        model = found.group(1) if found else ""
    versions = {}
    for package in PACKAGES:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[package] = importlib.metadata.version(package)
    wrk = shutil.which("wrk")
    return {
        "cpu": model,
        "cpus": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "packages": versions,
        "wrk": " ".join(_first_line([wrk, "-v"]).split()[:2]) if wrk else None,
        "loadavg_before": os.getloadavg()[0],
    }


def _first_line(command: list[str]) -> str:
    done = subprocess.run(command, capture_output=True, text=True)
    return (done.stdout or done.stderr).strip().splitlines()[0] if (done.stdout or done.stderr).strip() else ""


def git_state() -> dict:
    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)
        return done.stdout.rstrip("\n")

    # Uncommitted changes make the figures those of the work tree, not of the commit: say which.
    changed = [line[3:] for line in git("status", "--porcelain", "--untracked-files=no").splitlines()]
    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        "subject": git("log", "-1", "--format=%s"),
        "changed": changed,
    }


def method(options: Options) -> dict:
    return {
        "connections": options.connections,
        "wrk_threads": options.wrk_threads,
        "duration_s": options.duration,
        "warmup_s": options.warmup,
        "rounds": options.rounds,
        "pinned": PINNING,
        "server_cpu": SERVER_CPU,
        "client_cpu": CLIENT_CPU,
        "log_level": options.log_level,
        "gthread_threads": options.gthread_threads,
        "rsa_key_bits": options.rsa_key_bits,
        "detail_sample": options.detail_sample,
        "max_wrk_keys": options.max_wrk_keys,
    }


def print_summary(result: dict) -> None:
    for db_name, db in result.get("databases", {}).items():
        log(f"\n{db_name} ({db['database_version']}), {db['organisations']} organisations")
        for name, server in db["servers"].items():
            log(
                f"  {name:18} startup {server['startup_s']:.2f} s   RSS {server['rss_mib']:.1f} MiB "
                f"(peak {server['peak_rss_mib']:.1f}, all processes {server['tree_rss_mib']:.1f})"
            )
        for endpoint, per_config in db["summary"]["endpoints"].items():
            for name, s in per_config.items():
                log(
                    f"  {endpoint:6} {name:18} {s['rps_median']:8.0f} req/s ({s['rps_min']:.0f}-{s['rps_max']:.0f})  "
                    f"p50 {s['p50_ms']:6.2f} ms  p99 {s['p99_ms']:6.2f} ms  {s['cpu_us_per_request']:5.0f} µs CPU/req"
                )
            ratio = db["summary"]["ratio"].get(endpoint)
            if ratio:
                log(
                    f"  {endpoint:6} ratio to the better reference ({ratio['best_reference']}): "
                    f"median {ratio['median']:.2f}, lowest round {ratio['min']:.2f}"
                )
        if "profile" in db:
            log("  profile (py-spy, self time, list endpoint):")
            for row in db["profile"]["top_self"][:12]:
                log(f"    {row['percent']:5.1f} %  {row['function']}")
    for point in result.get("scale", {}).get("points", []):
        s = point["summary"]["endpoints"]["list"]["service"]
        log(
            f"  scale {point['organisations']:>9} organisations: {s['rps_median']:.0f} req/s  "
            f"p50 {s['p50_ms']:.2f} ms  p99 {s['p99_ms']:.2f} ms"
        )


def write_result(result: dict, options: Options) -> Path:
    if options.output:
        path = options.output
    elif options.kind == "smoke":
        path = Path(tempfile.gettempdir()) / f"bench-smoke-{os.getpid()}.json"
    else:
        RESULTS_DIR.mkdir(exist_ok=True)
        path = RESULTS_DIR / f"{result['started_at'].replace(':', '').replace('-', '')[:15]}-{options.kind}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1, allow_nan=True) + "\n")
    return path


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


# ---------------------------------------------------------------------------------------------- the docs


def load_results() -> list[dict]:
    results = []
    for path in sorted(RESULTS_DIR.glob("*.json")):
        with contextlib.suppress(ValueError, OSError):
            result = json.loads(path.read_text())
            result["_file"] = _relative(path)
            results.append(result)
    return sorted(results, key=lambda r: r.get("started_at", ""))


def write_docs() -> Path:
    """docs/performance.md and its plots, from the results in bench/results: nothing in them is typed by hand."""
    results = load_results()
    latest: dict[str, tuple[dict, dict]] = {}
    for result in results:
        if result.get("kind") == "bench":
            for name, db in result.get("databases", {}).items():
                latest[name] = (result, db)
    scale = next((r for r in reversed(results) if r.get("kind") == "scale"), None)
    if not latest and not scale:
        raise BenchError(f"no results in {_relative(RESULTS_DIR)}: run the benchmark first")
    PLOTS_DIR.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Performance",
        "",
        "<!-- Generated by `python bench/run.py --write-docs` (or `--docs-only`) from bench/results/*.json;",
        "     do not edit by hand: run the benchmark again. -->",
        "",
        "The list endpoint answers every dashboard page load of every organisation, so it has to be cheap. This",
        "page is written by `bench/run.py` from its own results: the method, the latest figures from this machine",
        "class, where the service's time goes, and how the figures moved from run to run.",
        "",
    ]
    lines += _method_section(next(iter(latest.values()))[0] if latest else scale)
    if latest:
        lines += _figures_section(latest)
    if scale:
        lines += _scale_section(scale)
    profiles = [(name, db["profile"]) for name, (_, db) in latest.items() if "profile" in db]
    if profiles:
        lines += _profile_section(profiles)
    lines += _history_section(results)
    path = DOCS_DIR / "performance.md"
    path.write_text("\n".join(lines).rstrip() + "\n")
    return path


def _method_section(result: dict) -> list[str]:
    m = result["method"]
    pinning = (
        f"The server under test is pinned to CPU {m['server_cpu']} and `wrk` to CPU {m['client_cpu']} with `taskset`."
        if m["pinned"]
        else "Nothing is pinned (the machine could not pin)."
    )
    return [
        "## Method",
        "",
        "`python bench/run.py` (see its `--help`), per database, in one run:",
        "",
        "1. A fresh database (a SQLite file, or a `bench_wc_*` PostgreSQL database dropped afterwards) seeded with "
        "`warehouse-connections seed-demo --organisations N`: every organisation has one Snowflake connection (a mix "
        "of statuses) and a full API key.",
        "2. The servers over that database, started one after the other, each timed from process start to its first "
        "200 on an authenticated list call:",
        "   - **service**: `warehouse-connections serve --workers 1`, as in production: request validation, API-key "
        f"auth, a JSON log line per request (`WC_LOG_LEVEL={m['log_level']}`, to a file) and Prometheus metrics on; "
        "response validation off (its production default);",
        "   - **service-stock**: the same with `WC_FAST_PATH=off`: every request on connexion's stock path (a2wsgi's "
        "thread pool, connexion's per-request decorator, signature and validator building), to show what the fast "
        "path (`handlers/inline.py`) buys;",
        "   - **reference-sync**: `bench/reference_app.py`, the same two reads written by hand with Flask and peewee "
        "(`FlaskDB`, a pooled connection, the key found by its indexed prefix and its SHA-256 compared, the "
        "organisation matched, `jsonify`), under gunicorn's default sync worker as Flask's docs deploy it;",
        f"   - **reference-gthread**: the same app under gunicorn `gthread` ({m['gthread_threads']} threads, "
        "keep-alive).",
        "",
        "   Before measuring, the script checks that every other server answers what the service answers (the same "
        "bodies, 401, 403, 404).",
        f"3. {pinning} `wrk -t{m['wrk_threads']} -c{m['connections']}` with `bench/random_org.lua` sends every "
        "request to a random organisation with that organisation's own key (wrk loads at most "
        f"{m['max_wrk_keys']:,} organisations, a uniform sample). The detail endpoint uses the connection ids of "
        f"{m['detail_sample']:,} organisations, fetched from the list endpoint in a setup pass.",
        f"4. A {m['warmup_s']} s warm-up per server and endpoint, then {m['rounds']} rounds of {m['duration_s']} s "
        "runs. Each round runs every server on every endpoint, the order rotating from round to round, so that drift "
        "on the machine hits every server alike. The **ratio** is the service's requests per second over the better "
        "reference deployment's in the same round; the tables give its median over the rounds, and the lowest round.",
        "5. After the runs: the RSS of the serving process (gunicorn's worker, not its arbiter), the server's CPU "
        "time per request (from `/proc`), and a py-spy profile of the service under the same load.",
        "",
        "PostgreSQL is not pinned: its backends share the two cores with the server and wrk, alike for every "
        "configuration. Latencies are wrk's, seen from the client, queueing included. The machine is shared with "
        "other work; each run records its load average.",
        "",
    ]


def _targets(db: dict) -> list[str]:
    rows = []
    listing = db["summary"]["endpoints"].get("list", {}).get("service")
    ratio = db["summary"]["ratio"].get("list")
    service = db["servers"]["service"]
    if ratio:
        ok = ratio["median"] >= TARGET_RATIO
        rows.append(
            f"| list: at least {TARGET_RATIO}x the better reference (aim 2x) | {ratio['median']:.2f}x "
            f"(lowest round {ratio['min']:.2f}x) | {_mark(ok)} |"
        )
    if listing:
        tail = listing["p99_ms"] / listing["p50_ms"]
        rows.append(f"| list: p99 at most {TARGET_TAIL}x p50 at -c16 | {tail:.2f}x | {_mark(tail <= TARGET_TAIL)} |")
    rows.append(
        f"| at most {TARGET_STARTUP_S} s from process start to the first 200 | {service['startup_s']:.2f} s | "
        f"{_mark(service['startup_s'] <= TARGET_STARTUP_S)} |"
    )
    rows.append(
        f"| at most {TARGET_RSS_MIB} MiB RSS per worker | {service['peak_rss_mib']:.1f} MiB (peak) | "
        f"{_mark(service['peak_rss_mib'] <= TARGET_RSS_MIB)} |"
    )
    return ["| target (issue 7) | measured | |", "|---|---|---|", *rows]


def _mark(ok: bool) -> str:
    return "met" if ok else "**not met**"


def _figures_section(latest: dict[str, tuple[dict, dict]]) -> list[str]:
    lines = ["## Latest figures", ""]
    for name, (result, db) in latest.items():
        lines += [
            f"### {'SQLite' if name == 'sqlite' else 'PostgreSQL'} {db['database_version']}, "
            f"{db['organisations']:,} organisations",
            "",
            _run_line(result),
            "",
            *_targets(db),
            "",
            "| endpoint | configuration | req/s (median, min–max) | p50 ms | p99 ms | p99/p50 | server CPU µs/req "
            "| ratio |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for endpoint, per_config in db["summary"]["endpoints"].items():
            ratio = db["summary"]["ratio"].get(endpoint)
            for config, s in per_config.items():
                shown = (
                    f"{ratio['median']:.2f} (lowest {ratio['min']:.2f})"
                    if config == "service" and ratio
                    else "best reference"
                    if ratio and config == ratio["best_reference"]
                    else ""
                )
                lines.append(
                    f"| {endpoint} | {config} | {s['rps_median']:,.0f} ({s['rps_min']:,.0f}–{s['rps_max']:,.0f}) "
                    f"| {s['p50_ms']:.2f} | {s['p99_ms']:.2f} | {s['p99_ms'] / s['p50_ms']:.2f} "
                    f"| {s['cpu_us_per_request']:,.0f} | {shown} |"
                )
        lines += [
            "",
            "| server | command | first 200 after start | RSS of the worker (peak) | RSS of all its processes |",
            "|---|---|---|---|---|",
        ]
        for config, server in db["servers"].items():
            lines.append(
                f"| {config} | `{_strip_port(server['command'])}` | {server['startup_s']:.2f} s "
                f"| {server['rss_mib']:.1f} MiB ({server['peak_rss_mib']:.1f}) | {server['tree_rss_mib']:.1f} MiB |"
            )
        lines += [""]
        if not db["semantics"]["equal"]:
            lines += [f"The reference answered differently: {db['semantics']['differences']}", ""]
    plot = _plot_configurations(latest)
    lines += [f"![Requests per second and latency per configuration](performance/{plot.name})", ""]
    return lines


def _run_line(result: dict) -> str:
    machine_, git = result["machine"], result["git"]
    packages = ", ".join(f"{k} {v}" for k, v in machine_["packages"].items())
    changed = f"; uncommitted changes in {', '.join(git['changed'])}" if git.get("changed") else ""
    label = f" ({result['label']})" if result.get("label") else ""
    return (
        f"Run{label} of {result['started_at']} at commit `{git['commit']}` ({git['subject']}){changed}. "
        f"Machine: {machine_['cpu']}, {machine_['cpus']} CPUs, {machine_['memory_gib']} GiB, Linux "
        f"{machine_['kernel']}, Python {machine_['python']}, {machine_.get('wrk') or 'wrk'}; {packages}. "
        f"Load average before/after: {machine_['loadavg_before']:.2f}/{machine_.get('loadavg_after', 0):.2f}. "
        f"Result: `{result['_file']}`."
    )


def _strip_port(command: str) -> str:
    return re.sub(r"(--port |127\.0\.0\.1:)\d+", r"\1PORT", command)


def _scale_section(result: dict) -> list[str]:
    points = result["scale"]["points"]
    lines = [
        f"## Latency vs organisation count (PostgreSQL {result['scale']['database_version']}, list endpoint)",
        "",
        _run_line(result),
        "",
        "Seeded up to each count in turn (`VACUUM ANALYZE` after each load), the servers restarted, then the same",
        f"method: {result['method']['rounds']} rounds of {result['method']['duration_s']} s.",
        "",
        "| organisations | configuration | req/s | p50 ms | p99 ms | p50 vs the smallest count | first 200 | RSS | "
        "seed-demo |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    base: dict[str, float] = {}
    for point in points:
        for config, s in point["summary"]["endpoints"]["list"].items():
            base.setdefault(config, s["p50_ms"])
            server = point["servers"][config]
            seeded = point.get("seeded_organisations", point["organisations"])
            lines.append(
                f"| {point['organisations']:,} | {config} | {s['rps_median']:,.0f} | {s['p50_ms']:.2f} "
                f"| {s['p99_ms']:.2f} | {100 * (s['p50_ms'] / base[config] - 1):+.1f} % | {server['startup_s']:.2f} s "
                f"| {server['rss_mib']:.1f} MiB | {seeded:,} in {point['seed_seconds']:.0f} s |"
            )
    counts = ", ".join(f"{p['organisations']:,}" for p in points)
    missing = "" if points and points[-1]["organisations"] >= 1_000_000 else "; the 1,000,000 point was not run"
    lines += [""]
    for config in ("service", "service-no-key-cache"):
        p50s = [p["summary"]["endpoints"]["list"][config]["p50_ms"] for p in points if config in p["servers"]]
        if p50s:
            spread = 100 * (max(p50s) / min(p50s) - 1)
            lines.append(
                f"- {config} p50 spread over {counts} organisations: {spread:.1f} % (target: within ±10 % from "
                f"1,000 to 1,000,000){missing}."
            )
    lines += [
        "",
        "**service** runs with the API-key cache at its default (5 s), whose hit rate is high while wrk's keys are "
        "few enough to recur within 5 s and near zero when they are many; **service-no-key-cache** looks every key "
        "up at every count, so the cache does not enter its figures; **reference-gthread** has no cache and shows "
        "how the machine and PostgreSQL themselves move with the count.",
        "",
        f"![Latency vs organisation count](performance/{_plot_scale(result).name})",
        "",
    ]
    return lines


def _profile_section(profiles: list[tuple[str, dict]]) -> list[str]:
    lines = [
        "## Where the service's time goes",
        "",
        "py-spy (`record --gil --function --nonblocking`) on the service while wrk drives the list endpoint as",
        "above: each sample is the stack of the thread holding the GIL, so the percentages are of the time spent",
        "running Python code (C code that releases the GIL, such as the database driver's query or uvloop's I/O,",
        "is not in them; py-spy's idle detection does not work on this machine class, so the GIL is the filter).",
        "Self time is spent in the function itself; total includes what it calls. The raw collapsed stacks (for a",
        "flame graph) are in the file named. The CPU split between threads comes from `/proc`.",
        "",
    ]
    for name, p in profiles:
        lines += [
            f"### {'SQLite' if name == 'sqlite' else 'PostgreSQL'}: {p['samples']:,} samples at "
            f"{p['rps_while_profiling']:,.0f} req/s (`{p['file']}`)",
            "",
            f"CPU time of the process: {p.get('cpu_main_thread_percent', 0):.0f} % on the event loop's thread, "
            f"{p.get('cpu_other_threads_percent', 0):.0f} % on the {p.get('threads', 0) - 1} others.",
            "",
            "| self % | function | | total % | function |",
            "|---|---|---|---|---|",
        ]
        for own, total in zip(p["top_self"][:20], p["top_total"][:20], strict=False):
            lines.append(
                f"| {own['percent']:.1f} | `{own['function']}` | | {total['percent']:.1f} | `{total['function']}` |"
            )
        lines += [
            "",
            "Self time by package: "
            + ", ".join(f"{row['function']} {row['percent']:.1f} %" for row in p["self_by_package"][:12])
            + ".",
            "",
        ]
    return lines


def _history_section(results: list[dict]) -> list[str]:
    lines = [
        "## History",
        "",
        "Every result kept in `bench/results/`, oldest first: what each change bought. Name a run with `--label`.",
        "",
        "| run | commit | label | database | organisations | list req/s | list ratio | detail ratio | list p99/p50 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        if result.get("kind") != "bench":
            continue
        for name, db in result.get("databases", {}).items():
            ratio = db["summary"]["ratio"]
            listing = db["summary"]["endpoints"].get("list", {}).get("service")
            dirty = "+" if result["git"].get("changed") else ""
            rps = f"{listing['rps_median']:,.0f}" if listing else ""
            tail = f"{listing['p99_ms'] / listing['p50_ms']:.2f}" if listing else ""
            lines.append(
                f"| {result['started_at']} | `{result['git']['commit']}`{dirty} | {result.get('label', '')} | {name} "
                f"| {db['organisations']:,} | {rps} | {_ratio_cell(ratio.get('list'))} "
                f"| {_ratio_cell(ratio.get('detail'))} | {tail} |"
            )
    lines += ["", "`+`: the work tree had uncommitted changes (listed in the result file).", ""]
    return lines


def _ratio_cell(ratio: dict | None) -> str:
    return f"{ratio['median']:.2f} (lowest {ratio['min']:.2f})" if ratio else ""


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise BenchError("--write-docs draws its plots with matplotlib: python -m pip install matplotlib") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


COLOURS = {
    "service": "#1f77b4",
    "service-stock": "#aec7e8",
    "service-no-key-cache": "#ff7f0e",
    "reference-sync": "#bbbbbb",
    "reference-gthread": "#7f7f7f",
}


def _plot_configurations(latest: dict[str, tuple[dict, dict]]) -> Path:
    plt = _pyplot()
    names = list(latest)
    figure, axes = plt.subplots(2, len(names), figsize=(5.5 * len(names), 7), squeeze=False)
    for column, name in enumerate(names):
        db = latest[name][1]
        endpoints = list(db["summary"]["endpoints"])
        configs = list(db["servers"])
        width = 0.8 / len(configs)
        for i, config in enumerate(configs):
            xs = [e + (i - (len(configs) - 1) / 2) * width for e in range(len(endpoints))]
            stats = [db["summary"]["endpoints"][e].get(config) for e in endpoints]
            rps = [s["rps_median"] if s else 0 for s in stats]
            low = [s["rps_median"] - s["rps_min"] if s else 0 for s in stats]
            high = [s["rps_max"] - s["rps_median"] if s else 0 for s in stats]
            colour = COLOURS.get(config)
            axes[0][column].bar(xs, rps, width, yerr=[low, high], capsize=3, label=config, color=colour)
            axes[1][column].bar(xs, [s["p99_ms"] if s else 0 for s in stats], width, color=colour, alpha=0.45)
            axes[1][column].bar(xs, [s["p50_ms"] if s else 0 for s in stats], width, color=colour)
        title = f"{'SQLite' if name == 'sqlite' else 'PostgreSQL'}, {db['organisations']:,} organisations"
        for row, ylabel in ((0, "requests/s (median, min–max of rounds)"), (1, "latency ms (dark: p50, light: p99)")):
            axis = axes[row][column]
            axis.set_xticks(range(len(endpoints)), endpoints)
            axis.set_ylabel(ylabel)
            axis.grid(axis="y", alpha=0.3)
        axes[0][column].set_title(title)
        for e, endpoint in enumerate(endpoints):
            ratio = db["summary"]["ratio"].get(endpoint)
            if ratio:
                top = max(s["rps_max"] for s in db["summary"]["endpoints"][endpoint].values())
                axes[0][column].annotate(f"{ratio['median']:.2f}x", (e, top), ha="center", va="bottom")
        highest = max((s["rps_max"] for per in db["summary"]["endpoints"].values() for s in per.values()), default=1)
        axes[0][column].set_ylim(0, highest * 1.15)
        axes[0][column].legend(loc="lower right", fontsize="small")
    figure.suptitle(f"One worker on one CPU, wrk -c{next(iter(latest.values()))[0]['method']['connections']}")
    figure.tight_layout()
    path = PLOTS_DIR / "configurations.png"
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _plot_scale(result: dict) -> Path:
    plt = _pyplot()
    points = result["scale"]["points"]
    configs = list(points[0]["summary"]["endpoints"]["list"]) if points else []
    figure, (latency, throughput) = plt.subplots(1, 2, figsize=(11, 4.2))
    counts = [p["organisations"] for p in points]
    for config in configs:
        stats = [p["summary"]["endpoints"]["list"][config] for p in points]
        colour = COLOURS.get(config)
        latency.plot(counts, [s["p50_ms"] for s in stats], "o-", color=colour, label=f"{config} p50")
        latency.plot(counts, [s["p99_ms"] for s in stats], "s--", color=colour, alpha=0.6, label=f"{config} p99")
        throughput.plot(counts, [s["rps_median"] for s in stats], "o-", color=colour, label=config)
    for axis, ylabel in ((latency, "latency ms"), (throughput, "requests/s (median)")):
        axis.set_xscale("log")
        axis.set_xlabel("organisations")
        axis.set_ylabel(ylabel)
        axis.set_ylim(bottom=0)
        axis.grid(alpha=0.3)
        axis.legend(fontsize="small")
    figure.suptitle("List endpoint on PostgreSQL vs organisation count")
    figure.tight_layout()
    path = PLOTS_DIR / "scale.png"
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def main(argv: list[str] | None = None) -> int:
    options, args = parse_options(argv)
    # A SIGTERM (a test's timeout) unwinds like Ctrl-C: the servers stop and the database is dropped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        if args.docs_only:
            log(f"wrote {_relative(write_docs())}")
            return 0
        started = time.perf_counter()
        result = run(options)
        path = write_result(result, options)
        print_summary(result)
        log(f"\nwrote {_relative(path)} ({time.perf_counter() - started:.0f} s)")
        if options.kind == "smoke":
            failures = sanity_failures(json.loads(path.read_text()))
            if failures:
                raise BenchError("smoke: " + "; ".join(failures))
            log("smoke: ran end to end; the numbers are sane")
        if args.write_docs:
            log(f"wrote {_relative(write_docs())}")
        return 0
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
