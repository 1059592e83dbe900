"""pubtool against a real devpi-server (SPEC sections 2-4 and 8; INDEX-SERVERS.md).

One devpi-server serves the whole module: tests are isolated by project names
with a random suffix, never by clearing the index. Every run is
``pubtool upload --verbose --json``; every run asserts that neither the account
password (CANARY) nor the login token shows up on stdout or stderr.

What devpi does that these tests rely on:

* an identical file uploaded again to a non-volatile index: 200 "Upload of
  identical file to non volatile index." (nothing stored);
  same filename, different content: 409 "<file> already exists in non-volatile index";
* a project page under a non-normalised name answers 302 to the normalised one;
* every write (an upload, a new project) increments the changelog serial that
  each answer carries in ``X-Devpi-Serial``: "nothing was uploaded" is checked as
  "the serial did not move", and devpi's per-file upload log counts the copies;
* ``--verbose`` prints one line per request, so the POSTs pubtool sent are counted
  from what the user sees, without mocking anything.

Not tested here, because devpi-server 6.20.3 cannot do it: reads that need
credentials. There is no ``acl_read`` index option; the only read restriction is
the ``pkg_read`` permission (a plugin hook, ``devpiserver_stage_get_principals_for_pkg_read``),
which guards ``+f`` file downloads only, never the ``+simple`` pages a check URL reads.
The check-URL 401/403 paths are covered against pypiserver and the scripted server.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Optional
from urllib.parse import urlsplit

import pytest
from packaging.utils import canonicalize_name

from tests.conftest import CANARY
from tests.integration.helpers import Outcome as RunOutcome
from tests.integration.helpers import run
from tests.distfactory import make_sdist, make_wheel
from tests.servers.devpi import DevpiServer
from tests.servers.scripted import Recorded, Reply

pytestmark = pytest.mark.devpi

VERSION = "1.0"
_REQUEST_LINE = re.compile(r"^(GET|HEAD|POST|PUT) (\S+) -> (\d{3}) \(")
_FILE_LINE = re.compile(r"^(uploaded|skipped|would-upload|conflict|failed)\s+(\S+) \(")


@pytest.fixture(scope="module")
def devpi():
    """One devpi-server for the module: user ``uploader`` (password CANARY), non-volatile index ``uploader/dev``."""
    with DevpiServer(CANARY) as server:
        yield server


# ---------------------------------------------------------------- helpers


@dataclass
class Outcome(RunOutcome):
    """The shared Outcome, plus what the ``--verbose`` and per-file lines say."""

    @property
    def requests(self) -> list[tuple[str, str, int]]:
        """(method, URL, status) of every request, from the ``--verbose`` lines."""
        found = (_REQUEST_LINE.match(line) for line in self.stderr.splitlines())
        return [(m[1], m[2], int(m[3])) for m in found if m]

    def sent(self, method: str) -> list[tuple[str, int]]:
        return [(url, status) for verb, url, status in self.requests if verb == method]

    def finished(self, action: str) -> list[str]:
        """Filenames of the per-file ``<action> <file> (...)`` lines, in the order printed."""
        found = (_FILE_LINE.match(line) for line in self.stderr.splitlines())
        return [m[2] for m in found if m and m[1] == action]


def secrets_of(devpi: DevpiServer) -> list[str]:
    """Everything that must never be printed: the account password and the login token (and its signature)."""
    assert devpi.token
    return [CANARY, devpi.token, devpi.token.rsplit(".", 1)[-1]]


def assert_no_secrets(devpi: DevpiServer, *outputs: str) -> None:
    for secret in secrets_of(devpi):
        for output in outputs:
            assert secret not in output, output


def publish(
    cli,
    devpi: DevpiServer,
    *paths: Path,
    check_url: Optional[str] = None,
    password: Optional[str] = None,
    publish_url: Optional[str] = None,
    credentials: bool = True,
    extra: tuple[str, ...] = (),
    env: Optional[dict] = None,
) -> Outcome:
    """``pubtool upload --verbose --json`` to devpi; the login token is the password unless told otherwise."""
    args = [
        "upload",
        "--publish-url", publish_url or devpi.upload_url,
        "--retries", "0",
        "--timeout", "30",
        "--verbose",
        "--json",
    ]  # fmt: skip
    if check_url is not None:
        args += ["--check-url", check_url]
    if credentials:
        args += ["-u", devpi.username, "-p", password or devpi.token]
    # run(): no secret, traceback or warning in the output; the JSON report agrees with the exit code
    outcome = run(cli, *args, *extra, *paths, env=env, secrets=tuple(secrets_of(devpi)))
    return Outcome(**vars(outcome))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def assert_on_index(devpi: DevpiServer, project: str, *expected: tuple[str, bytes]) -> None:
    """The project page lists exactly these files, once each, and devpi serves exactly these bytes."""
    listed = devpi.project_files(str(canonicalize_name(project)))
    assert sorted(entry.filename for entry in listed) == sorted(name for name, _ in expected)
    by_name = {entry.filename: entry for entry in listed}
    for filename, content in expected:
        entry = by_name[filename]
        assert entry.sha256 == sha256(content), filename
        assert sha256(devpi.download(entry.url)) == sha256(content), filename


def rebuilt(tmp_path: Path, maker, project: str) -> Path:
    """A file with the same name as ``maker`` makes for ``project`` but different content."""
    directory = tmp_path / "rebuilt"
    directory.mkdir(exist_ok=True)
    return maker(directory, project, VERSION, payload=b"a different build of the same version")


def relay(devpi: DevpiServer, *, accept: Optional[str] = None):
    """A ScriptedServer reply that forwards a GET to devpi (the same path) and returns devpi's answer.

    ``accept`` replaces the client's Accept header, as a cache that ignores it would.
    """

    def answer(request: Recorded) -> Reply:
        response = devpi.get(
            devpi.url.rstrip("/") + request.path,
            headers={"Accept": accept or request.headers.get("accept", "*/*")},
            allow_redirects=False,
        )
        headers = {"Content-Type": response.headers.get("Content-Type", "text/html")}
        if "Location" in response.headers:  # keep redirects on the relay
            headers["Location"] = urlsplit(response.headers["Location"]).path
        return Reply(response.status_code, response.content, headers)

    return answer


@pytest.fixture
def project() -> str:
    """A project name no other test uses on the shared server."""
    return f"demo-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def release(dist_dir: Path, project: str) -> tuple[Path, Path]:
    """``project`` 1.0: a wheel and an sdist."""
    return make_wheel(dist_dir, project, VERSION), make_sdist(dist_dir, project, VERSION)


@pytest.fixture
def published(cli, devpi: DevpiServer, release: tuple[Path, Path]) -> tuple[Path, Path]:
    """The release, already uploaded once (without a check URL)."""
    outcome = publish(cli, devpi, *release)
    assert outcome.exit_code == 0, outcome.stderr
    return release


# ---------------------------------------------------------------- (a) first upload


def test_first_upload_puts_byte_identical_files_on_the_index(cli, devpi, project, release):
    wheel, sdist = release
    serial = devpi.serial()

    outcome = publish(cli, devpi, sdist, wheel, check_url=devpi.simple_url)  # sdist first on the command line

    assert outcome.exit_code == 0, outcome.stderr
    assert outcome.errors == []
    assert outcome.actions == {wheel.name: "uploaded", sdist.name: "uploaded"}
    assert outcome.finished("uploaded") == [wheel.name, sdist.name]  # each sdist after its wheels
    # One look at the project page (a new project: 404), then one POST per file.
    assert outcome.sent("GET") == [(f"{devpi.simple_url}{project}/", 404)]
    assert outcome.sent("POST") == [(devpi.upload_url, 200), (devpi.upload_url, 200)]
    assert devpi.serial() > serial
    assert_on_index(devpi, project, (wheel.name, wheel.read_bytes()), (sdist.name, sdist.read_bytes()))
    assert devpi.uploads(project, VERSION) == {wheel.name: 1, sdist.name: 1}
    # The metadata went up with the files: pip reads Requires-Python from the page before downloading.
    assert {entry.requires_python for entry in devpi.project_files(project)} == {">=3.9"}
    release_data = devpi.versiondata(project, VERSION)
    assert release_data["name"] == project and release_data["version"] == VERSION
    assert release_data["summary"] == "A test package"
    assert release_data["requires_dist"] == ["requests>=2", "rich"]


# ---------------------------------------------------------------- (b) a re-run skips everything


def test_rerun_with_check_url_skips_every_file_and_sends_nothing(cli, devpi, project, published):
    wheel, sdist = published
    serial = devpi.serial()

    outcome = publish(cli, devpi, wheel, sdist, check_url=devpi.simple_url)

    assert outcome.exit_code == 0, outcome.stderr
    assert outcome.errors == []
    assert outcome.actions == {wheel.name: "skipped", sdist.name: "skipped"}
    assert sorted(outcome.finished("skipped")) == sorted([wheel.name, sdist.name])
    assert outcome.sent("GET") == [(f"{devpi.simple_url}{project}/", 200)]
    assert outcome.sent("POST") == []
    assert devpi.serial() == serial
    assert_on_index(devpi, project, (wheel.name, wheel.read_bytes()), (sdist.name, sdist.read_bytes()))
    assert devpi.uploads(project, VERSION) == {wheel.name: 1, sdist.name: 1}


def test_rerun_with_a_new_file_uploads_only_that_file(cli, devpi, project, dist_dir):
    wheel = make_wheel(dist_dir, project, VERSION)
    assert publish(cli, devpi, wheel).exit_code == 0
    sdist = make_sdist(dist_dir, project, VERSION)

    outcome = publish(cli, devpi, wheel, sdist, check_url=devpi.simple_url)

    assert outcome.exit_code == 0, outcome.stderr
    assert outcome.actions == {wheel.name: "skipped", sdist.name: "uploaded"}
    assert outcome.sent("POST") == [(devpi.upload_url, 200)]
    assert devpi.uploads(project, VERSION) == {wheel.name: 1, sdist.name: 1}


def test_dry_run_checks_but_sends_nothing(cli, devpi, project, dist_dir, tmp_path):
    wheel = make_wheel(dist_dir, project, VERSION)
    assert publish(cli, devpi, wheel).exit_code == 0
    sdist = make_sdist(dist_dir, project, VERSION)
    serial = devpi.serial()

    planned = publish(cli, devpi, wheel, sdist, check_url=devpi.simple_url, extra=("--dry-run",))
    changed = rebuilt(tmp_path, make_wheel, project)
    conflict = publish(cli, devpi, changed, check_url=devpi.simple_url, extra=("--dry-run",))

    assert planned.exit_code == 0, planned.stderr
    assert planned.actions == {wheel.name: "skipped", sdist.name: "would-upload"}
    assert conflict.exit_code == 4, conflict.stderr
    assert conflict.actions == {wheel.name: "conflict"}
    assert planned.sent("POST") == conflict.sent("POST") == []
    assert devpi.serial() == serial
    assert_on_index(devpi, project, (wheel.name, wheel.read_bytes()))


# ---------------------------------------------------------------- (c) a changed file is a conflict


def test_changed_file_with_check_url_is_a_conflict_and_nothing_is_uploaded(cli, devpi, project, dist_dir, tmp_path):
    wheel = make_wheel(dist_dir, project, VERSION)
    original = wheel.read_bytes()
    assert publish(cli, devpi, wheel).exit_code == 0
    changed = rebuilt(tmp_path, make_wheel, project)
    sdist = make_sdist(dist_dir, project, VERSION)  # new, but must not go up next to a conflict
    assert changed.name == wheel.name and changed.read_bytes() != original
    serial = devpi.serial()

    outcome = publish(cli, devpi, changed, sdist, check_url=devpi.simple_url)

    assert outcome.exit_code == 4, outcome.stderr
    assert wheel.name in outcome.message
    assert "nothing was uploaded" in outcome.message
    detail = [line for line in outcome.errors if line.startswith(f"{wheel.name}:")]
    assert len(detail) == 1, outcome.stderr
    assert sha256(changed.read_bytes()) in detail[0] and sha256(original) in detail[0]
    assert outcome.actions[wheel.name] == "conflict"
    assert outcome.actions[sdist.name] != "uploaded"
    assert outcome.sent("POST") == []
    assert devpi.serial() == serial
    assert_on_index(devpi, project, (wheel.name, original))


# ---------------------------------------------------------------- (d) devpi's own answers to a second upload


def test_identical_reupload_without_check_url_is_accepted(cli, devpi, project, published):
    """devpi answers 200 to an identical file on a non-volatile index and stores nothing."""
    wheel, sdist = published
    serial = devpi.serial()

    outcome = publish(cli, devpi, wheel, sdist)

    assert outcome.exit_code == 0, outcome.stderr
    assert outcome.errors == []
    # Both files are on the index: whether pubtool calls that "uploaded" or "skipped" is its choice.
    assert set(outcome.actions.values()) <= {"uploaded", "skipped"}
    assert outcome.sent("POST") == [(devpi.upload_url, 200), (devpi.upload_url, 200)]
    assert devpi.serial() == serial
    assert devpi.uploads(project, VERSION) == {wheel.name: 1, sdist.name: 1}
    assert_on_index(devpi, project, (wheel.name, wheel.read_bytes()), (sdist.name, sdist.read_bytes()))


def test_changed_file_without_check_url_fails_with_a_hint(cli, devpi, project, published, tmp_path):
    wheel, sdist = published
    original = wheel.read_bytes()
    changed = rebuilt(tmp_path, make_wheel, project)
    serial = devpi.serial()

    outcome = publish(cli, devpi, changed)

    assert outcome.exit_code == 1, outcome.stderr
    assert wheel.name in outcome.message
    assert "409" in outcome.message
    assert "already exists" in outcome.message
    assert len(outcome.hints) == 1, outcome.stderr
    assert "--check-url" in outcome.hints[0] and "--skip-existing" in outcome.hints[0]
    assert outcome.actions == {wheel.name: "failed"}
    assert outcome.sent("POST") == [(devpi.upload_url, 409)]
    assert devpi.serial() == serial
    assert_on_index(devpi, project, (wheel.name, original), (sdist.name, sdist.read_bytes()))


def test_409_error_quotes_devpi_once(cli, devpi, project, published, tmp_path):
    """The server's words appear once in the error line, not once from the reason and again from the body."""
    changed = rebuilt(tmp_path, make_wheel, project)

    outcome = publish(cli, devpi, changed)

    assert outcome.exit_code == 1, outcome.stderr
    assert outcome.message.count("already exists in non-volatile index") == 1, outcome.message


def test_changed_file_with_skip_existing_is_skipped_with_a_warning(cli, devpi, project, published, tmp_path):
    wheel, sdist = published
    original = wheel.read_bytes()
    changed = rebuilt(tmp_path, make_wheel, project)
    serial = devpi.serial()

    outcome = publish(cli, devpi, changed, extra=("--skip-existing",))

    assert outcome.exit_code == 0, outcome.stderr
    assert outcome.actions == {wheel.name: "skipped"}
    assert len(outcome.warnings) == 1, outcome.stderr
    assert wheel.name in outcome.warnings[0] and "content" in outcome.warnings[0]
    assert outcome.sent("POST") == [(devpi.upload_url, 409)]
    assert devpi.serial() == serial
    assert_on_index(devpi, project, (wheel.name, original), (sdist.name, sdist.read_bytes()))


def test_409_is_reconciled_through_the_check_url_into_a_conflict(cli, devpi, project, published, tmp_path, scripted):
    """The check URL is a cache in front of devpi that still has the project page from before the first upload.

    The first look says "new project", devpi answers 409 to the upload, and the
    second look (fresh) shows a different file: a conflict, not an upload error.
    """
    wheel, sdist = published
    original = wheel.read_bytes()
    changed = rebuilt(tmp_path, make_wheel, project)
    page = f"/{devpi.index_name}/+simple/{project}/"
    scripted.on("GET", page, Reply(404, "not found"), relay(devpi))
    check_url = f"{scripted.url}/{devpi.index_name}/+simple/"
    serial = devpi.serial()

    outcome = publish(cli, devpi, changed, check_url=check_url)

    assert outcome.exit_code == 4, outcome.stderr
    assert wheel.name in outcome.message
    assert outcome.actions == {wheel.name: "conflict"}
    assert outcome.sent("POST") == [(devpi.upload_url, 409)]
    assert outcome.sent("GET") == [(scripted.url + page, 404), (scripted.url + page, 200)]
    assert devpi.serial() == serial
    assert_on_index(devpi, project, (wheel.name, original), (sdist.name, sdist.read_bytes()))


def test_409_with_a_check_url_that_is_not_the_simple_index_fails_with_a_hint(cli, devpi, project, published, tmp_path):
    """A usual mistake: the index URL given as the check URL. devpi answers 404 there for every project."""
    wheel, sdist = published
    original = wheel.read_bytes()
    changed = rebuilt(tmp_path, make_wheel, project)
    serial = devpi.serial()

    outcome = publish(cli, devpi, changed, check_url=devpi.upload_url)

    assert outcome.exit_code == 1, outcome.stderr
    assert wheel.name in outcome.message and "409" in outcome.message
    assert len(outcome.hints) == 1, outcome.stderr
    assert "--check-url" in outcome.hints[0]
    assert outcome.sent("POST") == [(devpi.upload_url, 409)]
    assert devpi.serial() == serial
    assert_on_index(devpi, project, (wheel.name, original), (sdist.name, sdist.read_bytes()))


def test_simple_url_as_publish_url_fails_with_a_hint(cli, devpi, project, release):
    """The usual mistake: the +simple/ page given as the upload URL. devpi answers 404 to the POST, not 405."""
    wheel, _sdist = release
    serial = devpi.serial()

    outcome = publish(cli, devpi, wheel, publish_url=devpi.simple_url)

    assert outcome.exit_code == 1, outcome.stderr
    assert devpi.simple_url in outcome.message and "404" in outcome.message
    assert outcome.sent("POST") == [(devpi.simple_url, 404)]
    assert devpi.serial() == serial
    assert devpi.project_files(project) == []
    # SPEC section 3 step 5: a URL that is not an upload endpoint (probably the simple index URL): say so.
    assert len(outcome.hints) == 1, outcome.stderr
    assert "simple index" in outcome.hints[0]


def test_devpi_html_page_is_read_too(cli, devpi, project, published, tmp_path, scripted):
    """Through a cache that drops the Accept header, pubtool gets devpi's PEP 503 HTML page instead of JSON."""
    wheel, sdist = published
    scripted.on("GET", f"/{devpi.index_name}/+simple/*", relay(devpi, accept="text/html"))
    check_url = f"{scripted.url}/{devpi.index_name}/+simple/"
    serial = devpi.serial()

    same = publish(cli, devpi, wheel, sdist, check_url=check_url)
    changed = publish(cli, devpi, rebuilt(tmp_path, make_wheel, project), check_url=check_url)

    assert same.exit_code == 0, same.stderr
    assert same.actions == {wheel.name: "skipped", sdist.name: "skipped"}
    assert changed.exit_code == 4, changed.stderr
    assert changed.actions == {wheel.name: "conflict"}
    assert same.sent("POST") == changed.sent("POST") == []
    assert devpi.serial() == serial


# ---------------------------------------------------------------- (e) normalised names


def test_non_normalised_project_name_is_found_at_its_normalised_page(cli, devpi, dist_dir):
    name = f"My_Pkg.Foo_{uuid.uuid4().hex[:8]}"
    normalised = canonicalize_name(name)
    wheel = make_wheel(dist_dir, name, VERSION)
    sdist = make_sdist(dist_dir, name, VERSION, filename=f"{name}-{VERSION}.tar.gz")  # as old setuptools named them

    first = publish(cli, devpi, wheel, sdist, check_url=devpi.simple_url)
    again = publish(cli, devpi, wheel, sdist, check_url=devpi.simple_url)
    named = publish(cli, devpi, wheel, sdist, check_url=f"{devpi.simple_url}{name}/")  # the URL names the project

    page = f"{devpi.simple_url}{normalised}/"
    assert first.exit_code == 0, first.stderr
    assert first.actions == {wheel.name: "uploaded", sdist.name: "uploaded"}
    assert first.sent("GET") == [(page, 404)]
    # devpi keeps the files under the normalised project, and sends the other spelling there.
    assert_on_index(devpi, normalised, (wheel.name, wheel.read_bytes()), (sdist.name, sdist.read_bytes()))
    answer = devpi.get(f"{devpi.simple_url}{name}/", allow_redirects=False)
    assert answer.status_code == 302 and answer.headers["Location"] == page
    for outcome in (again, named):
        assert outcome.exit_code == 0, outcome.stderr
        assert outcome.actions == {wheel.name: "skipped", sdist.name: "skipped"}
        assert outcome.sent("GET") == [(page, 200)]  # one request, straight to the normalised page
        assert outcome.sent("POST") == []
    assert any(devpi.simple_url in note for note in named.notes), named.stderr


# ---------------------------------------------------------------- (f) secrets never show


def test_account_password_never_appears_in_any_output(cli, devpi, project, release, tmp_path):
    """CANARY is the account password (not the token) here, given every way pubtool accepts it."""
    wheel, sdist = release
    changed = rebuilt(tmp_path, make_wheel, project)
    in_url = devpi.upload_url.replace("http://", f"http://{devpi.username}:{CANARY}@")
    check_in_url = devpi.simple_url.replace("http://", f"http://{devpi.username}:{CANARY}@")
    env = {"PUBTOOL_USERNAME": devpi.username, "PUBTOOL_PASSWORD": CANARY}
    twine_env = {"TWINE_USERNAME": devpi.username, "TWINE_PASSWORD": CANARY}
    read = ("--check-username", devpi.username, "--check-password", CANARY)

    runs = {
        "options, uploads": (publish(cli, devpi, wheel, sdist, password=CANARY, check_url=devpi.simple_url), 0),
        "env, read options, skips": (
            publish(cli, devpi, wheel, sdist, credentials=False, env=env, check_url=devpi.simple_url, extra=read),
            0,
        ),
        "URLs, conflict": (
            publish(cli, devpi, changed, credentials=False, publish_url=in_url, check_url=check_in_url),
            4,
        ),
        "twine env, 409": (publish(cli, devpi, changed, credentials=False, env=twine_env), 1),
        "wrong password, 401": (publish(cli, devpi, changed, password=CANARY + "-wrong"), 1),
    }

    # publish() already asserted that no secret is on stdout or stderr; check the runs did what they should.
    for what, (outcome, expected) in runs.items():
        assert outcome.exit_code == expected, (what, outcome.stderr)
        assert CANARY not in json.dumps(outcome.report), what
    assert runs["options, uploads"][0].actions == {wheel.name: "uploaded", sdist.name: "uploaded"}
    assert runs["env, read options, skips"][0].actions == {wheel.name: "skipped", sdist.name: "skipped"}
    assert runs["URLs, conflict"][0].report["publish_url"] == devpi.upload_url
    assert runs["twine env, 409"][0].sent("POST") == [(devpi.upload_url, 409)]
    wrong = runs["wrong password, 401"][0]
    assert wrong.sent("POST") == [(devpi.upload_url, 401)]
    assert "credentials" in wrong.hints[0]
    assert_on_index(devpi, project, (wheel.name, wheel.read_bytes()), (sdist.name, sdist.read_bytes()))
