"""A real pypiserver on a free loopback port, with htpasswd auth (passlib)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from tests.servers.ports import free_port, stop_process, wait_until_ready

USERNAME = "uploader"


def write_htpasswd(path: Path, username: str, password: str) -> None:
    from passlib.apache import HtpasswdFile

    htpasswd = HtpasswdFile(str(path), new=True)
    htpasswd.set_password(username, password)
    htpasswd.save()


@dataclass
class PypiServer:
    """``authenticate`` is pypiserver's -a: "update" (anonymous reads) or "update,download,list"."""

    password: str
    authenticate: str = "update"
    username: str = USERNAME
    process: Optional[subprocess.Popen] = None
    port: int = 0
    workdir: Optional[Path] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def simple_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/simple/"

    @property
    def packages(self) -> Path:
        assert self.workdir is not None
        return self.workdir / "packages"

    def start(self) -> PypiServer:
        self.workdir = Path(tempfile.mkdtemp(prefix="pubtool-pypiserver-"))
        self.packages.mkdir()
        htpasswd = self.workdir / "htpasswd"
        write_htpasswd(htpasswd, self.username, self.password)
        self.port = free_port()
        command = [
            sys.executable, "-m", "pypiserver", "run",
            "-i", "127.0.0.1", "-p", str(self.port),
            "-P", str(htpasswd), "-a", self.authenticate,
            "--disable-fallback", "--hash-algo", "sha256",
            "--server", "auto",
            str(self.packages),
        ]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=(self.workdir / "server.log").open("wb")
        )
        wait_until_ready(self.url + "health", process=self.process)
        return self

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def clear(self) -> None:
        for entry in self.packages.iterdir():
            entry.unlink()

    def stored(self) -> dict[str, str]:
        """filename -> sha256 of what the server keeps on disk."""
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(self.packages.iterdir())}

    def __enter__(self) -> PypiServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
