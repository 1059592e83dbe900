"""Isolation for every test, CLI runner helpers, and the shared real servers."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from publisher.cli import app
from tests.servers.pypiserver import PypiServer
from tests.servers.scripted import ScriptedServer

# A distinctive secret; tests assert it never appears in any output.
CANARY = "canary-" + uuid.uuid4().hex[:12]


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("TERM", "dumb")
    for name in list(os.environ):
        proxy = name.lower() in ("http_proxy", "https_proxy", "all_proxy")
        if name.startswith(("PUBTOOL_", "TWINE_", "GITHUB_", "ACTIONS_")) or name == "NETRC" or proxy:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
    return home


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str
    exception: object

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_cli(*args: str, env: dict | None = None) -> CliResult:
    """Run ``pubtool ARGS`` in-process; stdout and stderr kept apart."""
    try:
        runner = CliRunner(mix_stderr=False)  # click < 8.2 (Python 3.9) mixes stderr into stdout by default
    except TypeError:  # click 8.2+ and typer's vendored click keep them apart and take no such argument
        runner = CliRunner()
    result = runner.invoke(app, [str(a) for a in args], env=env, catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return CliResult(result.exit_code, result.stdout, result.stderr, result.exception)


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture
def dist_dir(tmp_path) -> Path:
    directory = tmp_path / "dist"
    directory.mkdir()
    return directory


@pytest.fixture(scope="session")
def pypiserver_open_read():
    """pypiserver: authenticated uploads, anonymous reads."""
    with PypiServer(CANARY, "update") as server:
        yield server


@pytest.fixture(scope="session")
def pypiserver_auth_read():
    """pypiserver: authenticated uploads and reads."""
    with PypiServer(CANARY, "update,download,list") as server:
        yield server


@pytest.fixture
def pypi(pypiserver_open_read):
    yield pypiserver_open_read
    pypiserver_open_read.clear()


@pytest.fixture
def pypi_private(pypiserver_auth_read):
    yield pypiserver_auth_read
    pypiserver_auth_read.clear()


@pytest.fixture
def scripted():
    with ScriptedServer() as server:
        yield server
