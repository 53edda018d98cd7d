"""The record of a run: the machine, the git state and the method; the result file and its printed summary."""

import contextlib
import importlib.metadata
import json
import os
import platform
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from common import CLIENT_CPU, PINNING, RESULTS_DIR, ROOT, SERVER_CPU, Options, log

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
        "startups": options.startups,
        "startups_interleaved": True,  # the servers take turns (start_servers)
        "after_load": ["VACUUM ANALYZE", "CHECKPOINT", "sync"],  # what Database.settle does
        "pinned": PINNING,
        "server_cpu": SERVER_CPU,
        "client_cpu": CLIENT_CPU,
        "log_level": options.log_level,
        "gthread_threads": options.gthread_threads,
        "rsa_key_bits": options.rsa_key_bits,
        "detail_sample": options.detail_sample,
        "max_wrk_keys": options.max_wrk_keys,
        **(
            {"hanging_tests": options.hanging_tests, "healthy_tests": options.healthy_tests}
            if options.kind == "tests"
            else {}
        ),
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
    _print_tests_summary(result)
    for point in result.get("scale", {}).get("points", []):
        s = point["summary"]["endpoints"]["list"]["service"]
        log(
            f"  scale {point['organisations']:>9} organisations: {s['rps_median']:.0f} req/s  "
            f"p50 {s['p50_ms']:.2f} ms  p99 {s['p99_ms']:.2f} ms  "
            f"p50 / control {point['against_control']['service']['median']:.3f}"
        )


def _print_tests_summary(result: dict) -> None:
    for db_name, db in result.get("tests", {}).items():
        s, healthy = db["summary"], db["healthy"]
        log(
            f"\n{db_name}: list p99 {s['list_p99_at_rest_ms']:.2f} ms at rest, {s['list_p99_hanging_ms']:.2f} ms while "
            f"tests hang (median ratio {s['p99_ratio_median']:.2f}x, worst {s['p99_ratio_worst']:.2f}x), "
            f"{s['list_non_2xx']} non-2xx; {s['refused']} refused, the slowest in {s['refused_ms_max']} ms; "
            f"healthy test median {healthy['median_s']:.3f} s, max {healthy['max_s']:.3f} s"
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
