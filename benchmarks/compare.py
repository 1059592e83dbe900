#!/usr/bin/env python3
"""Compare pubtool with twine and ``uv publish`` on one local pypiserver, in one run.

    python3 benchmarks/compare.py            # default run (a few minutes on 2 cores)
    python3 benchmarks/compare.py --quick    # smoke run: small files, one repetition
    python3 benchmarks/compare.py --big      # default run plus a 1 GiB file (sent to a sink)

The first run creates ``benchmarks/.work/venv`` (twine, uv, pypiserver, passlib, waitress
and this project, editable) with ``python -m venv`` and that venv's pip, then re-runs
itself inside it. Everything listens on 127.0.0.1 only; every process and thread it
starts is stopped before it exits. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Optional

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / ".work"
VENV = WORK / "venv"
STAMP = VENV / ".bench-installed"
BIN = VENV / "bin"
# Installed into the benchmark venv besides the project itself (-e ROOT).
BENCH_REQUIREMENTS = ["twine", "uv", "pypiserver", "passlib", "waitress"]

CLIENTS = ("pubtool", "twine", "uv")
USERNAME = "bench"
PASSWORD = "bench-password-123"
KIB, MIB, GIB = 1024, 1024 * 1024, 1024 * 1024 * 1024


# ---------------------------------------------------------------------------
# The benchmark's own venv
# ---------------------------------------------------------------------------


def in_bench_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


def ensure_venv(*, reinstall: bool) -> None:
    """Create the venv and install the clients; a stamp newer than pyproject.toml skips the install."""
    python = BIN / "python"
    if not python.exists():
        print(f"creating {VENV} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, timeout=300)
    fresh = STAMP.exists() and STAMP.stat().st_mtime >= (ROOT / "pyproject.toml").stat().st_mtime
    if fresh and not reinstall:
        return
    print("installing twine, uv, pypiserver and pubtool into the benchmark venv ...", flush=True)
    pip = [str(python), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "--upgrade", "pip"], check=True, timeout=900)
    subprocess.run([*pip, "install", *BENCH_REQUIREMENTS, "-e", str(ROOT)], check=True, timeout=900)
    STAMP.touch()


# ---------------------------------------------------------------------------
# Distributions
# ---------------------------------------------------------------------------

WRITE_CHUNK = 4 * MIB


def write_wheel(directory: Path, name: str, version: str, payload_size: int) -> Path:
    """A valid wheel with ``payload_size`` random (incompressible) bytes stored uncompressed.

    The payload is written in chunks straight into the archive, so a 1 GiB wheel needs no
    1 GiB buffer (tests/distfactory.make_wheel holds the payload in memory).
    """
    from tests.distfactory import metadata_text

    stem = name.replace("-", "_")
    path = directory / f"{stem}-{version}-py3-none-any.whl"
    dist_info = f"{stem}-{version}.dist-info"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr(f"{stem}/__init__.py", "VALUE = 1\n")
        if payload_size:
            info = zipfile.ZipInfo(f"{stem}/payload.bin", date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            info.file_size = payload_size
            with archive.open(info, "w", force_zip64=payload_size >= zipfile.ZIP64_LIMIT) as out:
                remaining = payload_size
                while remaining:
                    chunk = os.urandom(min(WRITE_CHUNK, remaining))
                    out.write(chunk)
                    remaining -= len(chunk)
        archive.writestr(f"{dist_info}/METADATA", metadata_text(name, version))
        archive.writestr(f"{dist_info}/WHEEL", "Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        archive.writestr(f"{dist_info}/RECORD", "")
    return path


# ---------------------------------------------------------------------------
# HTTP plumbing: a counting pass-through proxy and a discarding sink
# ---------------------------------------------------------------------------

IO_CHUNK = 256 * KIB
SOCKET_TIMEOUT = 300.0  # a stuck connection ends its thread after this long
MAX_HEAD = 64 * KIB


def read_head(reader) -> Optional[bytes]:
    """Bytes of one HTTP head up to and including the blank line; None at a clean EOF."""
    lines = []
    size = 0
    while True:
        line = reader.readline(MAX_HEAD)
        if not line:
            if lines:
                raise ConnectionError("connection closed inside an HTTP head")
            return None
        if not lines and line in (b"\r\n", b"\n"):
            continue  # tolerate a stray CRLF between messages
        lines.append(line)
        size += len(line)
        if size > MAX_HEAD:
            raise ConnectionError("HTTP head too long")
        if line in (b"\r\n", b"\n"):
            return b"".join(lines)


def parse_head(head: bytes) -> tuple[str, dict[str, str]]:
    """The start line and the headers (lower-case names; the last of repeated ones wins)."""
    lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            key, value = line.split(":", 1)
            headers[key.strip().lower()] = value.strip()
    return lines[0], headers


def relay_body(reader, headers: dict[str, str], write: Callable[[bytes], object], *, until_eof: bool = False) -> int:
    """Copy one message body (Content-Length, chunked or, for responses, up to EOF); return its wire size."""
    total = 0
    if "chunked" in headers.get("transfer-encoding", "").lower():
        while True:
            size_line = reader.readline(MAX_HEAD)
            if not size_line:
                raise ConnectionError("connection closed inside a chunked body")
            write(size_line)
            total += len(size_line)
            size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while True:  # trailers, then the blank line
                    trailer = reader.readline(MAX_HEAD)
                    write(trailer)
                    total += len(trailer)
                    if trailer in (b"\r\n", b"\n", b""):
                        return total
            total += _copy_exact(reader, size + 2, write)
    if "content-length" in headers:
        return _copy_exact(reader, int(headers["content-length"]), write)
    if until_eof:
        while chunk := reader.read1(IO_CHUNK):
            write(chunk)
            total += len(chunk)
    return total


def _copy_exact(reader, count: int, write: Callable[[bytes], object]) -> int:
    remaining = count
    while remaining:
        chunk = reader.read1(min(IO_CHUNK, remaining))
        if not chunk:
            raise ConnectionError("connection closed inside a body")
        write(chunk)
        remaining -= len(chunk)
    return count


@dataclass
class Traffic:
    """What the server side saw during one client run."""

    requests: dict[str, int] = field(default_factory=dict)  # method -> count
    body_bytes: int = 0  # request bodies as sent on the wire (chunk framing included)
    head_bytes: int = 0

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())


class _LoopbackServer:
    """A threaded accept loop on 127.0.0.1 with a stop flag; one thread per connection."""

    name = "server"

    def __init__(self) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self.traffic = Traffic()
        self._thread = threading.Thread(target=self._accept_loop, name=f"{self.name}-accept", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self):
        self._thread.start()
        return self

    def reset(self) -> Traffic:
        with self._lock:
            seen, self.traffic = self.traffic, Traffic()
        return seen

    def count(self, method: str, head_bytes: int, body_bytes: int) -> None:
        with self._lock:
            self.traffic.requests[method] = self.traffic.requests.get(method, 0) + 1
            self.traffic.head_bytes += head_bytes
            self.traffic.body_bytes += body_bytes

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)
        self._listener.close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            _close(conn)

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.settimeout(SOCKET_TIMEOUT)
            with self._lock:
                self._connections.add(conn)
            threading.Thread(target=self._serve, args=(conn,), name=f"{self.name}-conn", daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            self.handle(conn)
        except (OSError, ValueError, ConnectionError):
            pass
        finally:
            with self._lock:
                self._connections.discard(conn)
            _close(conn)

    def handle(self, conn: socket.socket) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


def _wants_close(start_line: str, headers: dict[str, str]) -> bool:
    connection = headers.get("connection", "").lower()
    return "close" in connection or (start_line.endswith("HTTP/1.0") and "keep-alive" not in connection)


class CountingProxy(_LoopbackServer):
    """An HTTP/1.1 pass-through in front of the index: counts requests and request-body bytes."""

    name = "proxy"

    def __init__(self, upstream_port: int) -> None:
        super().__init__()
        self.upstream_port = upstream_port

    def handle(self, conn: socket.socket) -> None:
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=SOCKET_TIMEOUT)
        with self._lock:
            self._connections.add(upstream)
        try:
            client_in = conn.makefile("rb", buffering=IO_CHUNK)
            upstream_in = upstream.makefile("rb", buffering=IO_CHUNK)
            while not self._stop.is_set():
                head = read_head(client_in)
                if head is None:
                    return
                start_line, headers = parse_head(head)
                method = start_line.split(" ", 1)[0]
                if "100-continue" in headers.get("expect", "").lower():
                    # Answer the interim response ourselves and do not pass the header on.
                    head = b"".join(
                        line + b"\r\n" for line in head.split(b"\r\n")[:-1] if not line.lower().startswith(b"expect:")
                    ) + b"\r\n"
                    conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                upstream.sendall(head)
                body = relay_body(client_in, headers, upstream.sendall)
                self.count(method, len(head), body)
                while True:  # skip interim (1xx) answers
                    response_head = read_head(upstream_in)
                    if response_head is None:
                        return
                    conn.sendall(response_head)
                    status_line, response_headers = parse_head(response_head)
                    status = int(status_line.split(" ", 2)[1])
                    if not 100 <= status < 200:
                        break
                if method != "HEAD" and status not in (204, 304):
                    relay_body(upstream_in, response_headers, conn.sendall, until_eof=True)
                if _wants_close(start_line, headers) or _wants_close(status_line, response_headers):
                    return
        finally:
            with self._lock:
                self._connections.discard(upstream)
            _close(upstream)


class SinkServer(_LoopbackServer):
    """Reads and discards every request body; answers 200 to POST/PUT and 404 to anything else."""

    name = "sink"

    def handle(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb", buffering=IO_CHUNK)
        while not self._stop.is_set():
            head = read_head(reader)
            if head is None:
                return
            start_line, headers = parse_head(head)
            method = start_line.split(" ", 1)[0]
            if "100-continue" in headers.get("expect", "").lower():
                conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            body = relay_body(reader, headers, lambda chunk: None)
            self.count(method, len(head), body)
            if method in ("POST", "PUT"):
                answer = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nOK"
            else:
                answer = b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\nnot found"
            conn.sendall(answer)
            if _wants_close(start_line, headers):
                return


# ---------------------------------------------------------------------------
# Running one client and measuring it
# ---------------------------------------------------------------------------


@dataclass
class Run:
    client: str
    repetition: int
    wall: float
    maxrss_kib: int
    cpu: float  # user + system seconds of the client (and anything it waited for)
    exit_code: int
    timed_out: bool
    requests: dict[str, int]
    body_bytes: int
    state_ok: bool  # the index holds exactly the expected files afterwards
    log: str
    refused: bool = False  # twine: "does not have support for ... --skip-existing"


_running: list[subprocess.Popen] = []


def run_measured(command: list[str], *, env: dict[str, str], log_path: Path, timeout: float) -> tuple[float, int, float, int, bool]:
    """Run ``command``; return wall seconds, peak RSS (KiB), CPU seconds, exit code, timed out.

    The child is reaped with os.wait4 on its own pid, so ru_maxrss is this child's peak.
    """
    result: dict[str, object] = {}

    with open(log_path, "wb") as log:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env)
    _running.append(process)

    def reap() -> None:
        pid, status, usage = os.wait4(process.pid, 0)
        result["ended"] = time.perf_counter()
        result["status"] = status
        result["usage"] = usage

    reaper = threading.Thread(target=reap, name="reaper", daemon=True)
    reaper.start()
    reaper.join(timeout)
    timed_out = reaper.is_alive()
    if timed_out:
        process.kill()
        reaper.join(30)
    _running.remove(process)
    if "status" not in result:
        raise RuntimeError(f"could not reap {command[0]} (pid {process.pid})")
    process.returncode = os.waitstatus_to_exitcode(result["status"])  # Popen must not wait again
    usage = result["usage"]
    wall = float(result["ended"]) - started
    return wall, int(usage.ru_maxrss), usage.ru_utime + usage.ru_stime, process.returncode, timed_out


def stop_running_children() -> None:
    for process in list(_running):
        if process.poll() is None:
            process.kill()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                pass
        _running.remove(process)


def client_command(client: str, publish_url: str, files: list[Path], *, check_url: Optional[str]) -> list[str]:
    paths = [str(path) for path in files]
    if client == "pubtool":
        command = [str(BIN / "pubtool"), "upload", "--publish-url", publish_url, "-u", USERNAME, "-p", PASSWORD]
        if check_url:
            command += ["--check-url", check_url]
        return command + ["-q", *paths]
    if client == "twine":
        command = [str(BIN / "twine"), "upload", "--repository-url", publish_url, "-u", USERNAME, "-p", PASSWORD,
                   "--disable-progress-bar", "--non-interactive"]
        if check_url:
            command.append("--skip-existing")
        return command + paths
    if client == "uv":
        command = [str(BIN / "uv"), "publish", "--publish-url", publish_url, "--username", USERNAME,
                   "--password", PASSWORD]
        if check_url:
            command += ["--check-url", check_url]
        return command + paths
    raise ValueError(client)


def client_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PUBTOOL_", "TWINE_", "UV_", "GITHUB_", "ACTIONS_"))
           and key.lower() not in ("http_proxy", "https_proxy", "all_proxy", "netrc")}
    env.update({
        "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
        "NO_COLOR": "1", "TERM": "dumb", "CI": "1",
        "HOME": str(WORK / "home"),  # no ~/.netrc, ~/.pypirc or keyring config of the user
        "UV_CACHE_DIR": str(WORK / "uv-cache"),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    })
    return env


# ---------------------------------------------------------------------------
# Scenarios
# ---------------------------------------------------------------------------


@dataclass
class Scenario:
    key: str
    title: str
    files: list[Path]
    retry: bool = False  # the files are on the index already; clients run in their skip mode
    sink: bool = False  # send to the discarding sink instead of pypiserver
    results: list[Run] = field(default_factory=list)
    expected: dict[str, int] = field(default_factory=dict)  # filename -> size

    def __post_init__(self) -> None:
        self.expected = {path.name: path.stat().st_size for path in self.files}

    @property
    def total_bytes(self) -> int:
        return sum(self.expected.values())


@dataclass
class Sizes:
    small_count: int
    small_size: int
    medium_count: int
    medium_size: int
    large_size: int
    probe_size: int  # the small file of the memory scenario
    huge_size: int  # --big: to the sink


def sizes_for(args) -> Sizes:
    if args.quick:
        sizes = Sizes(10, 20 * KIB, 2, 5 * MIB, 32 * MIB, 1 * MIB, GIB)
    else:
        sizes = Sizes(50, 20 * KIB, 5, 20 * MIB, 256 * MIB, 1 * MIB, GIB)
    if args.large_mib:
        sizes.large_size = args.large_mib * MIB
    return sizes


def human_size(size: float) -> str:
    for unit, factor in (("GiB", GIB), ("MiB", MIB), ("KiB", KIB)):
        if size >= factor:
            value = size / factor
            return f"{value:.0f} {unit}" if value == int(value) or value >= 100 else f"{value:.1f} {unit}"
    return f"{size:.0f} B"


def build_scenarios(args, sizes: Sizes, data: Path) -> list[Scenario]:
    """Write every distribution the run needs; payloads are random, hence incompressible."""

    def directory(name: str) -> Path:
        path = data / name
        path.mkdir(parents=True)
        return path

    overhead = 1 * KIB  # __init__.py, METADATA, WHEEL, RECORD and zip headers, roughly
    small_dir = directory("small")
    small = [write_wheel(small_dir, "bench-small", f"1.0.{i}", max(sizes.small_size - overhead, 0))
             for i in range(sizes.small_count)]
    medium_dir = directory("medium")
    medium = [write_wheel(medium_dir, "bench-medium", f"1.0.{i}", sizes.medium_size - overhead)
              for i in range(sizes.medium_count)]
    probe = [write_wheel(directory("probe"), "bench-probe", "1.0", sizes.probe_size - overhead)]
    large = [write_wheel(directory("large"), "bench-large", "1.0", sizes.large_size - overhead)]
    scenarios = [
        Scenario("fresh-small", f"fresh: {len(small)} x {human_size(sizes.small_size)}", small),
        Scenario("fresh-medium", f"fresh: {len(medium)} x {human_size(sizes.medium_size)}", medium),
        Scenario("retry-small", f"retry: {len(small)} x {human_size(sizes.small_size)}, all present, skip mode",
                 small, retry=True),
        Scenario("memory-probe", f"memory: 1 x {human_size(sizes.probe_size)}", probe),
        Scenario("memory-large", f"memory: 1 x {human_size(sizes.large_size)}", large),
    ]
    if args.big:
        huge = [write_wheel(directory("huge"), "bench-huge", "1.0", sizes.huge_size - overhead)]
        scenarios.append(Scenario("memory-huge", f"memory: 1 x {human_size(sizes.huge_size)} (to a sink)", huge, sink=True))
    wanted = set(args.scenarios.split(",")) if args.scenarios else None
    return [s for s in scenarios if wanted is None or s.key in wanted]


class Bench:
    def __init__(self, args, server, proxy: Optional[CountingProxy], sink: Optional[SinkServer], logs: Path) -> None:
        self.args = args
        self.server = server
        self.proxy = proxy
        self.sink = sink
        self.logs = logs
        self.env = client_env()
        self.deadline = time.monotonic() + args.max_minutes * 60

    def index_state(self) -> dict[str, int]:
        return {path.name: path.stat().st_size for path in self.server.packages.iterdir()}

    def prepare(self, scenario: Scenario) -> None:
        """Empty index for a fresh run; exactly the scenario's files for a retry run."""
        self.server.clear()
        if scenario.retry:
            for path in scenario.files:
                shutil.copyfile(path, self.server.packages / path.name)
        os.sync()  # flush the previous run's writes outside the measured time

    def run_scenario(self, scenario: Scenario) -> None:
        expected = scenario.expected
        for repetition in range(1, self.args.reps + 1):
            for client in CLIENTS:
                if time.monotonic() > self.deadline:
                    print(f"  --max-minutes reached: skipping the rest of {scenario.key}", flush=True)
                    return
                if scenario.sink:
                    assert self.sink is not None
                    publish_url, counter = self.sink.url, self.sink
                    check_url = None
                else:
                    self.prepare(scenario)
                    front = self.proxy.url if self.proxy else self.server.url
                    publish_url, counter = front, self.proxy
                    check_url = front + "simple/" if scenario.retry else None
                command = client_command(client, publish_url, scenario.files, check_url=check_url)
                log_path = self.logs / f"{scenario.key}-{client}-{repetition}.log"
                if counter is not None:
                    counter.reset()
                wall, rss, cpu, code, timed_out = run_measured(command, env=self.env, log_path=log_path,
                                                               timeout=self.args.timeout)
                traffic = counter.reset() if counter is not None else Traffic()
                state_ok = scenario.sink or self.index_state() == expected
                run = Run(client, repetition, wall, rss, cpu, code, timed_out, dict(traffic.requests),
                          traffic.body_bytes, state_ok, str(log_path.relative_to(HERE)))
                if code != 0:
                    said = " ".join(log_path.read_text(errors="replace").split()).lower()
                    run.refused = "unsupported configuration" in said and "--skip-existing" in said
                scenario.results.append(run)
                flag = "" if code == 0 and state_ok else f"  [exit {code}{', index state differs' if not state_ok else ''}]"
                requests = f"{traffic.total_requests} req" if counter is not None else ""
                print(f"  {scenario.key:<13} #{repetition} {client:<8} {wall:7.2f} s  "
                      f"{rss / 1024:7.1f} MiB  {requests}{flag}", flush=True)


# ---------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summarize(scenario: Scenario, client: str) -> Optional[dict]:
    runs = [run for run in scenario.results if run.client == client]
    if not runs:
        return None
    walls = [run.wall for run in runs]
    rss = [run.maxrss_kib / 1024 for run in runs]
    codes = sorted({run.exit_code for run in runs})
    ok = all(run.exit_code == 0 and run.state_ok and not run.timed_out for run in runs)
    methods: dict[str, list[int]] = {}
    for run in runs:
        for method, count in run.requests.items():
            methods.setdefault(method, []).append(count)
    return {
        "runs": len(runs),
        "wall_median": median(walls), "wall_min": min(walls), "wall_max": max(walls),
        "rss_median": median(rss), "rss_max": max(rss),
        "cpu_median": median([run.cpu for run in runs]),
        "exit_codes": codes, "ok": ok,
        "state_ok": all(run.state_ok for run in runs),
        "refused": any(run.refused for run in runs),
        "requests": {method: int(median(counts)) for method, counts in sorted(methods.items())},
        "body_mib": median([run.body_bytes / MIB for run in runs]),
    }


def status_text(scenario: Scenario, client: str, summary: dict) -> str:
    if summary["ok"]:
        return "ok"
    codes = ",".join(str(code) for code in summary["exit_codes"])
    if summary["refused"]:
        return f"refused (exit {codes})"
    parts = [f"exit {codes}"] if summary["exit_codes"] != [0] else []
    if not summary["state_ok"]:
        parts.append("index state differs")
    return ", ".join(parts) or "timed out"


def ratio(numerator: float, denominator: float) -> str:
    if not denominator or denominator != denominator or numerator != numerator:
        return "n/a"
    return f"{numerator / denominator:.2f}x"


def results_table(scenarios: list[Scenario], *, counted: bool) -> list[str]:
    header = "| scenario | client | status | wall s median (min-max) | peak RSS MiB median (max) | CPU s |"
    rule = "|---|---|---|---|---|---|"
    if counted:
        header += " requests | request bodies MiB |"
        rule += "---|---|"
    lines = [header, rule]
    for scenario in scenarios:
        for client in CLIENTS:
            summary = summarize(scenario, client)
            if summary is None:
                continue
            row = (f"| {scenario.title} | {client} | {status_text(scenario, client, summary)} | "
                   f"{summary['wall_median']:.2f} ({summary['wall_min']:.2f}-{summary['wall_max']:.2f}) | "
                   f"{summary['rss_median']:.1f} ({summary['rss_max']:.1f}) | {summary['cpu_median']:.2f} |")
            if counted:
                requests = " + ".join(f"{count} {method}" for method, count in summary["requests"].items()) or "0"
                row += f" {requests} | {summary['body_mib']:.1f} |"
            lines.append(row)
    return lines


def ratio_table(scenarios: list[Scenario]) -> list[str]:
    lines = [
        "| scenario | time pubtool/twine | time pubtool/uv | CPU pubtool/twine | CPU pubtool/uv "
        "| peak RSS pubtool/twine | peak RSS pubtool/uv |",
        "|---|---|---|---|---|---|---|",
    ]
    for scenario in scenarios:
        summaries = {client: summarize(scenario, client) for client in CLIENTS}
        mine = summaries["pubtool"]
        if mine is None:
            continue
        cells = []
        for key in ("wall_median", "cpu_median", "rss_median"):
            for other in ("twine", "uv"):
                theirs = summaries[other]
                if theirs is None:
                    cells.append("n/a")
                elif not theirs["ok"]:
                    cells.append(f"n/a ({other} {status_text(scenario, other, theirs)})")
                elif not mine["ok"]:
                    cells.append(f"n/a (pubtool {status_text(scenario, 'pubtool', mine)})")
                else:
                    cells.append(ratio(mine[key], theirs[key]))
        lines.append(f"| {scenario.title} | " + " | ".join(cells) + " |")
    return lines


def memory_summary(scenarios: list[Scenario]) -> list[str]:
    lines = []
    for scenario in scenarios:
        if not scenario.key.startswith("memory"):
            continue
        parts = []
        for client in CLIENTS:
            summary = summarize(scenario, client)
            if summary is not None:
                parts.append(f"{client} {summary['rss_max']:.1f} MiB")
        lines.append(f"- {scenario.title}: peak RSS (max over repetitions) " + ", ".join(parts))
    return lines


def command_version(command: list[str]) -> str:
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=60, env=client_env())
        first = (out.stdout or out.stderr).strip().splitlines()[0]
        return first.split(" (", 1)[0] if first.startswith("twine") else first  # twine lists its deps too
    except (OSError, subprocess.SubprocessError, IndexError):
        return "unknown"


def machine_description() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    cpu = "unknown"
    memory = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = human_size(int(line.split()[1]) * KIB)
                break
    except OSError:
        pass

    def package(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    return {
        "nproc": str(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()),
        "cpu": cpu,
        "memory": memory,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "pubtool": command_version([str(BIN / "pubtool"), "--version"]),
        "twine": command_version([str(BIN / "twine"), "--version"]),
        "uv": command_version([str(BIN / "uv"), "--version"]),
        "server": f"pypiserver {package('pypiserver')} on waitress {package('waitress')}",
        "pubtool deps": f"requests {package('requests')}, requests-toolbelt {package('requests-toolbelt')}, "
                        f"urllib3 {package('urllib3')}",
    }


def render_report(args, mode: str, scenarios: list[Scenario], machine: dict[str, str], started: float,
                  counted: bool) -> str:
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(started))
    lines = [
        f"## `{mode}` run, {when}",
        "",
        f"Command: `python3 benchmarks/compare.py{' ' + ' '.join(args.argv) if args.argv else ''}` — "
        f"{args.reps} repetition(s) per client, interleaved pubtool, twine, uv; "
        f"total {time.time() - started:.0f} s.",
        "",
        "| machine | |",
        "|---|---|",
        *[f"| {key} | {value} |" for key, value in machine.items()],
        "",
        "### Ratios (medians of wall time, client CPU time and peak RSS; below 1 means pubtool is faster / smaller)",
        "",
        *ratio_table(scenarios),
        "",
        "### Memory",
        "",
        *memory_summary(scenarios),
        "",
        "### All measurements",
        "",
        *results_table(scenarios, counted=counted),
        "",
    ]
    notes = [
        "Wall time includes interpreter start-up, validation and hashing: what a user waits for.",
        "Peak RSS is `ru_maxrss` of the client process from `os.wait4` on its pid; CPU is its user + system time. "
        "Against pypiserver the wall time is mostly the server's (bottle parses every multipart body): "
        "the CPU column is the steadier measure of each client's own work.",
    ]
    if counted:
        notes.append("Requests and request-body bytes are counted by a pass-through proxy on another loopback "
                     "port in front of pypiserver (the sink counts its own); every client goes through it.")
    if any(s.retry for s in scenarios):
        notes.append("Retry: pubtool and uv run with `--check-url <simple>`, twine with `--skip-existing`; "
                     "a twine 'refused' is its own refusal of `--skip-existing` for a non-PyPI index.")
    if any(s.sink for s in scenarios):
        notes.append("The sink reads and discards the body and answers 200: only client memory and time matter "
                     "there (waitress caps request bodies at 1 GiB).")
    lines += ["Notes:", "", *[f"- {note}" for note in notes], ""]
    return "\n".join(lines)


def write_results(path: Path, mode: str, block: str) -> None:
    """Replace this mode's block in the results file and keep the other modes' blocks."""
    begin, end = f"<!-- begin {mode} -->", f"<!-- end {mode} -->"
    title = "# Benchmark results: pubtool vs twine vs uv publish\n\nWritten by `benchmarks/compare.py`; each run replaces its own section.\n"
    text = path.read_text() if path.exists() else title
    new_block = f"{begin}\n{block}\n{end}"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        text = head + new_block + tail
    else:
        text = text.rstrip("\n") + "\n\n" + new_block + "\n"
    path.write_text(text)


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------


def parse_args(argv: list[str]):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small files and one repetition (a smoke run)")
    size.add_argument("--big", action="store_true", help="also upload a 1 GiB file (to a discarding sink)")
    parser.add_argument("--reps", type=int, default=None, help="repetitions per client (default 3; 1 with --quick)")
    parser.add_argument("--large-mib", type=int, default=None, help="size of the large file of the memory scenario")
    parser.add_argument("--scenarios", default="",
                        help="comma-separated subset: fresh-small,fresh-medium,retry-small,memory-probe,"
                             "memory-large,memory-huge")
    parser.add_argument("--direct", action="store_true",
                        help="no counting proxy: clients talk to pypiserver directly (no request counts)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds one client run may take")
    parser.add_argument("--max-minutes", type=float, default=45, help="stop starting new runs after this long")
    parser.add_argument("--results", type=Path, default=None,
                        help="Markdown file to write (default benchmarks/RESULTS.md; .work/RESULTS-quick.md for --quick)")
    parser.add_argument("--reinstall", action="store_true", help="re-run pip install in the benchmark venv")
    args = parser.parse_args(argv)
    args.argv = argv
    if args.reps is None:
        args.reps = 1 if args.quick else 3
    if not 1 <= args.reps <= 20:
        parser.error("--reps must be between 1 and 20")
    if args.results is None:
        args.results = WORK / "RESULTS-quick.md" if args.quick else HERE / "RESULTS.md"
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if not in_bench_venv():
        WORK.mkdir(exist_ok=True)
        ensure_venv(reinstall=args.reinstall)
        python = str(BIN / "python")
        os.execv(python, [python, str(Path(__file__).resolve()), *argv])

    sys.path.insert(0, str(ROOT))
    from tests.servers.pypiserver import PypiServer

    mode = "quick" if args.quick else "big" if args.big else "default"
    started = time.time()
    sizes = sizes_for(args)
    (WORK / "home").mkdir(parents=True, exist_ok=True)
    run_dir = WORK / "run"
    shutil.rmtree(run_dir, ignore_errors=True)
    logs = run_dir / "logs"
    logs.mkdir(parents=True)

    server = proxy = sink = None
    scenarios: list[Scenario] = []
    try:
        print("writing distributions ...", flush=True)
        scenarios = build_scenarios(args, sizes, run_dir / "dists")
        server = PypiServer(password=PASSWORD, username=USERNAME, authenticate="update").start()
        if not args.direct:
            proxy = CountingProxy(server.port).start()
        if any(s.sink for s in scenarios):
            sink = SinkServer().start()
        print(f"pypiserver on {server.url}" + (f", counting proxy on {proxy.url}" if proxy else "")
              + (f", sink on {sink.url}" if sink else ""), flush=True)
        bench = Bench(args, server, proxy, sink, logs)
        for scenario in scenarios:
            print(f"{scenario.title} ({human_size(scenario.total_bytes)} in {len(scenario.files)} file(s))", flush=True)
            bench.run_scenario(scenario)
    except KeyboardInterrupt:
        print("interrupted: reporting what was measured", flush=True)
    finally:
        stop_running_children()
        for thing in (sink, proxy, server):
            if thing is not None:
                thing.stop()
        shutil.rmtree(run_dir / "dists", ignore_errors=True)

    scenarios = [s for s in scenarios if s.results]
    if not scenarios:
        print("nothing was measured", file=sys.stderr)
        return 1
    machine = machine_description()
    counted = proxy is not None
    print()
    print("\n".join(ratio_table(scenarios)))
    print()
    print("\n".join(results_table(scenarios, counted=counted)))
    print()
    print("\n".join(memory_summary(scenarios)))
    block = render_report(args, mode, scenarios, machine, started, counted)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    write_results(args.results, mode, block)
    raw = {"mode": mode, "machine": machine, "scenarios": [
        {"key": s.key, "title": s.title, "files": len(s.files), "bytes": s.total_bytes,
         "runs": [asdict(run) for run in s.results]} for s in scenarios]}
    (WORK / f"results-{mode}.json").write_text(json.dumps(raw, indent=2))
    print(f"\nwrote {args.results} and {WORK / f'results-{mode}.json'}; client logs in {logs}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
