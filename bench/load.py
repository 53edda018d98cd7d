"""The load: a wrk run against a server, the warm-up and interleaved rounds, and their summary."""

import json
import re
import statistics
import subprocess
from pathlib import Path

from common import BENCH_DIR, CLIENT_CPU, SERVER_CPU, BenchError, Options, log, pinned, tool
from servers import CONFIGS, Server

LUA_SCRIPT = BENCH_DIR / "random_org.lua"
# The list endpoint with a bearer token instead of the API key; the service alone runs it.
BEARER = "list-bearer"
WRK_INSTALL = "Install it: apt-get install -y wrk (Debian, Ubuntu), brew install wrk (macOS)"


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


def measure(
    servers: dict[str, Server], files: dict[str, dict[str, Path]], options: Options, rounds: int, label: str
) -> list[dict]:
    """Warm-up, then `rounds` rounds; each round runs every endpoint on every server, the order rotating.
    `files`: per server, per endpoint, the keys file wrk draws from."""
    names = list(servers)
    for endpoint in options.endpoints:
        for name in names:
            if options.warmup and endpoint in files[name]:
                run_wrk(servers[name], files[name][endpoint], endpoint, options.warmup, options)
    runs = []
    for number in range(1, rounds + 1):
        order = names[(number - 1) % len(names) :] + names[: (number - 1) % len(names)]
        for endpoint in options.endpoints:
            for name in (name for name in order if endpoint in files[name]):
                run = run_wrk(servers[name], files[name][endpoint], endpoint, options.duration, options)
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
        if not references or endpoint == BEARER:
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
    if BEARER in endpoints:
        summary["bearer_vs_api_key"] = bearer_vs_api_key(runs)
    return summary


def bearer_vs_api_key(runs: list[dict]) -> dict:
    """The service's list throughput with a bearer token over its own with the API key, round by round: the two
    ran back to back in each round, so the machine's drift cancels out."""
    rps = {(r["round"], r["endpoint"]): r["rps"] for r in runs if r["config"] == "service"}
    per_round = [
        round(rps[number, BEARER] / rps[number, "list"], 3)
        for number in sorted({number for number, _ in rps})
        if rps.get((number, BEARER)) and rps.get((number, "list"))
    ]
    return {
        "median": round(statistics.median(per_round), 3) if per_round else float("nan"),
        "min": min(per_round) if per_round else float("nan"),
        "per_round": per_round,
    }


def against_control(runs: list[dict], control: str) -> dict:
    """Per configuration, its list p50 over the control's in the same round (the median of the rounds): drift of
    the machine between rounds and between counts moves both, and cancels out."""
    p50s: dict[int, dict[str, float]] = {}  # by round, by configuration
    for run in runs:
        if run["endpoint"] == "list":
            p50s.setdefault(run["round"], {})[run["config"]] = run["p50_ms"]
    ratios = {}
    for name in sorted({r["config"] for r in runs} - {control}):
        per_round = [
            round(p50[name] / p50[control], 3) for _, p50 in sorted(p50s.items()) if name in p50 and p50.get(control)
        ]
        if per_round:
            ratios[name] = {"median": round(statistics.median(per_round), 3), "per_round": per_round}
    return ratios
