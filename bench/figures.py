"""The sections of docs/performance.md that show measured figures: per database, by organisation count, the profile."""

import re

from plots import plot_configurations, plot_scale
from servers import CONTROL

# Targets from issue 7, reported (never asserted) against the list endpoint's figures.
TARGET_RATIO, TARGET_TAIL, TARGET_STARTUP_S, TARGET_RSS_MIB = 1.25, 2.0, 0.5, 90
# What issue 7 measured for plain Flask + peewee under gunicorn sync (SQLite, list) on the machine its targets
# were set on: the yardstick for how fast this run's machine was.
ISSUE_REFERENCE_RPS = 1_800
# Issue 20: the list with a bearer token keeps at least this share of the API key's throughput.
TARGET_BEARER_RATIO = 0.9


def after_load(method: dict) -> str:
    # Older results did VACUUM ANALYZE only.
    *steps, last = [f"`{step}`" for step in method.get("after_load", ["VACUUM ANALYZE"])]
    return f"{', '.join(steps)} and {last}" if steps else last


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
    speed = _machine_speed(db)
    return ["| target (issue 7) | measured | |", "|---|---|---|", *rows, *([""] if speed else []), *speed]


def _machine_speed(db: dict) -> list[str]:
    """The absolute targets (start-up) move with the machine; the reference's own figures show how fast it was."""
    reference = db["servers"].get("reference-sync")
    listing = db["summary"]["endpoints"].get("list", {}).get("reference-sync")
    if not reference or not listing:
        return []
    return [
        f"On this run's machine the reference-sync app served the list at {listing['rps_median']:,.0f} req/s (issue 7 "
        f"measured ~{ISSUE_REFERENCE_RPS:,} on the machine its targets were set on) and took "
        f"{reference['startup_s']:.2f} s to its first 200; the service took "
        f"{db['servers']['service']['startup_s'] / reference['startup_s']:.2f}x that.",
    ]


def _mark(ok: bool) -> str:
    return "met" if ok else "**not met**"


def figures_section(latest: dict[str, tuple[dict, dict]]) -> list[str]:
    lines = ["## Latest figures", ""]
    for name, (result, db) in latest.items():
        lines += [
            _database_heading(name, db),
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
            "| server | command | first 200 after start (fastest) | RSS of the worker (peak) "
            "| RSS of all its processes |",
            "|---|---|---|---|---|",
        ]
        for config, server in db["servers"].items():
            # The machine's drift only ever slows a start: the fastest shows what the code needs.
            fastest = min(server.get("startup_samples_s") or [server["startup_s"]])
            lines.append(
                f"| {config} | `{_strip_port(server['command'])}` | {server['startup_s']:.2f} s ({fastest:.2f}) "
                f"| {server['rss_mib']:.1f} MiB ({server['peak_rss_mib']:.1f}) | {server['tree_rss_mib']:.1f} MiB |"
            )
        lines += [""]
        if not db["semantics"]["equal"]:
            lines += [f"The reference answered differently: {db['semantics']['differences']}", ""]
    plot = plot_configurations(latest)
    lines += [f"![Requests per second and latency per configuration](performance/{plot.name})", ""]
    return lines


def bearer_section(bearer: dict[str, tuple[dict, dict]]) -> list[str]:
    """The list endpoint with a bearer token beside the API key: the service against itself, round by round."""
    lines = [
        "## Bearer tokens",
        "",
        "The list endpoint called with a bearer token (an RS256 JWT of the dev issuer, `tokens dev-issuer`, with an "
        "admin role in the organisation; the keys from its JWKS file) beside the same endpoint with the organisation's "
        "API key, by the service alone, the two back to back in every round. wrk draws the tokens from a number of "
        "dashboard sessions (below; one token each, each for its own organisation; the API-key runs "
        "draw from every organisation): the service verifies a session's token on its first call and remembers it "
        "until it expires, as it would a real session's: the first call of a session pays for PyJWT's verification. "
        "The ratio is the bearer runs' requests per second over "
        f"the API key's in the same round; the target is at least {TARGET_BEARER_RATIO}x.",
        "",
    ]
    for name, (result, db) in bearer.items():
        ratio = db["summary"]["bearer_vs_api_key"]
        lines += [
            _database_heading(name, db),
            "",
            _run_line(result),
            "",
            "| credential | req/s (median, min–max) | p50 ms | p99 ms | server CPU µs/req |",
            "|---|---|---|---|---|",
        ]
        for endpoint, credential in (("list", "API key"), ("list-bearer", "bearer token")):
            s = db["summary"]["endpoints"].get(endpoint, {}).get("service")
            if s:
                lines.append(
                    f"| {credential} | {s['rps_median']:,.0f} ({s['rps_min']:,.0f}–{s['rps_max']:,.0f}) "
                    f"| {s['p50_ms']:.2f} | {s['p99_ms']:.2f} | {s['cpu_us_per_request']:,.0f} |"
                )
        per_round = ", ".join(f"{r:.2f}" for r in ratio["per_round"])
        lines += [
            "",
            f"{db.get('bearer_sessions', 0):,} sessions. Bearer over API key: {ratio['median']:.2f}x "
            f"(rounds: {per_round}); target at least "
            f"{TARGET_BEARER_RATIO}x: {_mark(ratio['median'] >= TARGET_BEARER_RATIO)}.",
            "",
        ]
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


def scale_section(result: dict) -> list[str]:
    points = result["scale"]["points"]
    lines = [
        f"## Latency vs organisation count (PostgreSQL {result['scale']['database_version']}, list endpoint)",
        "",
        _run_line(result),
        "",
        f"Seeded up to each count in turn ({after_load(result['method'])} after each load), the servers restarted, "
        "then the same",
        f"method: {result['method']['rounds']} rounds of {result['method']['duration_s']} s.",
    ]
    control = result["scale"].get("control")
    if control:
        lines += [
            "",
            f"**service-control** is the control: the service over a second database that stays at "
            f"{control['organisations']:,} organisations, restarted and measured in the same rounds as the others "
            "at every count. Its own p50 moves only with the machine; each configuration's p50 over the control's "
            "in the same round (the median of the rounds) is what that drift cannot move.",
        ]
    lines += ["", *_scale_table(points, control), ""]
    counts = ", ".join(f"{p['organisations']:,}" for p in points)
    missing = "" if points and points[-1]["organisations"] >= 1_000_000 else "; the 1,000,000 point was not run"
    for config in ("service", "service-no-key-cache"):
        p50s = [p["summary"]["endpoints"]["list"][config]["p50_ms"] for p in points if config in p["servers"]]
        if p50s:
            spread = 100 * (max(p50s) / min(p50s) - 1)
            lines.append(
                f"- {config} p50 spread over {counts} organisations: {spread:.1f} % (target: within ±10 % from "
                f"1,000 to 1,000,000){missing}."
            )
        if control and p50s:
            changes = ", ".join(
                f"{change:+.1f} % at {count:,}"
                for count, change in list(_controlled_changes(points, config).items())[1:]
            )
            lines.append(f"- {config} p50 over the control's, against the smallest count: {changes}.")
    working_set = control.get("wrk_organisations") if control else None
    if working_set:  # older results drew from every organisation, up to --max-wrk-keys
        lines += [
            "",
            f"At every count wrk draws from {working_set:,} organisations, a uniform sample of the whole table, "
            "as at the smallest count: what grows is the table, not the number of organisations the traffic "
            "touches, so **service**'s API-key cache (5 s, its default) hits as often at every count. "
            "**service-no-key-cache** looks every key up, the path of traffic spread over more organisations than "
            "recur within 5 s; **reference-gthread** has no cache.",
        ]
    lines += [
        "",
        f"![Latency vs organisation count](performance/{plot_scale(result).name})",
        "",
    ]
    return lines


def _scale_table(points: list[dict], control: dict | None) -> list[str]:
    controlled = all("against_control" in p for p in points)
    header = "| organisations | configuration | req/s | p50 ms | p99 ms | p50 vs the smallest count |"
    if controlled:
        header += " p50 / control | that vs the smallest count |"
    lines = [header + " first 200 | RSS | seed-demo |", "|---" * (header.count("|") + 2) + "|"]
    base: dict[str, float] = {}
    configs = points[0]["summary"]["endpoints"]["list"] if controlled else {}
    changes = {config: _controlled_changes(points, config) for config in configs}
    for point in points:
        for config, s in point["summary"]["endpoints"]["list"].items():
            base.setdefault(config, s["p50_ms"])
            server = point["servers"][config]
            seeded = point.get("seeded_organisations", point["organisations"])
            seed = f"{seeded:,} in {point['seed_seconds']:.0f} s"
            if config == CONTROL:  # its own database, seeded once before the first count
                seed = f"{control['organisations']:,} in {control['seed_seconds']:.0f} s" if point is points[0] else "0"
            row = (
                f"| {point['organisations']:,} | {config} | {s['rps_median']:,.0f} | {s['p50_ms']:.2f} "
                f"| {s['p99_ms']:.2f} | {100 * (s['p50_ms'] / base[config] - 1):+.1f} % |"
            )
            if controlled:
                ratio = point["against_control"].get(config)
                change = changes.get(config, {}).get(point["organisations"])
                row += f" {ratio['median']:.3f} | {change:+.1f} % |" if ratio else " | |"
            lines.append(f"{row} {server['startup_s']:.2f} s | {server['rss_mib']:.1f} MiB | {seed} |")
    return lines


def _controlled_changes(points: list[dict], config: str) -> dict[int, float]:
    """By count, the change in `config`'s p50 over the control's since the smallest count, in per cent."""
    ratios = [(p["organisations"], p.get("against_control", {}).get(config)) for p in points]
    ratios = [(count, ratio["median"]) for count, ratio in ratios if ratio]
    return {count: 100 * (ratio / ratios[0][1] - 1) for count, ratio in ratios}


def profile_section(profiles: list[tuple[str, dict]]) -> list[str]:
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


def _database_heading(name: str, db: dict) -> str:
    database = "SQLite" if name == "sqlite" else "PostgreSQL"
    return f"### {database} {db['database_version']}, {db['organisations']:,} organisations"
