"""Shared helpers for the integration tests: run pubtool, read what a user sees, read what a server got.

``run`` is the one way these modules call the CLI: it asserts, for every run, that
the CANARY secret is in no output, that no Python traceback or stray Python warning
reached the user, and that ``--json`` output is one JSON document whose exit code
matches the process's.
"""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from tests.conftest import CANARY
from tests.servers.scripted import ScriptedServer

UPLOADER = "uploader"
UPLOAD_AUTH = f"{UPLOADER}:{CANARY}"

# SPEC section 7: the keys of the JSON report and of each of its files.
REPORT_KEYS = {"publish_url", "check_url", "dry_run", "exit_code", "files"}
FILE_KEYS = {"path", "filename", "project", "version", "size", "sha256", "action", "reason", "seconds"}


@dataclass
class Outcome:
    """What a user and a CI script see of one run."""

    exit_code: int
    stdout: str
    stderr: str
    report: Optional[dict] = None

    def lines(self, prefix: str) -> list[str]:
        return [line[len(prefix) :].strip() for line in self.stderr.splitlines() if line.startswith(prefix)]

    @property
    def errors(self) -> list[str]:
        return self.lines("error:")

    @property
    def message(self) -> str:
        """The error message: the last ``error:`` line (per-file details come before it)."""
        assert self.errors, self.stderr
        return self.errors[-1]

    @property
    def hints(self) -> list[str]:
        return self.lines("hint:")

    @property
    def hint(self) -> str:
        assert len(self.hints) == 1, self.stderr
        return self.hints[0]

    @property
    def warnings(self) -> list[str]:
        return self.lines("warning:")

    @property
    def notes(self) -> list[str]:
        return self.lines("note:")

    @property
    def actions(self) -> dict[str, str]:
        assert self.report is not None, "run with --json"
        return {item["filename"]: item["action"] for item in self.report["files"]}


def assert_no_secret(*texts: str, secrets: tuple[str, ...] = ()) -> None:
    """CANARY (and any other ``secrets``) appear in none of ``texts``."""
    for text in texts:
        for secret in (CANARY, *secrets):
            assert secret not in text, f"secret {secret!r} leaked into output:\n{text}"


def run(cli, *args, env: Optional[dict] = None, secrets: tuple[str, ...] = ()) -> Outcome:
    """``pubtool ARGS`` in-process, with the checks every integration run shares."""
    with warnings.catch_warnings(record=True) as caught:
        # What a real run would print: pytest otherwise swallows warnings that escape pubtool.
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=PendingDeprecationWarning)
        result = cli(*[str(a) for a in args], env=env)
    assert_no_secret(result.stdout, result.stderr, secrets=secrets)
    for text in (result.stdout, result.stderr):
        assert "Traceback" not in text, text
    leaked = [f"{w.category.__name__}: {w.message}" for w in caught]
    assert not leaked, f"Python warnings reached the user's stderr: {leaked}\n{result.stderr}"
    report = None
    if "--json" in args:
        report = json.loads(result.stdout)  # stdout holds the report and nothing else
        assert report["exit_code"] == result.exit_code
        assert_no_secret(json.dumps(report), secrets=secrets)
    return Outcome(result.exit_code, result.stdout, result.stderr, report)


def posted(server: ScriptedServer, path: Optional[str] = None) -> list[str]:
    """The filename of the ``content`` part of every POST the server received, in order."""
    names = []
    for request in server.matching("POST", path):
        match = re.search(rb'name="content"; filename="([^"]+)"', request.body)
        names.append(match.group(1).decode() if match else "<no content part>")
    return names


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def blake2_256(path: Path) -> str:
    return hashlib.blake2b(Path(path).read_bytes(), digest_size=32).hexdigest()
