"""The servers under test: their configurations and commands, starting and stopping them, and HTTP to them."""

import contextlib
import os
import signal
import socket
import statistics
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from common import BENCH_DIR, SERVER_CPU, BenchError, Options, log, pinned, tool

LIST_PATH = "/api/v1/organisations/{org}/integrations/warehouse-connections/"
DETAIL_PATH = LIST_PATH + "{connection}/"


@dataclass(frozen=True)
class Config:
    name: str
    label: str
    reference: bool
    env: tuple[tuple[str, str], ...] = ()  # settings of this configuration's own


CONTROL = "service-control"
CONFIGS = {
    "service": Config("service", "service (serve --workers 1)", False),
    # What the fast path (warehouse_connections/web/fast_path.py) buys: the same service on connexion's stock path.
    "service-stock": Config("service-stock", "service, WC_FAST_PATH=off", False, (("WC_FAST_PATH", "off"),)),
    # Every key looked up in the database: how the database path alone scales with the organisation count.
    "service-no-key-cache": Config(
        "service-no-key-cache", "service, WC_API_KEY_CACHE_SECONDS=0", False, (("WC_API_KEY_CACHE_SECONDS", "0"),)
    ),
    # --scale adds it: the service over a database that stays at the smallest count, measured in the same rounds
    # as the others at every count, so that the machine's drift between counts shows up as drift.
    CONTROL: Config(CONTROL, "service over a fixed database of the smallest count (the control)", False),
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
    startup_s: float | None = None  # the median of startup_samples
    startup_samples: list[float] = field(default_factory=list)
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
                return time.perf_counter() - started
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_servers(
    options: Options, env: dict[str, str], workdir: Path, probe: tuple[int, str], configs: tuple[str, ...] = ()
) -> dict[str, Server]:
    """The servers of `configs` (default: options.configs) over the database of `env`, probed with `probe`."""
    servers = {}
    for name in configs or options.configs:
        config, port = CONFIGS[name], free_port()
        command = server_command(config, port, options)
        servers[name] = Server(config, command, {**env, **dict(config.env)}, port, workdir / f"{name}.log")
    try:
        # One start at a time, so that each has the server CPU to itself. One start is at the mercy of whatever
        # else the machine does in that second, and the machine's speed drifts over minutes: the servers take
        # turns, round after round, and each one's start-up is the median of its rounds. The last round's stay up.
        for round_ in range(options.startups):
            for server in servers.values():
                server.startup_samples.append(server.start(probe))
                if round_ < options.startups - 1:
                    server.stop()
        for name, server in servers.items():
            server.startup_s = statistics.median(server.startup_samples)
            samples = ", ".join(f"{s:.2f}" for s in server.startup_samples)
            log(f"  {name} on port {server.port}: first 200 after {server.startup_s:.2f} s (median of {samples})")
    except BaseException:
        stop_all(servers)
        raise
    return servers


def stop_all(servers: dict[str, Server]) -> None:
    for server in servers.values():
        server.stop()
