"""The service's own cost per list or detail request, in one process, without HTTP, wrk or a shared core's noise.

    python bench/inprocess.py --db URL --keys KEYS_FILE [--tree CHECKOUT] [--endpoint list|detail] ...

Builds the app as `serve --workers 1` does (the settings from the environment, JSON log lines, metrics on),
over a database seeded with `seed-demo --keys-file KEYS_FILE`, and calls it as uvicorn would (an ASGI http
scope per request, on uvloop, one request at a time), each request for a random organisation of a fixed sample
with that organisation's key. It prints one JSON line: per batch, the wall-clock and this process's CPU time per
request. The minimum over batches is the figure to compare: other work on the machine only ever adds to it.

--tree puts another checkout first on sys.path, so one interpreter (one set of dependencies) can compare two
commits: run it alternately for each, several times, and compare the minima. --profile writes a cProfile of
the measured batches. The uvicorn connection layer (web/http_protocol.py) is not on this path: wrk covers it.
"""

import argparse
import asyncio
import json
import os
import random
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", help="checkout whose code to load (default: the installed one)")
    parser.add_argument("--db", required=True, help="DATABASE_URL of a database seeded with seed-demo")
    parser.add_argument("--keys", required=True, help="seed-demo's --keys-file: org_id<TAB>key lines")
    parser.add_argument("--endpoint", choices=("list", "detail"), default="list")
    parser.add_argument("--organisations", type=int, default=2000, help="size of the sample requests draw from")
    parser.add_argument("--requests", type=int, default=1000, help="requests per batch")
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=1000, help="requests before the first batch")
    parser.add_argument("--key-cache-seconds", default="5", help="WC_API_KEY_CACHE_SECONDS (0: every key looked up)")
    parser.add_argument("--log-file", default=os.devnull, help="where the per-request log lines go")
    parser.add_argument("--profile", help="write a cProfile of the measured batches here")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.tree:
        sys.path.insert(0, os.path.abspath(args.tree))
    os.environ.update(
        DATABASE_URL=args.db,
        WC_LOG_LEVEL="INFO",
        WC_LOG_FORMAT="json",
        WC_METRICS="on",
        WC_VALIDATE_RESPONSES="false",
        WC_API_KEY_CACHE_SECONDS=args.key_cache_seconds,
    )
    # The log lines go where the benchmark's server sends them (a file), not to this script's output.
    log = os.open(args.log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(log, 2)

    import uvloop

    result = uvloop.run(_measure(args))
    print(json.dumps(result), flush=True)
    return 0


def _build_app():
    from models.storage import migrate
    from warehouse_connections.app import connect_storage, create_app
    from warehouse_connections.infrastructure.logs import configure_logging
    from warehouse_connections.settings import Settings
    from warehouse_connections.startup import objects_for_life

    settings = Settings.from_env()
    configure_logging(settings.log_level, settings.log_format)
    connect_storage(settings)
    migrate()
    with objects_for_life():
        return create_app(settings)


async def _lifespan(app) -> dict:
    """Start the app's lifespan as uvicorn does (lifespan="on"); returns the state handed to each request."""
    state: dict = {}
    incoming: asyncio.Queue = asyncio.Queue()
    started = asyncio.get_running_loop().create_future()
    await incoming.put({"type": "lifespan.startup"})

    async def send(message):
        if message["type"].startswith("lifespan.startup") and not started.done():
            started.set_result(message["type"])

    scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": state}
    asyncio.get_running_loop().create_task(app(scope, incoming.get, send))
    outcome = await started
    if outcome != "lifespan.startup.complete":
        raise SystemExit(f"lifespan start-up failed: {outcome}")
    return state


async def _call(app, state: dict, path: str, key: str) -> tuple[int, bytes]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 40000),
        "scheme": "http",
        "method": "GET",
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1:8000"), (b"authorization", f"Api-Key {key}".encode())],
        "state": state.copy(),
    }
    status, chunks = 0, []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


async def _measure(args) -> dict:
    app = _build_app()
    state = await _lifespan(app)
    base = "/api/v1/organisations/{}/integrations/warehouse-connections/"
    with open(args.keys) as keys_file:
        keys = [line.rstrip("\n").split("\t")[:2] for line in keys_file if line.strip()]
    chooser = random.Random(args.seed)
    sample = chooser.sample(keys, min(args.organisations, len(keys)))
    targets = [(base.format(org), key) for org, key in sample]
    if args.endpoint == "detail":
        # The detail endpoint's ids, from the list endpoint, as bench/run.py's setup pass does.
        detailed = []
        for path, key in targets:
            status, body = await _call(app, state, path, key)
            listing = json.loads(body)
            items = listing if isinstance(listing, list) else next(v for v in listing.values() if isinstance(v, list))
            if status == 200 and items:
                detailed.append((f"{path}{items[0]['id']}/", key))
        targets = detailed
    order = [chooser.randrange(len(targets)) for _ in range(args.warmup + args.requests * args.batches)]

    async def run(indices) -> None:
        for index in indices:
            status, _ = await _call(app, state, *targets[index])
            if status != 200:
                raise SystemExit(f"{targets[index][0]} answered {status}")

    await run(order[: args.warmup])
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
    wall, cpu = [], []
    for batch in range(args.batches):
        start = args.warmup + batch * args.requests
        indices = order[start : start + args.requests]
        if profiler:
            profiler.enable()
        wall_started, cpu_started = time.perf_counter(), time.process_time()
        await run(indices)
        cpu.append((time.process_time() - cpu_started) / len(indices) * 1e6)
        wall.append((time.perf_counter() - wall_started) / len(indices) * 1e6)
        if profiler:
            profiler.disable()
    if profiler:
        profiler.dump_stats(args.profile)
    return {
        "tree": args.tree or "installed",
        "endpoint": args.endpoint,
        "key_cache_seconds": args.key_cache_seconds,
        "requests": args.requests * args.batches,
        "wall_us_min": round(min(wall), 1),
        "wall_us_median": round(sorted(wall)[len(wall) // 2], 1),
        "cpu_us_min": round(min(cpu), 1),
        "cpu_us_median": round(sorted(cpu)[len(cpu) // 2], 1),
        "wall_us": [round(w, 1) for w in wall],
    }


if __name__ == "__main__":
    sys.exit(main())
