"""The upload endpoint against answers scripted per test (SPEC sections 2, 3 step 5-7, 4, 7 and 8).

The ScriptedServer is the publish URL (``/legacy/``) and no check URL is given
unless a test says so. Every run goes through ``helpers.run``: the CANARY
password is never printed, no traceback, the ``--json`` report matches the exit
code. Tests assert the exit code, what the user reads on stderr, the JSON
report, and what the server received and did not receive.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional
from urllib.parse import quote

import pytest

from publisher.upload import ALREADY_EXISTS_ANSWERS
from tests.conftest import CANARY
from tests.distfactory import make_sdist, make_wheel, metadata_text
from tests.integration.helpers import (
    FILE_KEYS,
    REPORT_KEYS,
    UPLOAD_AUTH,
    UPLOADER,
    Outcome,
    blake2_256,
    posted,
    run,
    sha256,
)
from tests.servers.scripted import Reply, ScriptedServer

UPLOAD_PATH = "/legacy/"
WHEEL = "demo_pkg-1.0-py3-none-any.whl"
SDIST = "demo_pkg-1.0.tar.gz"
CREDENTIALS_HINT = "upload credentials are missing or wrong"
ALREADY_EXISTS_HINT = ("--check-url", "--skip-existing")


def upload(
    cli,
    server: ScriptedServer,
    *paths: Path,
    path: str = UPLOAD_PATH,
    credentials: bool = True,
    retries: int = 0,
    json_report: bool = True,
    extra: tuple[str, ...] = (),
    env: Optional[dict] = None,
) -> Outcome:
    """``pubtool upload`` of ``paths`` to ``server`` at ``path``; CANARY is the password."""
    args = ["upload", "--publish-url", f"{server.url}{path}", "--retries", str(retries), "--timeout", "5"]
    if credentials:
        args += ["-u", UPLOADER, "-p", CANARY]
    if json_report:
        args.append("--json")
    return run(cli, *args, *extra, *paths, env=env)


@pytest.fixture
def index(scripted: ScriptedServer) -> ScriptedServer:
    """The scripted server with an upload endpoint that accepts every file."""
    scripted.on("POST", UPLOAD_PATH, Reply(200, "OK"))
    return scripted


@pytest.fixture
def wheel(dist_dir: Path) -> Path:
    return make_wheel(dist_dir)


@pytest.fixture
def release(dist_dir: Path) -> tuple[Path, Path]:
    """demo-pkg 1.0: a wheel and an sdist."""
    return make_wheel(dist_dir), make_sdist(dist_dir)


# ---------------------------------------------------------------- the form (SPEC section 3 step 5)


@pytest.mark.parametrize(
    "maker, filetype, pyversion",
    [(make_wheel, "bdist_wheel", "py3"), (make_sdist, "sdist", "source")],
    ids=["wheel", "sdist"],
)
def test_form_fields_follow_the_legacy_api(cli, index, dist_dir, maker, filetype, pyversion):
    dist = maker(dist_dir)

    outcome = upload(cli, index, dist)

    assert outcome.exit_code == 0, outcome.stderr
    (request,) = index.matching("POST")
    assert request.path == UPLOAD_PATH
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    form = request.form()
    assert form[":action"] == ["file_upload"]
    assert form["protocol_version"] == ["1"]
    assert form["name"] == ["demo-pkg"]
    assert form["version"] == ["1.0"]
    assert form["filetype"] == [filetype]
    assert form["pyversion"] == [pyversion]
    assert form["metadata_version"] == ["2.1"]
    assert form["summary"] == ["A test package"]
    assert form["requires_dist"] == ["requests>=2", "rich"]  # multi-valued: one field per value
    assert form["classifiers"] == [
        "Programming Language :: Python :: 3",
        "License :: OSI Approved :: MIT License",
    ]
    assert form["requires_python"] == [">=3.9"]
    assert form["sha256_digest"] == [sha256(dist)]
    assert form["blake2_256_digest"] == [blake2_256(dist)]
    assert form["content"] == [dist.read_bytes()]
    assert posted(index) == [dist.name]
    assert "md5_digest" not in form
    assert request.authorization == UPLOAD_AUTH


def test_requires_python_is_sent_empty_when_the_metadata_has_none(cli, index, dist_dir):
    dist = make_wheel(dist_dir, metadata=metadata_text("demo-pkg", "1.0", omit=("Requires-Python",)))

    outcome = upload(cli, index, dist)

    assert outcome.exit_code == 0, outcome.stderr
    assert index.matching("POST")[0].form()["requires_python"] == [""]  # GitLab refuses the upload without it


# (files in the order given, the order they must be POSTed): each sdist after its own release's wheels
ORDERS = [
    pytest.param(["sdist-1.0", "wheel-1.0"], ["wheel-1.0", "sdist-1.0"], id="sdist-given-first"),
    pytest.param(["wheel-1.0", "sdist-1.0"], ["wheel-1.0", "sdist-1.0"], id="already-in-order"),
    pytest.param(
        ["sdist-1.0", "wheel-1.0", "wheel27-1.0"], ["wheel-1.0", "wheel27-1.0", "sdist-1.0"], id="after-every-wheel"
    ),
    pytest.param(
        ["sdist-2.0", "sdist-1.0", "wheel-1.0", "wheel-2.0"],
        ["wheel-1.0", "sdist-1.0", "wheel-2.0", "sdist-2.0"],
        id="two-releases",
    ),
    pytest.param(["sdist-1.0", "sdist-2.0"], ["sdist-1.0", "sdist-2.0"], id="sdists-alone-keep-their-order"),
]


def _build(dist_dir: Path, label: str) -> Path:
    kind, version = label.split("-")
    if kind == "sdist":
        return make_sdist(dist_dir, version=version)
    return make_wheel(dist_dir, version=version, tag="py2.py3-none-any" if kind == "wheel27" else "py3-none-any")


@pytest.mark.parametrize("given, expected", ORDERS)
def test_wheels_are_posted_before_the_sdist_of_their_release(cli, index, dist_dir, given, expected):
    files = {label: _build(dist_dir, label) for label in given}

    outcome = upload(cli, index, *files.values())

    assert outcome.exit_code == 0, outcome.stderr
    assert posted(index) == [files[label].name for label in expected]


# ---------------------------------------------------------------- redirects on POST


@pytest.mark.parametrize("status", [307, 308])
def test_redirect_to_the_trailing_slash_on_the_same_realm_resends_the_file(cli, index, wheel, status):
    index.on("POST", "/legacy", Reply(status, headers={"Location": "/legacy/"}))

    outcome = upload(cli, index, wheel, path="/legacy")

    assert outcome.exit_code == 0, outcome.stderr
    first, second = index.matching("POST")
    assert (first.path, second.path) == ("/legacy", "/legacy/")
    for request in (first, second):  # the whole file, twice
        assert request.form()["content"] == [wheel.read_bytes()]
        assert request.authorization == UPLOAD_AUTH
    assert first.body_size == second.body_size > wheel.stat().st_size
    assert outcome.actions == {WHEEL: "uploaded"}


@pytest.mark.parametrize("status", [301, 302, 303])
def test_other_redirect_to_the_trailing_slash_is_an_error_naming_it(cli, index, wheel, status):
    index.on("POST", "/legacy", Reply(status, headers={"Location": "/legacy/"}))

    outcome = upload(cli, index, wheel, path="/legacy", retries=2)

    assert outcome.exit_code == 1
    assert index.count("POST") == 1  # not followed, not retried
    assert index.count("POST", "/legacy/") == 0
    assert f"({status})" in outcome.message
    assert f"{index.url}/legacy/" in outcome.message
    assert WHEEL in outcome.message
    assert "trailing slash" in outcome.hint
    assert f"--publish-url {index.url}/legacy/" in outcome.hint
    assert outcome.actions == {WHEEL: "failed"}


@pytest.mark.parametrize("status", [301, 307, 308])
def test_redirect_to_another_port_sends_nothing_there(cli, index, wheel, status):
    with ScriptedServer() as other:
        other.on("POST", "*", Reply(200, "OK"))

        elsewhere = f"{other.url}/legacy/"
        index.on("POST", UPLOAD_PATH, Reply(status, headers={"Location": elsewhere}))

        outcome = upload(cli, index, wheel, retries=2)

        assert other.requests == []
    assert outcome.exit_code == 1
    assert index.count("POST") == 1
    assert elsewhere in outcome.message
    assert "another host" in outcome.hint
    assert outcome.actions == {WHEEL: "failed"}


def test_redirect_loop_on_the_same_realm_ends_in_an_error(cli, index, wheel):
    index.on("POST", UPLOAD_PATH, Reply(308, headers={"Location": UPLOAD_PATH}))

    outcome = upload(cli, index, wheel, retries=2)

    assert outcome.exit_code == 1
    assert 2 <= index.count("POST") <= 6  # followed a few times, then given up (not retried on top)
    assert "redirected (308)" in outcome.message
    assert outcome.actions == {WHEEL: "failed"}


# ---------------------------------------------------------------- refusals: exit 1, never retried

# PyPI's answers for a filename that was used before (INDEX-SERVERS.md; warehouse's forklift/legacy.py today)
FILENAME_REUSE = [
    "400 This filename was previously used by a file that has since been deleted. Use a different version.",
    "400 This filename has already been used, use a different version. "
    "See https://index.example.org/help/#file-name-reuse for more information.",
]

# (status, body, what the hint must say)
REFUSALS = [
    pytest.param(401, "Unauthorized", CREDENTIALS_HINT, id="401"),
    pytest.param(403, "Forbidden", CREDENTIALS_HINT, id="403"),
    pytest.param(403, "Invalid or non-existent authentication information.", CREDENTIALS_HINT, id="403-pypi-wording"),
    pytest.param(405, "Method Not Allowed", "may be the simple index URL", id="405"),
    pytest.param(400, FILENAME_REUSE[0], "bump the version", id="400-pypi-filename-reuse"),
    pytest.param(400, FILENAME_REUSE[1], "bump the version", id="400-pypi-filename-reuse-current-wording"),
    pytest.param(400, "Only one sdist may be uploaded per release.", "rejected the file", id="400-pypi-one-sdist"),
]


@pytest.mark.parametrize("status, body, hint", REFUSALS)
def test_refused_upload_is_exit_1_with_a_hint_and_not_retried(cli, index, release, status, body, hint):
    index.on("POST", UPLOAD_PATH, Reply(status, body, {"Content-Type": "text/plain"}))

    outcome = upload(cli, index, *release, retries=2)

    assert outcome.exit_code == 1
    assert index.count("POST") == 1
    assert posted(index) == [WHEEL]  # the run stops at the first refusal
    assert f"HTTP {status}" in outcome.message
    assert WHEEL in outcome.message
    assert hint in outcome.hint
    assert outcome.actions == {WHEEL: "failed", SDIST: "not-attempted"}


@pytest.mark.parametrize("body", FILENAME_REUSE, ids=["deleted-wording", "current-wording"])
def test_filename_reuse_is_not_already_exists_even_with_skip_existing(cli, index, wheel, body):
    index.on("POST", UPLOAD_PATH, Reply(400, body))

    outcome = upload(cli, index, wheel, extra=("--skip-existing",))

    assert outcome.exit_code == 1
    assert "bump the version" in outcome.hint
    assert outcome.actions == {WHEEL: "failed"}
    assert outcome.warnings == []


def test_no_credentials_and_401_say_how_to_give_upload_credentials(cli, index, wheel):
    index.on("POST", UPLOAD_PATH, Reply(401, "Unauthorized", {"WWW-Authenticate": 'Basic realm="pypi"'}))

    outcome = upload(cli, index, wheel, credentials=False)

    assert outcome.exit_code == 1
    assert index.matching("POST")[0].authorization is None
    assert CREDENTIALS_HINT in outcome.hint
    assert "-u/--username" in outcome.hint and "-t/--token" in outcome.hint


# ---------------------------------------------------------------- transient failures (SPEC section 8)

# (replies of POST /legacy/, --retries, exit code, POSTs expected)
RETRIES = [
    pytest.param([Reply(500), Reply(500), Reply(200)], 2, 0, 3, id="500-500-200"),
    pytest.param([Reply(502), Reply(504), Reply(200)], 2, 0, 3, id="502-504-200"),
    pytest.param([Reply(503, "Service Unavailable")], 1, 1, 2, id="persistent-503"),
    pytest.param([Reply(500)], 0, 1, 1, id="retries-0-means-one-attempt"),
    pytest.param([Reply(200, drop=True), Reply(200)], 1, 0, 2, id="connection-dropped-then-200"),
]


@pytest.mark.parametrize("replies, retries, exit_code, posts", RETRIES)
def test_transient_failures_are_retried_at_most_retries_times(cli, index, wheel, replies, retries, exit_code, posts):
    index.on("POST", UPLOAD_PATH, *replies)

    outcome = upload(cli, index, wheel, retries=retries)

    assert outcome.exit_code == exit_code, outcome.stderr
    assert index.count("POST") == posts
    for request in index.matching("POST"):  # every attempt re-sends the whole file
        assert request.form()["content"] == [wheel.read_bytes()]
    if exit_code == 0:
        assert outcome.actions == {WHEEL: "uploaded"}
        assert outcome.errors == []
    else:
        assert outcome.actions == {WHEEL: "failed"}
        if posts > 1:
            assert f"after {posts} attempts" in outcome.message


def test_read_timeout_is_retried(cli, index, wheel):
    index.on("POST", UPLOAD_PATH, Reply(200, "OK", delay=1.5), Reply(200, "OK"))

    outcome = upload(cli, index, wheel, retries=1, extra=("--timeout", "0.5"))

    assert outcome.exit_code == 0, outcome.stderr
    assert index.count("POST") == 2
    assert outcome.actions == {WHEEL: "uploaded"}


# Counts the TCP connects pubtool makes to one port; an audit hook observes, it changes nothing.
_COUNT_CONNECTS = """
import sys
port = int(sys.argv[1])
connects = []
def count(event, args):
    if event == "socket.connect" and args[1][1:2] == (port,):
        connects.append(1)
sys.addaudithook(count)
from publisher.cli import app
try:
    app(sys.argv[2:], prog_name="pubtool")
except SystemExit as exit:
    print(f"exit={exit.code} connects={len(connects)}")
"""


@pytest.mark.parametrize("retries", [0, 1, 2])
def test_refused_connection_is_attempted_at_most_1_plus_retries_times(wheel, retries):
    """SPEC section 8: --retries N means at most 1 + N attempts, connection errors included."""
    with socket.socket() as placeholder:  # a free port with nothing listening on it
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
    args = ["upload", "--publish-url", f"http://127.0.0.1:{port}/legacy/", "--retries", str(retries), str(wheel)]

    done = subprocess.run(
        [sys.executable, "-c", _COUNT_CONNECTS, str(port), *args], capture_output=True, text=True, timeout=60
    )

    assert done.stdout.strip() == f"exit=1 connects={1 + retries}", done.stderr
    assert "Traceback" not in done.stderr


def test_persistent_503_names_the_status_and_suggests_retrying(cli, index, wheel):
    index.on("POST", UPLOAD_PATH, Reply(503, "Service Unavailable"))

    outcome = upload(cli, index, wheel, retries=1)

    assert outcome.exit_code == 1
    assert index.count("POST") == 2
    assert "HTTP 503" in outcome.message and "after 2 attempts" in outcome.message
    assert "--retries" in outcome.hint


def test_429_waits_for_retry_after_then_uploads(cli, index, wheel):
    index.on("POST", UPLOAD_PATH, Reply(429, "Too many requests", {"Retry-After": "1"}), Reply(200, "OK"))

    started = time.monotonic()
    outcome = upload(cli, index, wheel, retries=1)
    elapsed = time.monotonic() - started

    assert outcome.exit_code == 0, outcome.stderr
    assert index.count("POST") == 2
    assert elapsed >= 0.95  # Retry-After (1 s) wins over the first backoff step (0.5 s)
    assert outcome.actions == {WHEEL: "uploaded"}


# ---------------------------------------------------------------- "already exists" (SPEC section 3 step 6, 8)


def _table_reply(status: int, needle: str) -> Reply:
    """An answer built from one row of ALREADY_EXISTS_ANSWERS."""
    body = f"Upload refused: {needle} ({WHEEL})" if needle else ""
    return Reply(status, body, {"Content-Type": "text/plain"})


TABLE_ROWS = [
    pytest.param(_table_reply(status, needle), id=f"{server}-{status}-{needle or 'any'}")
    for server, status, needle in ALREADY_EXISTS_ANSWERS
]

PYPISERVER_PAGE = (
    '<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN"><html><head><title>Error: {status}</title>'
    "<style type=\"text/css\">html {{background-color: #eee;}}</style></head><body>"
    "<h1>Error: {status}</h1><p>Sorry, the requested URL <tt>&#039;http://127.0.0.1/&#039;</tt> caused an error:</p>"
    "<pre>Package &#039;{wheel}&#039; already exists!</pre></body></html>"
)

# (server as named in ALREADY_EXISTS_ANSWERS, status, body): the words real indexes use (INDEX-SERVERS.md)
WORDINGS = [
    (
        "PyPI / TestPyPI",
        400,
        f"400 File already exists ('{WHEEL}', with blake2_256 hash '{'ab' * 32}'). "
        "See https://index.example.org/help/#file-name-reuse for more information.",
    ),
    ("pypiserver", 409, PYPISERVER_PAGE.format(status="409 Conflict", wheel=WHEEL)),
    ("pypiserver (twine user agent)", 400, PYPISERVER_PAGE.format(status="400 Bad Request", wheel=WHEEL)),
    (
        "devpi (non-volatile index)",
        409,
        f'{{"type": "error", "message": "{WHEEL} already exists in non-volatile index"}}',
    ),
    (
        "Artifactory",
        403,
        '{"errors": [{"status": 403, "message": "Not enough permissions to delete/overwrite artifact '
        f"'pypi-local:demo-pkg/1.0/{WHEEL}' (user: 'uploader' needs DELETE permission).\"}}]}}",
    ),
    ("Nexus", 400, "Repository does not allow updating assets: pypi-hosted"),
    ("Nexus", 400, f"Asset packages/demo-pkg/1.0/{WHEEL} cannot be updated"),
    ("GitLab", 400, '{"message":"Validation failed: File name has already been taken"}'),
    ("Google Artifact Registry", 400, "requested entity already exists"),
    ("AWS CodeArtifact", 409, ""),
]
WORDING_ROWS = [
    pytest.param(Reply(status, body), id=f"{server}-{status}-{index}")
    for index, (server, status, body) in enumerate(WORDINGS)
]


def test_every_row_of_the_table_has_a_real_wording_here():
    assert {server for server, _, _ in ALREADY_EXISTS_ANSWERS} == {server for server, _, _ in WORDINGS}


@pytest.mark.parametrize("answer", TABLE_ROWS + WORDING_ROWS)
def test_already_exists_without_check_url_is_exit_1_with_both_ways_out(cli, index, release, answer):
    index.on("POST", UPLOAD_PATH, answer)

    outcome = upload(cli, index, *release, retries=2)

    assert outcome.exit_code == 1
    assert index.count("POST") == 1  # not retried; the sdist is not attempted
    assert WHEEL in outcome.message and "already exists" in outcome.message
    assert f"HTTP {answer.status}" in outcome.message
    for option in ALREADY_EXISTS_HINT:
        assert option in outcome.hint
    assert outcome.actions == {WHEEL: "failed", SDIST: "not-attempted"}


@pytest.mark.parametrize("answer", TABLE_ROWS + WORDING_ROWS)
def test_already_exists_with_skip_existing_is_a_skip_with_an_unverified_warning(cli, index, release, answer):
    index.on("POST", UPLOAD_PATH, answer)

    outcome = upload(cli, index, *release, extra=("--skip-existing",))

    assert outcome.exit_code == 0, outcome.stderr
    assert posted(index) == [WHEEL, SDIST]
    assert outcome.actions == {WHEEL: "skipped", SDIST: "skipped"}
    assert len(outcome.warnings) == 2, outcome.stderr
    for filename, warning in zip((WHEEL, SDIST), outcome.warnings):
        assert filename in warning
        assert re.search(r"without comparing its content|not verified", warning), warning
    for item in outcome.report["files"]:
        assert "not verified" in item["reason"]
    assert outcome.errors == []


def test_skip_existing_uploads_what_is_new(cli, index, release):
    """Only the wheel is already there: it is skipped, the sdist is uploaded."""
    index.on("POST", UPLOAD_PATH, Reply(409, "Conflict"), Reply(200, "OK"))

    outcome = upload(cli, index, *release, extra=("--skip-existing",))

    assert outcome.exit_code == 0, outcome.stderr
    assert outcome.actions == {WHEEL: "skipped", SDIST: "uploaded"}
    assert len(outcome.warnings) == 1 and WHEEL in outcome.warnings[0]


# ---------------------------------------------------------------- credentials (SPEC sections 1 and 4)


def _netrc(home: Path, login: str, password: str, *, name: str = ".netrc") -> Path:
    path = home / name
    path.write_text(f"machine 127.0.0.1\n  login {login}\n  password {password}\n")
    path.chmod(0o600)
    return path


@dataclass(frozen=True)
class Given:
    """Where the upload credentials come from in one run; ``sent`` is the Authorization the POST must carry."""

    sent: str
    options: tuple[str, ...] = ()
    env: dict = field(default_factory=dict)
    netrc: Optional[tuple[str, str]] = None  # (login, password) for machine 127.0.0.1
    in_url: Optional[tuple[str, str]] = None  # (user, password) embedded in --publish-url


ALICE = f"alice:{CANARY}"
TOKEN = f"__token__:{CANARY}"
PUBTOOL_ENV = {"PUBTOOL_USERNAME": "alice", "PUBTOOL_PASSWORD": CANARY}
DECOY_NETRC = ("netrc-user", "netrc-password")

CREDENTIALS = [
    pytest.param(Given(ALICE, options=("-u", "alice", "-p", CANARY)), id="flags"),
    pytest.param(Given(ALICE, options=("--username", "alice", "--password", CANARY)), id="long-flags"),
    pytest.param(Given(TOKEN, options=("-t", CANARY)), id="token-flag"),
    pytest.param(Given(TOKEN, options=("--token", CANARY, "-u", "__token__")), id="token-and-user-__token__"),
    pytest.param(Given(TOKEN, options=("-p", CANARY)), id="lone-password-is-a-token"),
    pytest.param(Given(ALICE, env=PUBTOOL_ENV), id="pubtool-env"),
    pytest.param(Given(ALICE, env={"TWINE_USERNAME": "alice", "TWINE_PASSWORD": CANARY}), id="twine-env"),
    pytest.param(Given(TOKEN, env={"PUBTOOL_TOKEN": CANARY}), id="token-env"),
    pytest.param(Given(ALICE, in_url=("alice", CANARY)), id="in-the-url"),
    pytest.param(Given(f"{ALICE}@:/%", in_url=("alice", f"{CANARY}@:/%")), id="in-the-url-percent-encoded"),
    pytest.param(Given(ALICE, netrc=("alice", CANARY)), id="netrc"),
    # precedence: a flag beats its env var, which beats the URL, which beats ~/.netrc
    pytest.param(
        Given(ALICE, options=("-u", "alice", "-p", CANARY), env={"PUBTOOL_USERNAME": "env", "PUBTOOL_PASSWORD": "env"}),
        id="flag-beats-env",
    ),
    pytest.param(Given(TOKEN, options=("-t", CANARY), env={"PUBTOOL_TOKEN": "env-token"}), id="token-flag-beats-env"),
    pytest.param(
        Given(ALICE, env={**PUBTOOL_ENV, "TWINE_USERNAME": "twine", "TWINE_PASSWORD": "twine"}),
        id="pubtool-env-beats-twine-env",
    ),
    pytest.param(
        Given(ALICE, options=("-u", "alice", "-p", CANARY), in_url=("bob", "url-password")), id="flag-beats-url"
    ),
    pytest.param(Given(ALICE, env=PUBTOOL_ENV, netrc=DECOY_NETRC), id="env-beats-netrc"),
    # across -u/-p and -t too: what is typed on the command line beats an env var
    pytest.param(
        Given(ALICE, options=("-u", "alice", "-p", CANARY), env={"PUBTOOL_TOKEN": "env-token"}),
        id="user-flags-beat-token-env",
    ),
    pytest.param(
        Given(TOKEN, options=("-t", CANARY), env={"TWINE_USERNAME": "twine", "TWINE_PASSWORD": "twine"}),
        id="token-flag-beats-user-env",
    ),
    pytest.param(Given(ALICE, in_url=("alice", CANARY), netrc=DECOY_NETRC), id="url-beats-netrc"),
]


@pytest.mark.parametrize("given", CREDENTIALS)
def test_credentials_reach_the_post(cli, index, wheel, isolated_environment, monkeypatch, given):
    for name, value in given.env.items():
        monkeypatch.setenv(name, value)
    if given.netrc:
        _netrc(isolated_environment, *given.netrc)
    url = index.url
    secrets: tuple[str, ...] = ()
    if given.in_url:
        user, password = given.in_url
        url = url.replace("http://", f"http://{user}:{quote(password, safe='')}@")
        secrets = (quote(password, safe=""),)

    outcome = run(
        cli, "upload", "--publish-url", f"{url}{UPLOAD_PATH}", "--retries", "0", "--verbose", "--json", *given.options,
        wheel, secrets=secrets,
    )  # fmt: skip

    assert outcome.exit_code == 0, outcome.stderr
    assert [r.authorization for r in index.matching("POST")] == [given.sent]
    assert outcome.report["publish_url"] == f"{index.url}{UPLOAD_PATH}"


def test_netrc_named_by_the_netrc_env_var(cli, index, wheel, tmp_path, monkeypatch):
    monkeypatch.setenv("NETRC", str(_netrc(tmp_path, "alice", CANARY, name="credentials")))

    outcome = upload(cli, index, wheel, credentials=False)

    assert outcome.exit_code == 0, outcome.stderr
    assert index.matching("POST")[0].authorization == f"alice:{CANARY}"


def test_netrc_of_another_host_is_not_used(cli, index, wheel, isolated_environment):
    (isolated_environment / ".netrc").write_text(f"machine pypi.example.org login alice password {CANARY}\n")

    outcome = upload(cli, index, wheel, credentials=False)

    assert outcome.exit_code == 0, outcome.stderr
    assert index.matching("POST")[0].authorization is None


def test_no_credentials_sends_no_authorization_and_never_prompts(cli, index, wheel, monkeypatch):
    monkeypatch.delenv("CI", raising=False)  # no TTY alone must be enough not to prompt

    outcome = upload(cli, index, wheel, credentials=False)

    assert outcome.exit_code == 0, outcome.stderr
    (request,) = index.matching("POST")
    assert "authorization" not in request.headers
    assert "Username" not in outcome.stderr and "Password" not in outcome.stderr
    assert outcome.actions == {WHEEL: "uploaded"}


# ---------------------------------------------------------------- the JSON report (SPEC section 7)


def test_json_report_of_a_successful_run(cli, index, release):
    wheel, sdist = release

    outcome = upload(cli, index, sdist, wheel)

    assert outcome.exit_code == 0, outcome.stderr
    report = outcome.report
    assert set(report) == REPORT_KEYS
    assert report["publish_url"] == f"{index.url}{UPLOAD_PATH}"
    assert report["check_url"] is None
    assert report["dry_run"] is False
    assert report["exit_code"] == 0
    assert [item["filename"] for item in report["files"]] == [WHEEL, SDIST]  # upload order
    for item, dist in zip(report["files"], (wheel, sdist)):
        assert set(item) == FILE_KEYS
        assert item["path"] == str(dist)
        assert item["project"] == "demo-pkg"
        assert item["version"] == "1.0"
        assert item["size"] == dist.stat().st_size
        assert item["sha256"] == sha256(dist)
        assert item["action"] == "uploaded"
        assert item["reason"] is None
        assert isinstance(item["seconds"], float) and item["seconds"] >= 0
    assert "{" not in outcome.stderr  # the report is on stdout only


def test_json_report_of_a_failed_run(cli, index, release):
    wheel, sdist = release
    index.on("POST", UPLOAD_PATH, Reply(500, "Internal Server Error"))

    outcome = upload(cli, index, wheel, sdist)

    assert outcome.exit_code == 1
    report = outcome.report
    assert set(report) == REPORT_KEYS | {"error"}
    assert report["exit_code"] == 1
    failed, not_attempted = report["files"]
    assert set(failed) == set(not_attempted) == FILE_KEYS
    assert (failed["filename"], failed["action"]) == (WHEEL, "failed")
    assert "HTTP 500" in failed["reason"]
    assert failed["sha256"] == sha256(wheel)
    assert not_attempted["filename"] == SDIST
    assert (not_attempted["action"], not_attempted["reason"]) == ("not-attempted", None)
    assert not_attempted["size"] == sdist.stat().st_size
    assert report["error"]["message"] == outcome.message
    assert report["error"]["hint"] == outcome.hint


# ---------------------------------------------------------------- --dry-run, --quiet, --verbose


def test_dry_run_sends_nothing_and_reports_would_upload(cli, index, release):
    outcome = upload(cli, index, *release, extra=("--dry-run",))

    assert outcome.exit_code == 0, outcome.stderr
    assert index.requests == []
    assert outcome.report["dry_run"] is True
    assert outcome.actions == {WHEEL: "would-upload", SDIST: "would-upload"}
    assert "dry run" in outcome.stderr


def test_quiet_prints_nothing_on_success(cli, index, release):
    outcome = upload(cli, index, *release, json_report=False, extra=("-q",))

    assert outcome.exit_code == 0
    assert index.count("POST") == 2
    assert outcome.stdout == ""
    assert outcome.stderr == ""


def test_quiet_still_prints_the_error(cli, index, wheel):
    index.on("POST", UPLOAD_PATH, Reply(403, "Forbidden"))

    outcome = upload(cli, index, wheel, json_report=False, extra=("--quiet",))

    assert outcome.exit_code == 1
    assert outcome.stdout == ""
    assert [line.split(":")[0] for line in outcome.stderr.splitlines()] == ["error", "hint"]
    assert CREDENTIALS_HINT in outcome.hint


REQUEST_LINE = re.compile(r"^(?P<method>[A-Z]+) (?P<url>\S+) -> (?P<status>\d{3}) \(\d+\.\d{3} s\)$")


# (replies of POST /legacy, --retries, exit code, (path, status) of each request line)
VERBOSE = [
    pytest.param([Reply(200)], 0, 0, [(UPLOAD_PATH, 200)], id="one-request"),
    pytest.param([Reply(500), Reply(200)], 1, 0, [(UPLOAD_PATH, 500), (UPLOAD_PATH, 200)], id="retried"),
    pytest.param([Reply(403)], 2, 1, [(UPLOAD_PATH, 403)], id="refused"),
]


@pytest.mark.parametrize("replies, retries, exit_code, lines", VERBOSE)
def test_verbose_prints_one_line_per_request(cli, index, wheel, replies, retries, exit_code, lines):
    index.on("POST", UPLOAD_PATH, *replies)

    outcome = upload(cli, index, wheel, retries=retries, json_report=False, extra=("-v",))

    assert outcome.exit_code == exit_code
    logged = [REQUEST_LINE.match(line) for line in outcome.stderr.splitlines() if REQUEST_LINE.match(line)]
    assert len(logged) == index.count() == len(lines), outcome.stderr
    for match, (path, status) in zip(logged, lines):
        assert match["method"] == "POST"
        assert match["url"] == f"{index.url}{path}"
        assert int(match["status"]) == status


def test_verbose_logs_the_redirect_and_the_resent_request(cli, index, wheel):
    index.on("POST", "/legacy", Reply(308, headers={"Location": "/legacy/"}))

    outcome = upload(cli, index, wheel, path="/legacy", json_report=False, extra=("--verbose",))

    assert outcome.exit_code == 0, outcome.stderr
    logged = [(m["url"], m["status"]) for m in map(REQUEST_LINE.match, outcome.stderr.splitlines()) if m]
    assert logged == [(f"{index.url}/legacy", "308"), (f"{index.url}/legacy/", "200")]


def test_verbose_never_prints_url_credentials(cli, index, wheel):
    url = index.url.replace("http://", f"http://{UPLOADER}:{CANARY}@")

    outcome = run(cli, "upload", "--publish-url", f"{url}{UPLOAD_PATH}", "--retries", "0", "-v", wheel)

    assert outcome.exit_code == 0, outcome.stderr
    assert index.matching("POST")[0].authorization == UPLOAD_AUTH
    logged = [m["url"] for m in map(REQUEST_LINE.match, outcome.stderr.splitlines()) if m]
    assert logged == [f"{index.url}{UPLOAD_PATH}"]

