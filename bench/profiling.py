"""The py-spy profile of the service under load, and the summary of its collapsed stacks."""

import contextlib
import gzip
import re
import subprocess
import sys
import time
from pathlib import Path

from common import CLIENT_CPU, BenchError, Options, pinned, relative, tool
from load import run_wrk
from servers import Server


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
        "file": relative(packed),
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
