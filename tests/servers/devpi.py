"""A real devpi-server on a free loopback port: one user, one non-volatile index.

    with DevpiServer(CANARY) as devpi:
        devpi.upload_url   # http://127.0.0.1:PORT/uploader/dev/
        devpi.simple_url   # http://127.0.0.1:PORT/uploader/dev/+simple/
        devpi.token        # a login token, usable as the Basic-auth password
        devpi.serial()     # devpi's changelog serial: it moves on every write

devpi checks account passwords with argon2 (about 0.25 s of server CPU per
authenticated request); the token from ``POST /+login`` costs about 20 ms, so
most runs should use it. The account password is the canary the test suite
hunts for in every output.

Everything the server writes lives in one temporary directory (the server
directory, its log, a HOME of its own), removed by ``stop()``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional
from urllib.parse import urljoin

import requests

from tests.servers.ports import free_port, stop_process, wait_until_ready

USERNAME = "uploader"
INDEX = "dev"
SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"

# devpi-server derives its token-signing key from its secret with argon2 at start-up
# (512 MiB, time cost 16: about 10 s on a 2-core machine). These options are hidden
# from --help but meant for tests: devpi's own suite lowers the same parameters
# (its lower_argon2_parameters fixture). Account passwords are not affected.
FAST_SECRET_OPTIONS = ("--argon2-memory-cost", "8192", "--argon2-time-cost", "1", "--argon2-parallelism", "1")


def _script(name: str) -> str:
    """A console script of the running interpreter's environment (devpi-init, devpi-server)."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} not found next to {sys.executable} or on PATH; install devpi-server")
    return found


@dataclass(frozen=True)
class IndexFile:
    """One file entry of a devpi project page (PEP 691 JSON)."""

    filename: str
    url: str  # absolute
    sha256: Optional[str]
    requires_python: Optional[str] = None  # what pip reads before downloading


@dataclass
class DevpiServer:
    """``password`` is the account password of ``username`` (pass the test suite's canary)."""

    password: str = field(repr=False)
    username: str = USERNAME
    index: str = INDEX
    fast_secret: bool = True
    start_timeout: float = 60.0
    root_password: str = field(default_factory=lambda: "root-" + uuid.uuid4().hex, repr=False)
    token: Optional[str] = field(default=None, repr=False)
    process: Optional[subprocess.Popen] = None
    port: int = 0
    workdir: Optional[Path] = None

    # -- addresses ---------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def index_name(self) -> str:
        return f"{self.username}/{self.index}"

    @property
    def upload_url(self) -> str:
        """The index URL, which is devpi's legacy upload endpoint."""
        return f"{self.url}{self.index_name}/"

    @property
    def simple_url(self) -> str:
        return f"{self.url}{self.index_name}/+simple/"

    @property
    def log_path(self) -> Path:
        assert self.workdir is not None
        return self.workdir / "server.log"

    # -- lifecycle ---------------------------------------------------------------

    def start(self) -> DevpiServer:
        self.workdir = Path(tempfile.mkdtemp(prefix="pubtool-devpi-"))
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        assert self.workdir is not None
        serverdir = self.workdir / "server"
        home = self.workdir / "home"
        home.mkdir()
        # The server gets a HOME of its own: nothing of the real one is read or written.
        env = {**os.environ, "HOME": str(home), "PYTHONWARNINGS": "ignore"}
        init = subprocess.run(
            [_script("devpi-init"), "--serverdir", str(serverdir), "--no-root-pypi",
             "--root-passwd", self.root_password],
            env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=120,
        )  # fmt: skip
        if init.returncode != 0:
            raise RuntimeError(f"devpi-init failed ({init.returncode}):\n{init.stderr.decode(errors='replace')[-2000:]}")
        self.port = free_port()
        command = [
            _script("devpi-server"), "--serverdir", str(serverdir),
            "--host", "127.0.0.1", "--port", str(self.port), "--offline-mode",
            *(FAST_SECRET_OPTIONS if self.fast_secret else ()),
        ]  # fmt: skip
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        try:
            wait_until_ready(self.url + "+api", process=self.process, timeout=self.start_timeout)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}; devpi-server log:\n{self.log_tail()}") from exc
        self._create_user_and_index()

    def _create_user_and_index(self) -> None:
        self._api("PUT", self.username, {"password": self.password, "email": f"{self.username}@example.invalid"}, 201)
        answer = self._api("POST", "+login", {"user": self.username, "password": self.password}, 200)
        self.token = answer["result"]["password"]
        index = {"type": "stage", "bases": [], "volatile": False}
        self._api("PUT", self.index_name, index, 200, auth=(self.username, self.token))

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def __enter__(self) -> DevpiServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def log_tail(self, size: int = 4000) -> str:
        try:
            return self.log_path.read_bytes()[-size:].decode(errors="replace")
        except OSError:
            return "<no log>"

    # -- HTTP API ----------------------------------------------------------------

    def get(self, url: str, **kwargs) -> requests.Response:
        """A plain GET to this server (loopback only: no proxies, no ~/.netrc, no credentials)."""
        kwargs.setdefault("timeout", 30)
        with requests.Session() as session:
            session.trust_env = False
            return session.get(url, **kwargs)

    def _api(self, method: str, path: str, data: dict, expected: int, *, auth=None) -> dict:
        with requests.Session() as session:
            session.trust_env = False
            response = session.request(
                method, self.url + path, data=json.dumps(data), auth=auth, timeout=30,
                headers={"Content-Type": "application/json", "Accept": "application/json"},
            )  # fmt: skip
        if response.status_code != expected:
            raise RuntimeError(f"devpi {method} /{path}: HTTP {response.status_code} {response.text[:500]}")
        return response.json()

    def serial(self) -> int:
        """devpi's changelog serial: every write (upload, new project, user, index) increments it."""
        response = self.get(self.url + "+api", headers={"Accept": "application/json"})
        response.raise_for_status()
        return int(response.headers["X-Devpi-Serial"])

    def project_files(self, project: str) -> list[IndexFile]:
        """Every file entry of the project's page (PEP 691 JSON), duplicates kept; [] when there is no page."""
        response = self.get(f"{self.simple_url}{project}/", headers={"Accept": SIMPLE_JSON})
        if response.status_code == 404:
            return []
        response.raise_for_status()
        assert response.headers["Content-Type"].startswith(SIMPLE_JSON), response.headers
        return [
            IndexFile(
                entry["filename"],
                urljoin(response.url, entry["url"]),
                entry["hashes"].get("sha256"),
                entry.get("requires-python"),
            )
            for entry in response.json()["files"]
        ]

    def download(self, url: str) -> bytes:
        """The bytes devpi serves for a file URL (anonymous read)."""
        response = self.get(url)
        response.raise_for_status()
        return response.content

    def versiondata(self, project: str, version: str) -> dict:
        """devpi's record of a release: the metadata it was given and its files (``+links``); {} if absent."""
        response = self.get(f"{self.upload_url}{project}/{version}", headers={"Accept": "application/json"})
        if response.status_code == 404:
            return {}
        response.raise_for_status()
        return response.json()["result"]

    def uploads(self, project: str, version: str) -> dict[str, int]:
        """filename -> how many uploads devpi logged for it (each stored upload adds one entry)."""
        counts: dict[str, int] = {}
        for link in self.versiondata(project, version).get("+links", []):
            if link.get("rel") != "releasefile":
                continue
            filename = link["href"].rsplit("/", 1)[-1]
            logged = sum(1 for entry in link.get("log", []) if entry.get("what") == "upload")
            counts[filename] = counts.get(filename, 0) + logged
        return counts
