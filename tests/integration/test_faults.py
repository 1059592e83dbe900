"""The fault matrix of issue 5: faults during a publish, what the user sees, what the index received.

The ScriptedServer plays an index: ``/legacy/`` stores what is POSTed (and answers
409 "already exists" for a filename it already has, as pypiserver does) and
``/simple/demo-pkg/`` lists the stored files with their sha256. A fault is scripted
around that: the connection dropped or a proxy's 502 *after* the index stored the
file, a different build appearing under the same name, 503 for ever, a server
slower than ``--timeout``, 429 on the check URL, SIGTERM/SIGINT mid-upload.

Each test asserts the exit code, the stderr lines, the ``--json`` report's action
per file, and how many POSTs (and GETs) the server received. What is already in
test_upload_scripted.py (500-500-200, persistent 503 of one file, 429 on the POST,
refused connection, read timeout retried) is not repeated here.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Optional

import pytest

import publisher
from publisher.distributions.collect import Candidate
from publisher.distributions.validate import read_distribution
from publisher.errors import NetworkError
from publisher.http import make_session
from publisher.upload import upload_file
from tests.conftest import CANARY
from tests.distfactory import make_sdist, make_wheel
from tests.integration.helpers import UPLOADER, Outcome, assert_no_secret, posted, run
from tests.servers.scripted import Recorded, Reply, ScriptedServer, sha256_of, simple_html

UPLOAD_PATH = "/legacy/"
PAGE = "/simple/demo-pkg/"
WHEEL = "demo_pkg-1.0-py3-none-any.whl"
WHEEL27 = "demo_pkg-1.0-py2.py3-none-any.whl"
SDIST = "demo_pkg-1.0.tar.gz"
_CONTENT = re.compile(rb'name="content"; filename="([^"]+)"')


class Index:
    """What the scripted server keeps: filename -> bytes, served as a PEP 503 page with sha256 fragments."""

    def __init__(self, server: ScriptedServer) -> None:
        self.server = server
        self.stored: dict[str, bytes] = {}
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return self.server.url

    def store(self, request: Recorded) -> str:
        filename = _CONTENT.search(request.body).group(1).decode()
        with self._lock:
            self.stored[filename] = request.form()["content"][0]
        return filename

    def accept(self, request: Recorded) -> Reply:
        """pypiserver's answers: 409 for a filename it has, else store and 200."""
        filename = _CONTENT.search(request.body).group(1).decode()
        if filename in self.stored:
            return Reply(409, f"Package '{filename}' already exists!", {"Content-Type": "text/plain"})
        self.store(request)
        return Reply(200, "OK")

    def stores_then(self, reply: Reply) -> Callable[[Recorded], Reply]:
        """The index stores the file, then the client gets ``reply`` (a drop, a proxy's 502...)."""

        def answer(request: Recorded) -> Reply:
            self.store(request)
            return reply

        return answer

    def page(self, request: Recorded) -> Reply:
        with self._lock:
            files = {name: sha256_of(data) for name, data in self.stored.items()}
        if not files:
            return Reply(404, "Not Found", {"Content-Type": "text/plain"})
        return Reply(200, simple_html(files, base="/files/"), {"Content-Type": "text/html; charset=utf-8"})


class QuietServer(ScriptedServer):
    """A ScriptedServer that, like a real one, prints nothing when a client hangs up before the answer.

    A handler still sleeping out a ``Reply(delay=...)`` after pubtool gave up (a timeout,
    a signal) would otherwise print a BrokenPipeError traceback into whatever test runs
    next, where ``helpers.run`` counts it as a traceback shown to the user.
    """

    def start(self) -> QuietServer:
        super().start()
        assert self._server is not None
        report = self._server.handle_error

        def handle_error(request, client_address) -> None:
            if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
                report(request, client_address)

        self._server.handle_error = handle_error
        return self


@pytest.fixture
def scripted():
    """Overrides conftest's: the same server, quiet about clients that hung up."""
    with QuietServer() as server:
        yield server


@pytest.fixture
def index(scripted: ScriptedServer) -> Index:
    """An empty index that accepts every new file; tests script the faults on top."""
    fake = Index(scripted)
    scripted.on("GET", PAGE, fake.page)
    scripted.on("POST", UPLOAD_PATH, fake.accept)
    return fake


@pytest.fixture
def release(dist_dir: Path) -> tuple[Path, Path]:
    """demo-pkg 1.0: a wheel and an sdist (the wheel is uploaded first)."""
    return make_wheel(dist_dir), make_sdist(dist_dir)


def publish(
    cli, index: Index, *paths: Path, check_url: bool = True, retries: int = 1, timeout: float = 5, extra=()
) -> Outcome:
    """``pubtool upload --json`` to the scripted index; CANARY is the password (never printed: ``run`` checks)."""
    args = [
        "upload",
        "--publish-url", f"{index.url}{UPLOAD_PATH}",
        "-u", UPLOADER, "-p", CANARY,
        "--retries", str(retries),
        "--timeout", str(timeout),
        "--json",
    ]  # fmt: skip
    if check_url:
        args += ["--check-url", f"{index.url}/simple/"]
    return run(cli, *args, *extra, *paths)


def reason_of(outcome: Outcome, filename: str) -> Optional[str]:
    (item,) = [item for item in outcome.report["files"] if item["filename"] == filename]
    return item["reason"]


def summary_row(outcome: Outcome, filename: str) -> str:
    """The summary table's row for ``filename`` (not the per-file progress line, which comes first)."""
    rows = [line for line in outcome.stderr.splitlines() if re.match(rf"\s*{re.escape(filename)}\s", line)]
    assert rows, outcome.stderr
    return rows[-1]


# ---------------------------------------------------------------- a POST that failed may have landed

# (the index's first answer to the wheel's POST, whether it kept the file, POSTs expected, the wheel's action)
LANDED = [
    pytest.param(Reply(drop=True), True, [WHEEL, SDIST], "skipped", id="dropped-after-storing"),
    pytest.param(Reply(drop=True), False, [WHEEL, WHEEL, SDIST], "uploaded", id="dropped-before-storing"),
    pytest.param(Reply(502, "Bad Gateway"), True, [WHEEL, SDIST], "skipped", id="proxy-502-after-storing"),
    pytest.param(Reply(502, "Bad Gateway"), False, [WHEEL, WHEEL, SDIST], "uploaded", id="proxy-502-not-stored"),
    pytest.param(Reply(504, "Gateway Timeout"), True, [WHEEL, SDIST], "skipped", id="proxy-504-after-storing"),
]


@pytest.mark.parametrize("first, kept, posts, action", LANDED)
def test_failed_post_is_looked_up_on_the_check_url_before_it_is_resent(cli, index, release, first, kept, posts, action):
    wheel, sdist = release
    index.server.on("POST", UPLOAD_PATH, index.stores_then(first) if kept else first, index.accept)

    outcome = publish(cli, index, *release)

    assert outcome.exit_code == 0, outcome.stderr
    assert posted(index.server) == posts  # never a duplicate of a file the index kept
    assert index.server.count("GET", PAGE) == 2  # the check, then the look-up before the re-send
    assert index.stored == {WHEEL: wheel.read_bytes(), SDIST: sdist.read_bytes()}
    assert outcome.actions == {WHEEL: action, SDIST: "uploaded"}
    if action == "skipped":
        assert re.search(r"attempt.*(landed|reached the index)", reason_of(outcome, WHEEL)), outcome.report
    assert outcome.errors == []


@pytest.mark.parametrize(
    "first", [Reply(drop=True), Reply(502, "Bad Gateway")], ids=["dropped-after-storing", "proxy-502-after-storing"]
)
def test_without_check_url_the_resend_meets_already_exists(cli, index, release, first):
    index.server.on("POST", UPLOAD_PATH, index.stores_then(first), index.accept)

    outcome = publish(cli, index, *release, check_url=False)

    assert outcome.exit_code == 1
    assert posted(index.server) == [WHEEL, WHEEL]  # nothing to look it up with: re-sent; the sdist is not
    assert index.server.count("GET") == 0
    assert WHEEL in outcome.message and "already exists" in outcome.message and "HTTP 409" in outcome.message
    assert "--check-url" in outcome.hint and "--skip-existing" in outcome.hint
    assert outcome.actions == {WHEEL: "failed", SDIST: "not-attempted"}


@pytest.mark.parametrize("first", [Reply(drop=True), Reply(502, "Bad Gateway")], ids=["dropped", "proxy-502"])
def test_a_different_file_appearing_meanwhile_is_a_conflict_and_nothing_more_is_sent(
    cli, index, release, tmp_path, first
):
    wheel, _ = release
    other_dir = tmp_path / "other-build"
    other_dir.mkdir()
    other = make_wheel(other_dir, payload=b"another build of the same version").read_bytes()

    def someone_else_uploaded(request: Recorded) -> Reply:
        index.stored[WHEEL] = other  # e.g. a concurrent CI job won the race with its own build
        return first

    index.server.on("POST", UPLOAD_PATH, someone_else_uploaded)

    outcome = publish(cli, index, *release, retries=3)

    assert outcome.exit_code == 4
    assert posted(index.server) == [WHEEL]  # not re-sent, and the sdist not sent at all
    assert index.server.count("GET", PAGE) == 2
    assert outcome.actions == {WHEEL: "conflict", SDIST: "not-attempted"}
    assert WHEEL in outcome.message
    assert sha256_of(other)[:16] in outcome.stderr and sha256_of(wheel.read_bytes())[:16] in outcome.stderr
    assert "bump the version" in outcome.hint


# ---------------------------------------------------------------- the last attempt's outcome is unknown

# Issue 5, "Done when": a run that failed half way always tells the user exactly which files are on the
# index. A last attempt that dropped (or met a proxy's 502) may have landed like any earlier one.
MAY_BE_ON_THE_INDEX = re.compile(r"may (or may not )?(be on|have reached|have landed on) the index")


@pytest.mark.parametrize(
    "first", [Reply(drop=True), Reply(502, "Bad Gateway")], ids=["dropped-after-storing", "proxy-502-after-storing"]
)
def test_last_attempt_that_landed_is_found_on_the_check_url(cli, index, release, first):
    wheel, sdist = release
    index.server.on("POST", UPLOAD_PATH, index.stores_then(first), index.accept)

    outcome = publish(cli, index, *release, retries=0)  # no retry left: only the look-up can tell

    assert outcome.exit_code == 0, outcome.stderr
    assert posted(index.server) == [WHEEL, SDIST]
    assert index.server.count("GET", PAGE) == 2
    assert index.stored == {WHEEL: wheel.read_bytes(), SDIST: sdist.read_bytes()}
    assert outcome.actions == {WHEEL: "skipped", SDIST: "uploaded"}
    assert re.search(r"attempt.*(landed|reached the index)", reason_of(outcome, WHEEL)), outcome.report


def test_last_attempt_dropped_without_check_url_says_the_file_may_be_on_the_index(cli, index, release):
    index.server.on("POST", UPLOAD_PATH, index.stores_then(Reply(drop=True)), index.accept)

    outcome = publish(cli, index, *release, check_url=False, retries=0)

    assert outcome.exit_code == 1
    assert posted(index.server) == [WHEEL]
    assert outcome.actions == {WHEEL: "failed", SDIST: "not-attempted"}
    assert MAY_BE_ON_THE_INDEX.search(reason_of(outcome, WHEEL)), reason_of(outcome, WHEEL)


def test_look_up_that_fails_says_the_file_may_be_on_the_index(cli, index, release):
    # the upload is stored but its answer dropped; then the check URL breaks down (503 for good)
    index.server.on("POST", UPLOAD_PATH, index.stores_then(Reply(drop=True)), index.accept)
    index.server.on("GET", PAGE, index.page, Reply(503, "Service Unavailable"))

    outcome = publish(cli, index, *release, retries=1)

    assert outcome.exit_code == 1
    assert posted(index.server) == [WHEEL]  # never re-sent blind
    assert index.server.count("GET", PAGE) == 3  # the check, then the look-up and its one retry
    assert outcome.actions == {WHEEL: "failed", SDIST: "not-attempted"}
    assert "HTTP 503" in outcome.message
    assert MAY_BE_ON_THE_INDEX.search(reason_of(outcome, WHEEL)), reason_of(outcome, WHEEL)


# ---------------------------------------------------------------- failing for good stops the run


def test_persistent_503_stops_the_run_and_the_summary_names_every_file(cli, index, release):
    index.server.on("POST", UPLOAD_PATH, Reply(503, "Service Unavailable"))

    outcome = publish(cli, index, *release, check_url=False, retries=2)

    assert outcome.exit_code == 1
    assert posted(index.server) == [WHEEL, WHEEL, WHEEL]  # 1 + --retries attempts; the sdist never sent
    assert "HTTP 503" in outcome.message and "after 3 attempts" in outcome.message and WHEEL in outcome.message
    assert outcome.actions == {WHEEL: "failed", SDIST: "not-attempted"}
    assert "HTTP 503" in reason_of(outcome, WHEEL)
    assert re.search(r"\bfailed\b", summary_row(outcome, WHEEL))
    assert re.search(r"\bnot-attempted\b", summary_row(outcome, SDIST))
    assert "1 failed, 1 not-attempted" in outcome.stderr


def test_server_slower_than_timeout_fails_within_bounded_time(cli, index, release):
    index.server.on("POST", UPLOAD_PATH, Reply(200, "OK", delay=3))

    started = time.monotonic()
    outcome = publish(cli, index, *release, check_url=False, retries=1, timeout=1)
    elapsed = time.monotonic() - started

    assert outcome.exit_code == 1
    assert elapsed < 15, elapsed  # two 1 s timeouts and one backoff step, not the server's 3 s per answer
    assert posted(index.server) == [WHEEL, WHEEL]
    assert "timed out" in outcome.message and "after 2 attempts" in outcome.message and WHEEL in outcome.message
    assert "--timeout" in outcome.stderr
    assert outcome.actions == {WHEEL: "failed", SDIST: "not-attempted"}


# ---------------------------------------------------------------- the check URL rate-limits


def test_429_on_the_check_url_waits_for_retry_after_then_publishes(cli, index, release):
    wheel, _ = release
    index.stored[WHEEL] = wheel.read_bytes()  # already published: the page decides the wheel is skipped
    index.server.on("GET", PAGE, Reply(429, "Too Many Requests", {"Retry-After": "1"}), index.page)

    started = time.monotonic()
    outcome = publish(cli, index, *release, retries=1)
    elapsed = time.monotonic() - started

    assert outcome.exit_code == 0, outcome.stderr
    assert index.server.count("GET", PAGE) == 2
    assert elapsed >= 0.95, elapsed  # urllib3's own first backoff is 0 s: this is the Retry-After
    assert posted(index.server) == [SDIST]
    assert outcome.actions == {WHEEL: "skipped", SDIST: "uploaded"}


# ---------------------------------------------------------------- the server's own reasons, with a hint

# (status, body, words the hint must contain)
SERVER_REASONS = [
    pytest.param(
        403,
        "<html><head><title>403 The user 'x' isn't allowed to upload to project 'y'. See "
        "https://index.example.org/help/#project-name for more information.</title></head><body><h1>403 The user 'x' "
        "isn't allowed to upload to project 'y'. See https://index.example.org/help/#project-name for more information."
        "</h1></body></html>",
        ("scope", "owners"),
        id="403-pypi-not-allowed-for-project",
    ),
    pytest.param(
        413, "413 Request Entity Too Large", ("larger than the index accepts",), id="413-file-too-large"
    ),
]


@pytest.mark.parametrize("status, body, hint_words", SERVER_REASONS)
def test_refusal_shows_the_servers_reason_and_a_hint(cli, index, release, status, body, hint_words):
    index.server.on("POST", UPLOAD_PATH, Reply(status, body))

    outcome = publish(cli, index, *release, check_url=False, retries=2)

    assert outcome.exit_code == 1
    assert posted(index.server) == [WHEEL]  # a 4xx is never retried
    assert f"HTTP {status}" in outcome.message and WHEEL in outcome.message
    if status == 403:
        assert "isn't allowed to upload to project 'y'" in outcome.message
        assert "credentials are missing or wrong" not in outcome.hint  # not the generic 403 hint
    for word in hint_words:
        assert word in outcome.hint
    assert len(outcome.errors) == 1 and "\n" not in outcome.message
    assert outcome.actions == {WHEEL: "failed", SDIST: "not-attempted"}


# ---------------------------------------------------------------- SIGTERM / SIGINT mid-upload


def _reset_sigint() -> None:
    # A child of a shell job may inherit SIGINT ignored; Python then installs no KeyboardInterrupt handler.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_during_an_upload_reports_which_files_are_on_the_index(scripted, dist_dir, signum):
    files = [make_wheel(dist_dir), make_wheel(dist_dir, tag="py2.py3-none-any"), make_sdist(dist_dir)]
    # the first wheel is accepted; the second hangs (10 s) until the signal
    scripted.on("POST", UPLOAD_PATH, Reply(200, "OK"), Reply(200, "OK", delay=10))
    env = dict(os.environ)  # isolated HOME etc. from conftest
    source_root = str(Path(publisher.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [source_root, env.get("PYTHONPATH")]))
    command = [
        sys.executable, "-m", "publisher", "upload",
        "--publish-url", f"{scripted.url}{UPLOAD_PATH}",
        "-u", UPLOADER, "-p", CANARY,
        "--retries", "0", "--timeout", "30", "--json",
        *map(str, files),
    ]  # fmt: skip

    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=_reset_sigint,
    )
    try:
        waited = time.monotonic()
        while scripted.count("POST") < 2 and process.poll() is None and time.monotonic() - waited < 20:
            time.sleep(0.05)
        assert scripted.count("POST") == 2, f"the second upload never started: {process.poll()=}"
        process.send_signal(signum)
        signalled = time.monotonic()
        stdout, stderr = process.communicate(timeout=15)
        stopped_after = time.monotonic() - signalled
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    assert process.returncode == 130, stderr
    assert stopped_after < 5, stopped_after  # did not wait for the hanging answer (10 s)
    assert_no_secret(stdout, stderr)
    assert "Traceback" not in stderr
    report = json.loads(stdout)  # the report is printed when interrupted too
    assert report["exit_code"] == 130
    actions = {item["filename"]: (item["action"], item["reason"]) for item in report["files"]}
    assert actions[WHEEL] == ("uploaded", None)
    action, reason = actions[WHEEL27]
    assert action == "failed" and "interrupted" in reason and "may or may not be on the index" in reason
    assert actions[SDIST] == ("not-attempted", None)
    assert posted(scripted) == [WHEEL, WHEEL27]
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    hints = [line for line in stderr.splitlines() if line.startswith("hint:")]
    assert len(errors) == 1 and "interrupted" in errors[0] and "1 of 3 files are on the index" in errors[0], stderr
    assert len(hints) == 1 and "--check-url" in hints[0], stderr
    for filename in (WHEEL, WHEEL27, SDIST):  # the summary table names every file
        assert re.search(rf"^\s*{re.escape(filename)}\s", stderr, re.MULTILINE), stderr


# ---------------------------------------------------------------- the retry deadline (upload_file, real HTTP)


@pytest.mark.parametrize("reply", [Reply(503, "Service Unavailable"), Reply(drop=True)], ids=["503", "dropped"])
def test_deadline_ends_retries_long_before_the_retries_would(scripted, dist_dir, reply):
    scripted.on("POST", UPLOAD_PATH, reply)
    wheel = make_wheel(dist_dir)
    dist, problems = read_distribution(Candidate(wheel, str(wheel)))
    assert dist is not None, problems
    session = make_session(retries=0)
    result: dict = {}

    def attempt() -> None:
        started = time.monotonic()
        try:
            result["returned"] = upload_file(
                session, f"{scripted.url}{UPLOAD_PATH}", dist, timeout=5, retries=10, deadline=1.0
            )
        except BaseException as error:  # noqa: BLE001 - handed to the test thread below
            result["raised"] = error
        result["seconds"] = time.monotonic() - started

    # 10 retries would sleep 0.5 + 1 + 2 + 4 + 8 + 16 + 4 x 30 s (2.5 minutes): bound the wait instead.
    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(timeout=10)
    session.close()

    assert not worker.is_alive(), "upload_file was still retrying 10 s after a 1 s deadline"
    assert isinstance(result.get("raised"), NetworkError), result
    assert result["seconds"] < 2.5, result["seconds"]
    # one retry fits in 1 s (backoff 0.5-0.625 s), the next (1-1.25 s) does not
    assert scripted.count("POST") == 2
    assert "after 2 attempts" in result["raised"].message
