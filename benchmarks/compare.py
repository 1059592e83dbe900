#!/usr/bin/env python3
"""Compare pubtool with twine and ``uv publish`` on one local pypiserver, in one run.

    python3 benchmarks/compare.py            # default run (a few minutes on 2 cores)
    python3 benchmarks/compare.py --quick    # smoke run: small files, one repetition
    python3 benchmarks/compare.py --big      # default run plus a 1 GiB file (sent to a sink)

Scenarios (issue 7): start-up (``--version``), fresh / retry (all present) / mixed (half
present) uploads of small and 20 MiB wheels, with ``pubtool --jobs 4`` as an extra variant,
and peak RSS from 1 MiB to 256 MiB (1 GiB with --big). The report ends in a table of the
issue's targets: the measured ratio, met or not met, and the numbers that explain a miss.

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
import signal
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
            _no_delay(conn)
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


def _no_delay(sock: socket.socket) -> None:
    """The relay writes a head and a body separately: without TCP_NODELAY, Nagle's algorithm and
    the peer's delayed ACK hold back each request or response by about 40 ms."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


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
        _no_delay(upstream)
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
    server_cpu: Optional[float] = None  # pypiserver's user + system seconds during the run


_running: list[subprocess.Popen] = []

# Runs one client and reports its own wall time, exit code, peak RSS and CPU. Why a launcher: a
# child spawned straight from this (large) process is created with vfork, and Linux folds the
# memory the child had before exec into its ru_maxrss, so every client would show at least this
# process's RSS (about 35 MiB). A fork from this small interpreter leaves a floor of about 5 MiB.
LAUNCHER = r"""
import os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
command = sys.argv[2:]
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.execv(command[0], command)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
ended = time.perf_counter()
sys.stdout.write("%r %d %d %r\n" % (ended - started, os.waitstatus_to_exitcode(status), usage.ru_maxrss,
                                      usage.ru_utime + usage.ru_stime))
"""


def run_measured(command: list[str], *, env: dict[str, str], log_path: Path, timeout: float) -> tuple[float, int, float, int, bool]:
    """Run ``command``; return wall seconds, peak RSS (KiB), CPU seconds, exit code, timed out.

    A small launcher forks and execs the client, reaps it with os.wait4 and reports that
    child's own numbers (RSS and CPU of the client and anything it waited for).
    """
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-I", "-S", "-c", LAUNCHER, str(log_path), *command],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=env, start_new_session=True)
    _running.append(process)
    timed_out = False
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_group(process)
        out, err = process.communicate(timeout=30)
    _running.remove(process)  # on any other exception stop_running_children() ends it
    fields = out.decode(errors="replace").split()
    if timed_out or len(fields) != 4:
        if not timed_out:
            with open(log_path, "ab") as log:
                log.write(b"\n[benchmark launcher] " + err)
        return time.perf_counter() - started, 0, 0.0, process.returncode or -1, timed_out
    return float(fields[0]), int(fields[2]), float(fields[3]), int(fields[1]), False


def _kill_group(process: subprocess.Popen) -> None:
    """The launcher leads its own session: kill it and the client it started."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()


def stop_running_children() -> None:
    for process in list(_running):
        if process.poll() is None:
            _kill_group(process)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                pass
        _running.remove(process)


@dataclass(frozen=True)
class Client:
    """One way of running a tool: ``label`` names it in the tables (``pubtool --jobs 4``)."""

    label: str
    tool: str  # pubtool, twine, uv or python (the bare-interpreter baseline of the start-up scenario)
    jobs: int = 1

    @property
    def is_pubtool(self) -> bool:
        return self.tool == "pubtool"


PUBTOOL, TWINE, UV = Client("pubtool", "pubtool"), Client("twine", "twine"), Client("uv", "uv")
PYTHON_BASELINE = Client("python -c pass", "python")
CLIENTS = (PUBTOOL, TWINE, UV)


def pubtool_jobs(jobs: int) -> Client:
    return Client(f"pubtool --jobs {jobs}", "pubtool", jobs)


def client_command(client: Client, publish_url: str, files: list[Path], *, check_url: Optional[str]) -> list[str]:
    paths = [str(path) for path in files]
    if client.tool == "pubtool":
        command = [str(BIN / "pubtool"), "upload", "--publish-url", publish_url, "-u", USERNAME, "-p", PASSWORD]
        if check_url:
            command += ["--check-url", check_url]
        if client.jobs != 1:
            command += ["--jobs", str(client.jobs)]
        return command + ["-q", *paths]
    if client.tool == "twine":
        command = [str(BIN / "twine"), "upload", "--repository-url", publish_url, "-u", USERNAME, "-p", PASSWORD,
                   "--disable-progress-bar", "--non-interactive"]
        if check_url:
            command.append("--skip-existing")
        return command + paths
    if client.tool == "uv":
        command = [str(BIN / "uv"), "publish", "--publish-url", publish_url, "--username", USERNAME,
                   "--password", PASSWORD]
        if check_url:
            command += ["--check-url", check_url]
        return command + paths
    raise ValueError(client)


def version_command(client: Client) -> list[str]:
    """The start-up scenario: print the version and exit (no network, no files)."""
    if client.tool == "python":
        return [str(BIN / "python"), "-c", "pass"]
    return [str(BIN / client.tool), "--version"]


def client_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PUBTOOL_", "TWINE_", "UV_", "GITHUB_", "ACTIONS_"))
           and key.lower() not in ("http_proxy", "https_proxy", "all_proxy", "netrc")
           # with this set, a Python client whose .pyc files are stale recompiles them on every run
           and key != "PYTHONDONTWRITEBYTECODE"}
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
    present: list[Path] = field(default_factory=list)  # on the index before every run; clients use skip mode
    sink: bool = False  # send to the discarding sink instead of pypiserver
    startup: bool = False  # no upload: each client prints its version (``files`` is empty)
    clients: tuple[Client, ...] = CLIENTS
    reps: Optional[int] = None  # overrides --reps
    results: list[Run] = field(default_factory=list)
    expected: dict[str, int] = field(default_factory=dict)  # filename -> size

    def __post_init__(self) -> None:
        self.expected = {path.name: path.stat().st_size for path in self.files}

    @property
    def skip_mode(self) -> bool:
        """Some files are already there: pubtool and uv get --check-url, twine --skip-existing."""
        return bool(self.present)

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


SCENARIO_KEYS = ("startup", "fresh-small", "fresh-medium", "retry-small", "retry-medium", "mixed-small",
                 "memory-probe", "memory-large", "memory-huge")


def build_scenarios(args, sizes: Sizes, data: Path) -> list[Scenario]:
    """Write every distribution the run needs; payloads are random, hence incompressible."""
    wanted = set(args.scenarios.split(",")) if args.scenarios else set(SCENARIO_KEYS)

    def directory(name: str) -> Path:
        path = data / name
        path.mkdir(parents=True)
        return path

    overhead = 1 * KIB  # __init__.py, METADATA, WHEEL, RECORD and zip headers, roughly
    with_jobs = CLIENTS if not args.jobs_variant else (PUBTOOL, pubtool_jobs(args.jobs_variant), TWINE, UV)
    scenarios = [Scenario("startup", "start-up: `--version`", [], startup=True,
                          clients=(*CLIENTS, PYTHON_BASELINE), reps=args.startup_reps)]
    if wanted & {"fresh-small", "retry-small", "mixed-small"}:
        small_dir = directory("small")
        small = [write_wheel(small_dir, "bench-small", f"1.0.{i}", max(sizes.small_size - overhead, 0))
                 for i in range(sizes.small_count)]
        label = f"{len(small)} x {human_size(sizes.small_size)}"
        half = small[: len(small) // 2]  # a retry after a run that stopped half-way
        scenarios += [
            Scenario("fresh-small", f"fresh: {label}", small, clients=with_jobs),
            Scenario("retry-small", f"retry: {label}, all present, skip mode", small, present=small),
            Scenario("mixed-small", f"mixed: {label}, {len(half)} present, skip mode", small, present=half,
                     clients=with_jobs),
        ]
    if wanted & {"fresh-medium", "retry-medium"}:
        medium_dir = directory("medium")
        medium = [write_wheel(medium_dir, "bench-medium", f"1.0.{i}", sizes.medium_size - overhead)
                  for i in range(sizes.medium_count)]
        label = f"{len(medium)} x {human_size(sizes.medium_size)}"
        scenarios += [
            Scenario("fresh-medium", f"fresh: {label}", medium, clients=with_jobs),
            Scenario("retry-medium", f"retry: {label}, all present, skip mode", medium, present=medium),
        ]
    if "memory-probe" in wanted:
        probe = [write_wheel(directory("probe"), "bench-probe", "1.0", sizes.probe_size - overhead)]
        scenarios.append(Scenario("memory-probe", f"memory: 1 x {human_size(sizes.probe_size)}", probe))
    if "memory-large" in wanted:
        large = [write_wheel(directory("large"), "bench-large", "1.0", sizes.large_size - overhead)]
        scenarios.append(Scenario("memory-large", f"memory: 1 x {human_size(sizes.large_size)}", large))
    if args.big and "memory-huge" in wanted:
        huge = [write_wheel(directory("huge"), "bench-huge", "1.0", sizes.huge_size - overhead)]
        scenarios.append(Scenario("memory-huge", f"memory: 1 x {human_size(sizes.huge_size)} (to a sink)", huge,
                                  sink=True))
    order = {key: i for i, key in enumerate(SCENARIO_KEYS)}
    return sorted((s for s in scenarios if s.key in wanted), key=lambda s: order[s.key])


def process_cpu(pid: int) -> Optional[float]:
    """User + system seconds of a running process, from /proc (None where that is unavailable)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


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
        """Empty index for a fresh run; exactly the scenario's ``present`` files for a skip-mode run."""
        self.server.clear()
        for path in scenario.present:
            shutil.copyfile(path, self.server.packages / path.name)
        os.sync()  # flush the previous run's writes outside the measured time

    def server_cpu(self) -> Optional[float]:
        process = getattr(self.server, "process", None)
        return process_cpu(process.pid) if process is not None else None

    def warm_up(self, clients: tuple[Client, ...]) -> None:
        """One unmeasured ``--version`` per tool, so no measured run pays for a cold page cache,
        and pubtool's own .pyc files written (it is installed editable from the work tree)."""
        subprocess.run([str(BIN / "python"), "-m", "compileall", "-q", str(ROOT / "publisher")],
                       env=self.env, check=False, timeout=120)
        for client in clients:
            run_measured(version_command(client), env=self.env, log_path=self.logs / f"warm-up-{client.tool}.log",
                         timeout=self.args.timeout)

    def run_scenario(self, scenario: Scenario) -> None:
        expected = scenario.expected
        for repetition in range(1, (scenario.reps or self.args.reps) + 1):
            for client in scenario.clients:
                if time.monotonic() > self.deadline:
                    print(f"  --max-minutes reached: skipping the rest of {scenario.key}", flush=True)
                    return
                counter: Optional[_LoopbackServer] = None
                if scenario.startup:
                    command = version_command(client)
                else:
                    if scenario.sink:
                        assert self.sink is not None
                        publish_url, counter = self.sink.url, self.sink
                        check_url = None
                    else:
                        self.prepare(scenario)
                        front = self.proxy.url if self.proxy else self.server.url
                        publish_url, counter = front, self.proxy
                        check_url = front + "simple/" if scenario.skip_mode else None
                    command = client_command(client, publish_url, scenario.files, check_url=check_url)
                slug = client.label.replace(" ", "").replace("--", "-")
                log_path = self.logs / f"{scenario.key}-{slug}-{repetition}.log"
                if counter is not None:
                    counter.reset()
                server_before = None if scenario.startup or scenario.sink else self.server_cpu()
                wall, rss, cpu, code, timed_out = run_measured(command, env=self.env, log_path=log_path,
                                                               timeout=self.args.timeout)
                server_after = self.server_cpu() if server_before is not None else None
                traffic = counter.reset() if counter is not None else Traffic()
                state_ok = scenario.sink or scenario.startup or self.index_state() == expected
                run = Run(client.label, repetition, wall, rss, cpu, code, timed_out, dict(traffic.requests),
                          traffic.body_bytes, state_ok, str(log_path.relative_to(HERE)))
                if server_before is not None and server_after is not None:
                    run.server_cpu = server_after - server_before
                if code != 0:
                    said = " ".join(log_path.read_text(errors="replace").split()).lower()
                    run.refused = "unsupported configuration" in said and "--skip-existing" in said
                scenario.results.append(run)
                flag = "" if code == 0 and state_ok else f"  [exit {code}{', index state differs' if not state_ok else ''}]"
                requests = f"{traffic.total_requests} req" if counter is not None else ""
                print(f"  {scenario.key:<13} #{repetition} {client.label:<16} {wall:7.2f} s  "
                      f"{rss / 1024:7.1f} MiB  {requests}{flag}", flush=True)


# ---------------------------------------------------------------------------
# Start-up imports (python -X importtime)
# ---------------------------------------------------------------------------

WATCHED_IMPORTS = ("requests", "urllib3", "rich", "pkginfo", "typer", "click", "pydantic", "requests_toolbelt")


@dataclass
class ImportProfile:
    command: str
    total_ms: float  # every module's own ("self") import time, summed
    top: list[tuple[str, float]]  # (top-level package, summed self ms of it and its submodules), largest first
    watched: dict[str, bool]  # package -> imported at all


def import_profile(args: list[str], env: dict[str, str], label: Optional[str] = None) -> Optional[ImportProfile]:
    """One ``python -X importtime`` run of the pubtool entry point with ``args`` (``label`` names it)."""
    command = [str(BIN / "python"), "-X", "importtime", str(BIN / "pubtool"), *args]
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    except (OSError, subprocess.SubprocessError):
        return None
    by_package: dict[str, float] = {}
    for line in out.stderr.splitlines():
        parts = line.split("|")
        if not line.startswith("import time:") or len(parts) != 3:
            continue
        self_us = parts[0].rsplit(":", 1)[1].strip()
        if not self_us.isdigit():
            continue  # the header line
        package = parts[2].strip().split(".", 1)[0]
        by_package[package] = by_package.get(package, 0.0) + int(self_us) / 1000
    if not by_package:
        return None
    ranked = sorted(by_package.items(), key=lambda item: item[1], reverse=True)
    return ImportProfile(label or " ".join(["pubtool", *args]), sum(by_package.values()), ranked[:6],
                         {name: name in by_package for name in WATCHED_IMPORTS})


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
    server = [run.server_cpu for run in runs if run.server_cpu is not None]
    return {
        "runs": len(runs),
        "wall_median": median(walls), "wall_min": min(walls), "wall_max": max(walls),
        "rss_median": median(rss), "rss_max": max(rss),
        "cpu_median": median([run.cpu for run in runs]),
        "server_cpu_median": median(server) if server else None,
        "exit_codes": codes, "ok": ok,
        "state_ok": all(run.state_ok for run in runs),
        "refused": any(run.refused for run in runs),
        # a method seen in only some runs still counts (0 in the others)
        "requests": {method: int(median(counts + [0] * (len(runs) - len(counts))))
                     for method, counts in sorted(methods.items())},
        "body_mib": median([run.body_bytes / MIB for run in runs]),
        "body_bytes_max": max(run.body_bytes for run in runs),
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


def requests_text(summary: dict) -> str:
    return " + ".join(f"{count} {method}" for method, count in summary["requests"].items() if count) or "0"


def results_table(scenarios: list[Scenario], *, counted: bool) -> list[str]:
    header = "| scenario | client | status | wall s median (min-max) | peak RSS MiB median (max) | CPU s |"
    rule = "|---|---|---|---|---|---|"
    if counted:
        header += " requests | request bodies MiB | server CPU s |"
        rule += "---|---|---|"
    lines = [header, rule]
    for scenario in scenarios:
        for client in scenario.clients:
            summary = summarize(scenario, client.label)
            if summary is None:
                continue
            digits = 3 if scenario.startup else 2
            row = (f"| {scenario.title} | {client.label} | {status_text(scenario, client.label, summary)} | "
                   f"{summary['wall_median']:.{digits}f} "
                   f"({summary['wall_min']:.{digits}f}-{summary['wall_max']:.{digits}f}) | "
                   f"{summary['rss_median']:.1f} ({summary['rss_max']:.1f}) | {summary['cpu_median']:.{digits}f} |")
            if counted:
                if scenario.startup:
                    row += " - | - | - |"
                else:
                    server = summary["server_cpu_median"]
                    row += (f" {requests_text(summary)} | {summary['body_mib']:.1f} | "
                            f"{'-' if server is None else f'{server:.2f}'} |")
            lines.append(row)
    return lines


def variant_title(scenario: Scenario, client: Client) -> str:
    return scenario.title if client.label == "pubtool" else f"{scenario.title}, `{client.label}`"


def ratio_table(scenarios: list[Scenario]) -> list[str]:
    lines = [
        "| scenario | time pubtool/twine | time pubtool/uv | CPU pubtool/twine | CPU pubtool/uv "
        "| peak RSS pubtool/twine | peak RSS pubtool/uv |",
        "|---|---|---|---|---|---|---|",
    ]
    for scenario in scenarios:
        summaries = {client.label: summarize(scenario, client.label) for client in scenario.clients}
        for variant in scenario.clients:
            mine = summaries[variant.label]
            if not variant.is_pubtool or mine is None:
                continue
            cells = []
            for key in ("wall_median", "cpu_median", "rss_median"):
                for other in ("twine", "uv"):
                    theirs = summaries.get(other)
                    if theirs is None:
                        cells.append("n/a")
                    elif not theirs["ok"]:
                        cells.append(f"n/a ({other} {status_text(scenario, other, theirs)})")
                    elif not mine["ok"]:
                        cells.append(f"n/a ({variant.label} {status_text(scenario, variant.label, mine)})")
                    else:
                        cells.append(ratio(mine[key], theirs[key]))
            lines.append(f"| {variant_title(scenario, variant)} | " + " | ".join(cells) + " |")
    return lines


def memory_summary(scenarios: list[Scenario]) -> list[str]:
    lines = []
    for scenario in scenarios:
        if not scenario.key.startswith("memory"):
            continue
        parts = []
        for client in scenario.clients:
            summary = summarize(scenario, client.label)
            if summary is not None:
                parts.append(f"{client.label} {summary['rss_max']:.1f} MiB")
        lines.append(f"- {scenario.title}: peak RSS (max over repetitions) " + ", ".join(parts))
    return lines


def import_lines(profiles: list[ImportProfile]) -> list[str]:
    lines = []
    for profile in profiles:
        top = ", ".join(f"{name} {ms:.0f} ms" for name, ms in profile.top[:5])
        eager = [name for name in ("requests", "rich", "pkginfo") if profile.watched.get(name)]
        also = [name for name in ("typer", "click", "pydantic", "urllib3") if profile.watched.get(name)]
        lines.append(f"- `{profile.command}`: imports take {profile.total_ms:.0f} ms (by package: {top}). "
                     f"requests / rich / pkginfo imported: {', '.join(eager) if eager else 'none'}; "
                     f"also imported: {', '.join(also) if also else 'none of typer, click, pydantic, urllib3'}.")
    return lines


# ---------------------------------------------------------------------------
# Targets of issue 7
# ---------------------------------------------------------------------------


@dataclass
class Target:
    text: str
    measured: str
    verdict: str  # "met", "not met" or "not measured ..."
    why: str


def targets(scenarios: list[Scenario], profiles: list[ImportProfile], jobs_variant: int) -> list[Target]:
    by_key = {scenario.key: scenario for scenario in scenarios}

    def get(key: str, label: str) -> Optional[dict]:
        scenario = by_key.get(key)
        summary = summarize(scenario, label) if scenario else None
        return summary if summary and summary["ok"] else None

    def verdict(met: bool) -> str:
        return "**met**" if met else "**not met**"

    def missing(text: str, what: str) -> Target:
        return Target(text, "-", "not measured", what)

    def seconds(summary: dict) -> str:
        return f"{summary['wall_median']:.2f} s"

    upload_profile = next((x for x in profiles if x.command.startswith("pubtool upload (")), None)
    probe_p, probe_u = get("memory-probe", "pubtool"), get("memory-probe", "uv")

    explained: list[bool] = []

    def fixed_cost() -> str:
        """What one pubtool run costs before any file matters (spelled out once, then referred to)."""
        if explained:
            return "the fixed cost per run shown in the first row that names it"
        explained.append(True)
        parts = []
        if probe_p and probe_u:
            parts.append(f"a single 1 MiB upload costs pubtool {probe_p['cpu_median']:.2f} s CPU, "
                         f"uv {probe_u['cpu_median']:.2f} s")
        if upload_profile:
            parts.append(f"pubtool's imports alone take {upload_profile.total_ms / 1000:.2f} s ("
                         + ", ".join(f"{name} {ms:.0f} ms" for name, ms in upload_profile.top[:4]) + ")")
        return "; ".join(parts)

    def over_budget(mine: dict, other: dict, factor: float, name: str) -> str:
        """The target is out of reach whatever the server does if pubtool's CPU alone exceeds it."""
        budget = factor * other["wall_median"]
        if mine["cpu_median"] <= budget:
            return ""
        cost = fixed_cost()
        return (f". pubtool's own CPU ({mine['cpu_median']:.2f} s) is over the whole budget "
                f"({factor}x {name} = {budget:.2f} s): a fixed cost per run, not the server"
                + (f"; {cost}" if cost else ""))

    jobs_label = f"pubtool --jobs {jobs_variant}" if jobs_variant else ""
    rows: list[Target] = []

    # fresh, 50 small: <= 1.0x uv and <= 0.5x twine sequentially; with --jobs 4 <= 0.6x uv
    p, t, u = get("fresh-small", "pubtool"), get("fresh-small", "twine"), get("fresh-small", "uv")
    j = get("fresh-small", jobs_label) if jobs_label else None
    files = len(by_key["fresh-small"].files) if "fresh-small" in by_key else 0
    text = "fresh, 50 small files, sequential: <= 1.0x uv"
    if p and u:
        r = p["wall_median"] / u["wall_median"]
        why = f"pubtool {seconds(p)} ({p['cpu_median']:.2f} s CPU), uv {seconds(u)} ({u['cpu_median']:.2f} s CPU)"
        if r > 1.0:
            note = over_budget(p, u, 1.0, "uv")
            gap, cpu_gap = p["wall_median"] - u["wall_median"], p["cpu_median"] - u["cpu_median"]
            if not note and cpu_gap >= 0.5 * gap:
                note = f". {cpu_gap:.2f} s of the {gap:.2f} s gap is pubtool's own CPU"
            elif not note:
                note = f". The {gap:.2f} s gap is not pubtool's CPU ({cpu_gap:+.2f} s): it waits longer on the server"
            why += note
        rows.append(Target(text, f"{r:.2f}x", verdict(r <= 1.0), why))
    else:
        rows.append(missing(text, "fresh-small did not run (or a client failed)"))
    text = "fresh, 50 small files, sequential: <= 0.5x twine"
    if p and t:
        r = p["wall_median"] / t["wall_median"]
        why = f"pubtool {seconds(p)} ({p['cpu_median']:.2f} s CPU), twine {seconds(t)} ({t['cpu_median']:.2f} s CPU)"
        if r > 0.5 and u:
            floor = u["wall_median"] / t["wall_median"]
            server = u["server_cpu_median"]
            if floor > 0.5:
                per_upload = (f"; pypiserver spends {server / files * 1000:.0f} ms CPU per upload"
                              if server and files else "")
                why += (f". Sequential uploads are bounded by the server: even uv, at {u['cpu_median']:.2f} s CPU, "
                        f"takes {floor:.2f}x twine's time{per_upload}" + over_budget(p, t, 0.5, "twine"))
            else:
                why += (f"; uv takes {floor:.2f}x twine's time, so the server leaves room"
                        + (over_budget(p, t, 0.5, "twine") or ": the rest is pubtool's own cost"))
        rows.append(Target(text, f"{r:.2f}x", verdict(r <= 0.5), why))
    else:
        rows.append(missing(text, "fresh-small did not run (or a client failed)"))
    text = "fresh, 50 small files, `--jobs 4`: <= 0.6x uv"
    if j and u and p:
        r = j["wall_median"] / u["wall_median"]
        why = (f"`{jobs_label}` {seconds(j)}, `--jobs 1` {seconds(p)} (speed-up "
               f"{p['wall_median'] / j['wall_median']:.2f}x), uv {seconds(u)}")
        server = j["server_cpu_median"]
        busy = server / j["wall_median"] if server else None
        if busy is not None:
            why += f"; pypiserver's CPU during the `{jobs_label}` run: {server:.2f} s = {busy:.0%} of its wall time"
        if r > 0.6:
            if busy is not None and busy >= 0.7:
                why += (". The server (one Python process, one GIL) handles the uploads about one at a time "
                        "and caps `--jobs`")
            else:
                why += over_budget(j, u, 0.6, "uv") or ". The server is not saturated"
        rows.append(Target(text + ("" if jobs_variant == 4 else f" (measured with --jobs {jobs_variant})"),
                           f"{r:.2f}x", verdict(r <= 0.6), why))
    else:
        rows.append(missing(text, "no `--jobs` variant (--jobs-variant 0) or a client failed"))

    # retry, all 50 present, with --check-url: 0 upload bytes, 1 GET, <= 0.4x uv
    p, u = get("retry-small", "pubtool"), get("retry-small", "uv")
    text = "retry, all 50 present, `--check-url`: 0 upload bytes, 1 GET, <= 0.4x uv"
    if p and u:
        r = p["wall_median"] / u["wall_median"]
        requests, body = requests_text(p), p["body_bytes_max"]
        met = r <= 0.4 and p["requests"].get("GET") == 1 and sum(p["requests"].values()) == 1 and body == 0
        why = (f"pubtool {requests} and {body} body bytes in {seconds(p)}; uv {requests_text(u)} in {seconds(u)}")
        if r > 0.4:
            why += over_budget(p, u, 0.4, "uv")
        rows.append(Target(text, f"{r:.2f}x; {requests}; {body} bytes", verdict(met), why))
    else:
        rows.append(missing(text, "retry-small did not run (or a client failed)"))

    # fresh, 5 x 20 MiB: <= 1.05x uv
    p, u = get("fresh-medium", "pubtool"), get("fresh-medium", "uv")
    text = "fresh, 5 x 20 MiB: <= 1.05x uv"
    if p and u:
        r = p["wall_median"] / u["wall_median"]
        overlap = p["wall_min"] <= u["wall_max"] and u["wall_min"] <= p["wall_max"]
        why = (f"pubtool {seconds(p)} ({p['wall_min']:.2f}-{p['wall_max']:.2f}, {p['cpu_median']:.2f} s CPU), "
               f"uv {seconds(u)} ({u['wall_min']:.2f}-{u['wall_max']:.2f}, {u['cpu_median']:.2f} s CPU)"
               + ("; the ranges overlap, so the difference is within run-to-run noise" if overlap else ""))
        server = u["server_cpu_median"]
        if server:
            why += f"; pypiserver's CPU {server:.2f} s per run"
        if r > 1.05:
            gap, cpu_gap = p["wall_median"] - u["wall_median"], p["cpu_median"] - u["cpu_median"]
            if cpu_gap >= 0.5 * gap:
                why += (f". pubtool uses {cpu_gap:.2f} s more CPU than uv, "
                        f"{'more than' if cpu_gap >= gap else 'most of'} the {gap:.2f} s gap")
                cost = fixed_cost()
                why += f" ({cost})" if cost else ""
        rows.append(Target(text, f"{r:.2f}x", verdict(r <= 1.05), why))
    else:
        rows.append(missing(text, "fresh-medium did not run (or a client failed)"))

    # 1 GiB: peak RSS <= 1.3x uv's and within 10 MiB of pubtool's own 1 MiB run
    text = "1 GiB: peak RSS <= 1.3x uv's and within 10 MiB of pubtool's 1 MiB run"
    key = "memory-huge" if "memory-huge" in by_key else "memory-large"
    p, u, probe = get(key, "pubtool"), get(key, "uv"), get("memory-probe", "pubtool")
    uv_probe = get("memory-probe", "uv")
    if p and u and probe:
        r = p["rss_max"] / u["rss_max"]
        delta = p["rss_max"] - probe["rss_max"]
        met = r <= 1.3 and delta <= 10
        size = by_key[key].title.split("1 x ", 1)[1].split(" (", 1)[0]
        why = (f"at {size}: pubtool {p['rss_max']:.1f} MiB, uv {u['rss_max']:.1f} MiB; "
               f"pubtool at 1 MiB {probe['rss_max']:.1f} MiB ({delta:+.1f} MiB)")
        if r > 1.3 and delta <= 10 and uv_probe:
            why += (f". Not the upload: pubtool's fixed footprint at 1 MiB is already "
                    f"{probe['rss_max'] / uv_probe['rss_max']:.2f}x uv's (Python interpreter and imports)")
        if key == "memory-huge":
            rows.append(Target(text, f"{r:.2f}x uv; {delta:+.1f} MiB", verdict(met), why))
        else:
            rows.append(Target(text, f"{r:.2f}x uv; {delta:+.1f} MiB (at {size})",
                               f"not measured at 1 GiB (needs `--big`); {verdict(met)} at {size}", why))
    else:
        rows.append(missing(text, "memory scenarios did not run (or a client failed)"))

    # pubtool --version <= 0.5x twine --version
    start_u = get("startup", "uv")
    p, t, py = get("startup", "pubtool"), get("startup", "twine"), get("startup", PYTHON_BASELINE.label)
    text = "`pubtool --version`: <= 0.5x `twine --version`"
    if p and t:
        r = p["wall_median"] / t["wall_median"]
        why = f"pubtool {p['wall_median']:.3f} s, twine {t['wall_median']:.3f} s"
        if start_u:
            why += f", uv {start_u['wall_median']:.3f} s"
        if py:
            why += f", bare `python -c pass` {py['wall_median']:.3f} s"
        profile = next((x for x in profiles if x.command == "pubtool --version"), None)
        if profile:
            top = ", ".join(f"{name} {ms:.0f} ms" for name, ms in profile.top[:3])
            why += f"; its imports take {profile.total_ms:.0f} ms ({top})"
        rows.append(Target(text, f"{r:.2f}x", verdict(r <= 0.5), why))
    else:
        rows.append(missing(text, "the start-up scenario did not run"))
    return rows


def targets_table(rows: list[Target]) -> list[str]:
    lines = ["| target (issue 7) | measured | verdict | evidence from this run |", "|---|---|---|---|"]
    lines += [f"| {row.text} | {row.measured} | {row.verdict} | {row.why} |" for row in rows]
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
                  counted: bool, target_rows: list[Target], profiles: list[ImportProfile]) -> str:
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(started))
    startup_reps = next((s.reps for s in scenarios if s.startup), None)
    lines = [
        f"## `{mode}` run, {when}",
        "",
        f"Command: `python3 benchmarks/compare.py{' ' + ' '.join(args.argv) if args.argv else ''}` — "
        f"{args.reps} repetition(s) per client and scenario"
        + (f" ({startup_reps} for start-up)" if startup_reps else "")
        + ", clients interleaved (pubtool"
        + (f", pubtool --jobs {args.jobs_variant}" if args.jobs_variant else "")
        + f", twine, uv, pubtool, ...); total {time.time() - started:.0f} s.",
        "",
        "| machine | |",
        "|---|---|",
        *[f"| {key} | {value} |" for key, value in machine.items()],
        "",
        "### Targets",
        "",
        "Wall-time medians of this run"
        + (" (`--quick` datasets are smaller than the targets assume)" if args.quick else "")
        + "; \"met\" compares the median ratio with the target and nothing else.",
        "",
        *targets_table(target_rows),
        "",
        "### Ratios (medians of wall time, client CPU time and peak RSS; below 1 means pubtool is faster / smaller)",
        "",
        *ratio_table(scenarios),
        "",
        "### Memory",
        "",
        *memory_summary(scenarios),
        "",
        *(["### Start-up imports (`python -X importtime`, one run each)", "", *import_lines(profiles), ""]
          if profiles else []),
        "### All measurements",
        "",
        *results_table(scenarios, counted=counted),
        "",
    ]
    notes = [
        "Wall time includes interpreter start-up, validation and hashing: what a user waits for.",
        "Wall time, peak RSS (`ru_maxrss`) and CPU (user + system) come from `os.wait4` in a small launcher "
        "that forks and execs the client, so they are the client's own; a process using less than about "
        "5 MiB still shows about 5 MiB (the launcher's pages before exec). The CPU column is the steadier "
        "measure of each client's own work; the server CPU column says how busy pypiserver was meanwhile.",
    ]
    if counted:
        notes.append("Requests and request-body bytes are counted by a pass-through proxy on another loopback "
                     "port in front of pypiserver (the sink counts its own); every client goes through it. "
                     "Server CPU is pypiserver's user + system time during the run, from /proc.")
    if any(s.skip_mode for s in scenarios):
        notes.append("Retry and mixed: pubtool and uv run with `--check-url <simple>`, twine with "
                     "`--skip-existing`; a twine 'refused' is its own refusal of `--skip-existing` for a non-PyPI "
                     "index. Mixed: the first half of the files is on the index before each run.")
    if any(s.startup for s in scenarios):
        notes.append("Start-up: `pubtool --version`, `twine --version`, `uv --version` and a bare "
                     "`python -c pass` (the venv's interpreter) as the floor for a Python CLI; no server involved.")
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
    parser.add_argument("--scenarios", default="", help="comma-separated subset of: " + ",".join(SCENARIO_KEYS))
    parser.add_argument("--jobs-variant", type=int, default=4, metavar="N",
                        help="also run `pubtool --jobs N` in the fresh and mixed scenarios (default 4; 0: no)")
    parser.add_argument("--startup-reps", type=int, default=None,
                        help="runs per client of the start-up scenario (default 10; 3 with --quick)")
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
    if args.startup_reps is None:
        args.startup_reps = 3 if args.quick else 10
    if not 1 <= args.startup_reps <= 50:
        parser.error("--startup-reps must be between 1 and 50")
    if not 0 <= args.jobs_variant <= 32:
        parser.error("--jobs-variant must be between 0 and 32")
    unknown = set(filter(None, args.scenarios.split(","))) - set(SCENARIO_KEYS)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
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
    profiles: list[ImportProfile] = []
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
        os.sync()  # the distributions just written are flushed before anything is timed
        bench.warm_up((*CLIENTS, PYTHON_BASELINE))
        for scenario in scenarios:
            if scenario.startup:
                print(f"{scenario.title} ({scenario.reps} runs per client)", flush=True)
            else:
                print(f"{scenario.title} ({human_size(scenario.total_bytes)} in {len(scenario.files)} file(s))",
                      flush=True)
            bench.run_scenario(scenario)
        if any(s.startup for s in scenarios):
            profiles = [profile for profile in (import_profile(["--version"], bench.env),
                                                import_profile(["upload", "--help"], bench.env)) if profile]
            one = next((s.files[:1] for s in scenarios if s.key in ("memory-probe", "fresh-small")), [])
            if one:  # where the fixed cost of an upload run goes: one small file, straight to pypiserver
                server.clear()
                profile = import_profile(
                    ["upload", "--publish-url", server.url, "-u", USERNAME, "-p", PASSWORD, "-q", str(one[0])],
                    bench.env, label=f"pubtool upload (1 file of {human_size(one[0].stat().st_size)})")
                if profile:
                    profiles.append(profile)
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
    target_rows = targets(scenarios, profiles, args.jobs_variant)
    print()
    print("\n".join(ratio_table(scenarios)))
    print()
    print("\n".join(results_table(scenarios, counted=counted)))
    print()
    print("\n".join(memory_summary(scenarios)))
    print("\n".join(import_lines(profiles)))
    print()
    print("\n".join(targets_table(target_rows)))
    block = render_report(args, mode, scenarios, machine, started, counted, target_rows, profiles)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    write_results(args.results, mode, block)
    raw = {"mode": mode, "machine": machine,
           "targets": [asdict(row) for row in target_rows],
           "imports": [asdict(profile) for profile in profiles],
           "scenarios": [
               {"key": s.key, "title": s.title, "files": len(s.files), "bytes": s.total_bytes,
                "present": len(s.present), "clients": [asdict(c) for c in s.clients],
                "runs": [asdict(run) for run in s.results]} for s in scenarios]}
    (WORK / f"results-{mode}.json").write_text(json.dumps(raw, indent=2))
    print(f"\nwrote {args.results} and {WORK / f'results-{mode}.json'}; client logs in {logs}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
