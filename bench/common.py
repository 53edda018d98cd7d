"""What every bench module shares: paths, the two CPUs, the options, BenchError, tools, pinning and log."""

import contextlib
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
DOCS_DIR = ROOT / "docs"
PLOTS_DIR = DOCS_DIR / "performance"
SERVER_CPU, CLIENT_CPU = 0, 1


class BenchError(Exception):
    """A problem the user can fix, or a failed check; printed without a traceback, exit status 1."""


@dataclass(frozen=True)
class Options:
    kind: str  # bench, scale, smoke or tests
    databases: tuple[str, ...]
    organisations: int
    scale_counts: tuple[int, ...]
    endpoints: tuple[str, ...]
    configs: tuple[str, ...]
    rounds: int
    startups: int
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
    hanging_tests: int = 20  # --tests-hanging: tests sent at once, each on a connection of its own organisation
    healthy_tests: int = 20  # --tests-hanging: tests against the Snowflake emulator, one after another


def bin_path() -> str:
    # The venv's scripts first (warehouse-connections, gunicorn, py-spy), then PATH.
    return os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])


def tool(name: str, hint: str) -> str:
    found = shutil.which(name, path=bin_path())
    if found is None:
        raise BenchError(f"{name} not found. {hint}")
    return found


def pinned(cpu: int) -> list[str]:
    return ["taskset", "-c", str(cpu)] if PINNING else []


@contextlib.contextmanager
def this_thread_on(cpu: int):
    """The calling thread, and the threads it starts meanwhile, on `cpu`: a client in Python beside wrk's CPU."""
    before = os.sched_getaffinity(0)
    if PINNING:
        os.sched_setaffinity(0, {cpu})  # 0: the calling thread; threads started from it inherit the mask
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def _can_pin() -> bool:
    return shutil.which("taskset") is not None and {SERVER_CPU, CLIENT_CPU} <= os.sched_getaffinity(0)


PINNING = _can_pin()


def log(message: str) -> None:
    print(message, flush=True)


def relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)
