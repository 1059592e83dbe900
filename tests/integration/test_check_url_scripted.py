"""The check URL against answers real index servers cannot be made to give.

One ScriptedServer is both the check URL (``/simple/``) and the upload URL
(``/legacy/``, answering 200 unless a test says otherwise). Every test runs
``pubtool upload --verbose --json`` with CANARY as every password and asserts
the exit code, what the user reads on stderr, the JSON report, and what the
server received and did not receive (SPEC sections 3, 4 and 8).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Callable, Optional

import pytest

from tests.conftest import CANARY
from tests.integration.helpers import Outcome, posted, run
from tests.distfactory import make_sdist, make_wheel
from tests.servers.scripted import Recorded, Reply, ScriptedServer, simple_html

READER = "reader"
UPLOADER = "uploader"
READ_AUTH = f"{READER}:{CANARY}"
UPLOAD_AUTH = f"{UPLOADER}:{CANARY}"

WHEEL = "demo_pkg-1.0-py3-none-any.whl"
SDIST = "demo_pkg-1.0.tar.gz"
PAGE = "/simple/demo-pkg/"
UPLOAD_PATH = "/legacy/"

SIMPLE_ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
JSON_TYPE = "application/vnd.pypi.simple.v1+json"
OCTET_STREAM = {"Content-Type": "application/octet-stream"}
LOGIN_FORM = (
    "<!DOCTYPE html><html><head><title>Sign in</title></head><body>"
    '<form method="post" action="/login"><input name="username">'
    '<input type="password" name="password"><button>Sign in</button></form></body></html>'
)


# ---------------------------------------------------------------- helpers


def publish(
    cli,
    server: ScriptedServer,
    *paths: Path,
    check_url: Optional[str] = None,
    read: bool = True,
    write: bool = True,
    retries: int = 0,
    extra: tuple[str, ...] = (),
) -> Outcome:
    """``pubtool upload --verbose --json`` to ``server``; CANARY is every password and never printed."""
    args = [
        "upload",
        "--publish-url", f"{server.url}{UPLOAD_PATH}",
        "--check-url", check_url or f"{server.url}/simple/",
        "--retries", str(retries),
        "--timeout", "5",
        "--verbose",
        "--json",
    ]  # fmt: skip
    if write:
        args += ["-u", UPLOADER, "-p", CANARY]
    if read:
        args += ["--check-username", READER, "--check-password", CANARY]
    # run(): no secret, traceback or warning in the output; the JSON report (printed on
    # failure too, SPEC section 7) agrees with the exit code
    return run(cli, *args, *extra, *paths)


def digest(data: bytes, algorithm: str = "sha256") -> str:
    return hashlib.new(algorithm, data).hexdigest()


def html_page(files: dict[str, Optional[str]], *, base: str = "", algorithm: str = "sha256") -> Reply:
    body = simple_html(files, base=base, hash_algorithm=algorithm)
    return Reply(200, body, {"Content-Type": "text/html; charset=utf-8"})


def json_page(files: dict[str, dict[str, str]], *, base: str = "/files/") -> Reply:
    """A PEP 691 project page: filename -> its ``hashes`` dict."""
    body = {
        "meta": {"api-version": "1.1"},
        "name": "demo-pkg",
        "versions": ["1.0"],
        "files": [{"filename": name, "url": base + name, "hashes": hashes} for name, hashes in files.items()],
    }
    return Reply(200, json.dumps(body), {"Content-Type": JSON_TYPE})


def listing(page_format: str, files: dict[str, str], algorithm: str = "sha256") -> Reply:
    """A project page in ``page_format`` listing filename -> digest with ``algorithm``."""
    if page_format == "json":
        return json_page({name: {algorithm: value} for name, value in files.items()})
    return html_page(files, base="/files/", algorithm=algorithm)


def only_with(auth: str, reply: Reply) -> Callable[[Recorded], Reply]:
    """Serve ``reply`` to requests carrying ``auth``; others get the login form an SSO proxy would show."""

    def answer(request: Recorded) -> Reply:
        return reply if request.authorization == auth else Reply(200, LOGIN_FORM)

    return answer


def different_build(tmp_path: Path) -> bytes:
    """The bytes of a wheel with the local wheel's name but different content."""
    directory = tmp_path / "other-build"
    directory.mkdir(exist_ok=True)
    return make_wheel(directory, payload=b"a different build of the same version").read_bytes()


class ResettableServer(ScriptedServer):
    """A ScriptedServer shared by the module: ``reset`` forgets scripts and recorded requests.

    Stopping a server costs half a second (``serve_forever``'s poll interval), so the
    module shares one, as STYLE section 4 asks for the real servers.
    """

    def reset(self) -> None:
        with self._lock:
            self._scripts.clear()
            self.requests.clear()


@pytest.fixture(scope="module")
def shared_server():
    with ResettableServer() as server:
        yield server


@pytest.fixture
def index(shared_server: ResettableServer) -> ResettableServer:
    """The scripted server, reset, with an upload endpoint that accepts every file."""
    shared_server.reset()
    shared_server.on("POST", UPLOAD_PATH, Reply(200, "OK"))
    return shared_server


@pytest.fixture
def release(dist_dir: Path) -> tuple[Path, Path]:
    """demo-pkg 1.0: a wheel and an sdist."""
    return make_wheel(dist_dir), make_sdist(dist_dir)


def assert_auth_hint(outcome: Outcome, check_root: str) -> None:
    """The hint names the (redacted) check URL and both ways out."""
    assert len(outcome.hints) == 1, outcome.stderr
    hint = outcome.hints[0]
    assert check_root in hint
    assert "--check-username/--check-password" in hint
    assert "--allow-check-auth-failure" in hint


# ---------------------------------------------------------------- the check URL says "no" (exit 3)

# (reply to GET /simple/demo-pkg/, text the error and the lenient warning must show)
AUTH_FAILURES = [
    pytest.param(Reply(401, "Unauthorized", {"WWW-Authenticate": 'Basic realm="pypi"'}), "answered 401", id="401"),
    pytest.param(Reply(403, "Forbidden"), "answered 403", id="403"),
    pytest.param(
        Reply(302, headers={"Location": "/login?next=/simple/demo-pkg/"}), "redirected (302)", id="302-to-login"
    ),
    pytest.param(
        Reply(303, headers={"Location": "https://sso.example.invalid/login?next=/simple/demo-pkg/"}),
        "redirected (303)",
        id="303-to-other-host",
    ),
    pytest.param(Reply(200, LOGIN_FORM), "login page", id="200-login-form"),
]


@pytest.mark.parametrize("reply, said", AUTH_FAILURES)
def test_check_url_refusal_is_exit_3_and_nothing_is_uploaded(cli, index, release, reply, said):
    index.on("GET", PAGE, reply)

    outcome = publish(cli, index, *release)

    assert index.count("POST") == 0
    assert index.count("GET", "/login") == 0  # the login page itself is never fetched
    assert [r.authorization for r in index.matching("GET")] == [READ_AUTH]  # read credentials were offered
    assert outcome.exit_code == 3
    assert f"{index.url}{PAGE}" in outcome.message
    assert said in outcome.message
    assert "nothing was uploaded" in outcome.message
    assert_auth_hint(outcome, f"{index.url}/simple/")
    assert outcome.report["check_url"] == f"{index.url}/simple/"
    assert outcome.actions == {WHEEL: "not-attempted", SDIST: "not-attempted"}
    assert outcome.report["error"]["message"] == outcome.message


@pytest.mark.parametrize("reply, said", AUTH_FAILURES)
def test_allow_check_auth_failure_warns_once_then_uploads_everything(cli, index, release, reply, said):
    index.on("GET", PAGE, reply)

    outcome = publish(cli, index, *release, extra=("--allow-check-auth-failure",))

    assert outcome.exit_code == 0, outcome.stderr
    assert len(outcome.warnings) == 1, outcome.stderr
    assert said in outcome.warnings[0]
    assert f"{index.url}{PAGE}" in outcome.warnings[0]
    assert "--allow-check-auth-failure" in outcome.warnings[0]
    assert outcome.errors == []
    assert index.count("GET", PAGE) == 1
    assert posted(index) == [WHEEL, SDIST]
    assert [r.authorization for r in index.matching("POST")] == [UPLOAD_AUTH, UPLOAD_AUTH]
    assert outcome.actions == {WHEEL: "uploaded", SDIST: "uploaded"}


def forbidden_unless_known(request: Recorded) -> Reply:
    """download.pytorch.org style: 403 means "no such project"; known projects are public."""
    if request.path == "/simple/known-pkg/":
        return html_page({"known_pkg-0.9-py3-none-any.whl": "ab" * 32}, base="/files/")
    return Reply(403, "Forbidden")


@pytest.mark.parametrize("lenient", [False, True], ids=["default", "allow-check-auth-failure"])
def test_403_for_an_unknown_project_is_still_an_auth_failure(cli, index, dist_dir, lenient):
    known = make_wheel(dist_dir, name="known-pkg", version="1.0")
    new = make_wheel(dist_dir, name="demo-pkg", version="1.0")
    index.on("GET", "/simple/*", forbidden_unless_known)

    outcome = publish(cli, index, known, new, extra=("--allow-check-auth-failure",) if lenient else ())

    assert index.count("GET", "/simple/known-pkg/") == 1
    assert index.count("GET", PAGE) == 1
    if not lenient:
        assert outcome.exit_code == 3
        assert index.count("POST") == 0
        assert f"{index.url}{PAGE}" in outcome.message and "403" in outcome.message
        assert_auth_hint(outcome, f"{index.url}/simple/")
        assert set(outcome.actions.values()) == {"not-attempted"}
    else:
        assert outcome.exit_code == 0, outcome.stderr
        assert len(outcome.warnings) == 1 and "403" in outcome.warnings[0]
        assert posted(index) == [known.name, new.name]  # as if no check URL was given


def test_check_url_credentials_in_the_url_are_never_printed(cli, index, release):
    index.on("GET", PAGE, Reply(403, "Forbidden"))
    with_secret = index.url.replace("http://", f"http://{READER}:{CANARY}@")

    outcome = publish(cli, index, *release, check_url=f"{with_secret}/simple/", read=False)

    assert index.matching("GET", PAGE)[0].authorization == READ_AUTH  # URL credentials were used
    assert outcome.exit_code == 3
    assert index.count("POST") == 0
    shown = re.escape(index.url).replace("http://", rf"http://({READER}:\*\*\*@)?") + re.escape(PAGE)
    assert re.search(shown, outcome.message), outcome.message  # the URL, redacted or without credentials
    assert CANARY not in json.dumps(outcome.report)


# ---------------------------------------------------------------- redirects and check URL shapes


@pytest.mark.parametrize(
    "location, final_path",
    [
        pytest.param("/simple/Demo_Pkg/", "/simple/Demo_Pkg/", id="301-to-unnormalised-name"),
        pytest.param("/simple/demo-pkg", "/simple/demo-pkg", id="301-without-trailing-slash"),
        pytest.param("{root}/simple/demo_pkg/", "/simple/demo_pkg/", id="301-absolute-same-realm"),
    ],
)
def test_redirect_under_the_check_url_is_followed(cli, index, release, location, final_path):
    wheel, sdist = release
    index.on("GET", PAGE, Reply(301, headers={"Location": location.format(root=index.url)}))
    index.on("GET", final_path, html_page({WHEEL: digest(wheel.read_bytes())}, base="/files/"))

    outcome = publish(cli, index, *release)

    assert outcome.exit_code == 0, outcome.stderr
    assert [r.path for r in index.matching("GET")] == [PAGE, final_path]
    assert index.matching("GET", final_path)[0].authorization == READ_AUTH
    assert posted(index) == [SDIST]
    assert outcome.actions == {WHEEL: "skipped", SDIST: "uploaded"}


@pytest.mark.parametrize("suffix", ["/simple/demo-pkg/", "/simple/demo-pkg", "/simple/Demo_Pkg/"])
def test_check_url_ending_in_the_project_name_queries_the_project_once(cli, index, release, suffix):
    index.on("GET", PAGE, Reply(404, "not found", {"Content-Type": "text/plain"}))

    outcome = publish(cli, index, *release, check_url=f"{index.url}{suffix}")

    assert outcome.exit_code == 0, outcome.stderr
    assert [r.path for r in index.matching("GET")] == [PAGE]
    assert "parent" in outcome.stderr and f"{index.url}/simple/" in outcome.stderr
    assert posted(index) == [WHEEL, SDIST]


def test_new_project_404_uploads_everything_after_one_simple_api_request(cli, index, release):
    index.on("GET", PAGE, Reply(404, "Not Found", {"Content-Type": "text/plain"}))

    outcome = publish(cli, index, *release)

    assert outcome.exit_code == 0, outcome.stderr
    (page_request,) = index.matching("GET")
    assert page_request.path == PAGE
    assert page_request.headers["accept"] == SIMPLE_ACCEPT
    assert posted(index) == [WHEEL, SDIST]
    wheel_post = index.matching("POST")[0]
    assert wheel_post.form()["content"] == [release[0].read_bytes()]
    assert outcome.actions == {WHEEL: "uploaded", SDIST: "uploaded"}


def test_one_request_per_project_whatever_the_number_of_files(cli, index, dist_dir):
    files = [
        make_sdist(dist_dir),
        make_wheel(dist_dir),
        make_wheel(dist_dir, tag="py2.py3-none-any"),
        make_wheel(dist_dir, name="other-pkg", version="2.0"),
    ]
    index.on("GET", "/simple/*", Reply(404, "Not Found"))

    outcome = publish(cli, index, *files)

    assert outcome.exit_code == 0, outcome.stderr
    assert sorted(r.path for r in index.matching("GET")) == ["/simple/demo-pkg/", "/simple/other-pkg/"]
    # each sdist after the wheels of its own release
    assert posted(index) == [
        "demo_pkg-1.0-py3-none-any.whl",
        "demo_pkg-1.0-py2.py3-none-any.whl",
        SDIST,
        "other_pkg-2.0-py3-none-any.whl",
    ]


# ---------------------------------------------------------------- the check URL fails (exit 1, never "no files")


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_transient_error_on_the_project_page_is_retried(cli, index, release, status):
    wheel, _ = release
    index.on("GET", PAGE, Reply(status, "try again"), html_page({WHEEL: digest(wheel.read_bytes())}))

    outcome = publish(cli, index, *release, retries=2)

    assert outcome.exit_code == 0, outcome.stderr
    assert index.count("GET", PAGE) == 2
    assert posted(index) == [SDIST]
    assert outcome.actions == {WHEEL: "skipped", SDIST: "uploaded"}


# (replies to GET /simple/demo-pkg/, --retries, GETs expected, text the error must show)
CHECK_FAILURES = [
    pytest.param([Reply(503, "Service Unavailable")], 2, 3, "answered HTTP 503", id="persistent-503"),
    pytest.param([Reply(400, "Bad Request")], 2, 1, "answered HTTP 400", id="400-not-retried"),
    pytest.param(
        [Reply(200, b"\x00PK\x03\x04 binary", OCTET_STREAM)], 0, 1, "did not answer with a simple index page",
        id="200-octet-stream",
    ),
    pytest.param(
        [Reply(200, "{not json", {"Content-Type": JSON_TYPE})], 0, 1, "did not answer with a simple index page",
        id="200-broken-json",
    ),
    pytest.param(
        [Reply(200, '{"detail": "ok"}', {"Content-Type": "application/json"})], 0, 1,
        "did not answer with a simple index page", id="200-json-without-files",
    ),
    pytest.param(
        [Reply(302, headers={"Location": "/simple/demo-pkg/"})], 0, 6, "redirected more than", id="redirect-loop",
    ),
]  # fmt: skip


@pytest.mark.parametrize("replies, retries, gets, said", CHECK_FAILURES)
def test_check_url_failure_is_exit_1_and_never_no_files(cli, index, release, replies, retries, gets, said):
    index.on("GET", PAGE, *replies)

    outcome = publish(cli, index, *release, retries=retries)

    assert outcome.exit_code == 1
    assert index.count("GET", PAGE) == gets
    assert index.count("POST") == 0
    assert "check URL" in outcome.message and f"{index.url}{PAGE}" in outcome.message
    assert said in outcome.message
    assert "no files" not in outcome.stderr.lower()
    assert outcome.actions == {WHEEL: "not-attempted", SDIST: "not-attempted"}


# ---------------------------------------------------------------- hashes on the page


@pytest.mark.parametrize("page_format", ["json", "html"])
@pytest.mark.parametrize("algorithm", ["sha256", "md5"])
def test_listed_identical_file_is_skipped_and_only_the_rest_uploaded(cli, index, release, page_format, algorithm):
    wheel, _ = release
    index.on("GET", PAGE, listing(page_format, {WHEEL: digest(wheel.read_bytes(), algorithm)}, algorithm))

    outcome = publish(cli, index, *release)

    assert outcome.exit_code == 0, outcome.stderr
    assert index.count("GET", "/files/") == 0  # the listed hash was enough
    assert posted(index) == [SDIST]
    assert outcome.actions == {WHEEL: "skipped", SDIST: "uploaded"}


@pytest.mark.parametrize("page_format", ["json", "html"])
@pytest.mark.parametrize("algorithm", ["sha256", "md5"])
def test_listed_different_file_is_a_conflict_and_nothing_is_uploaded(
    cli, index, release, tmp_path, page_format, algorithm
):
    wheel, _ = release
    local = digest(wheel.read_bytes(), algorithm)
    remote = digest(different_build(tmp_path), algorithm)
    index.on("GET", PAGE, listing(page_format, {WHEEL: remote}, algorithm))

    outcome = publish(cli, index, *release)

    assert outcome.exit_code == 4
    assert index.count("POST") == 0
    assert WHEEL in outcome.message and "nothing was uploaded" in outcome.message
    assert local[:16] in outcome.stderr and remote[:16] in outcome.stderr  # both hashes shown
    assert outcome.actions == {WHEEL: "conflict", SDIST: "not-attempted"}
    assert remote[:16] in outcome.report["files"][0]["reason"]


# ---------------------------------------------------------------- files listed without a hash are downloaded

# (check URL path, project page path, page builder, path the file is fetched from)
DOWNLOAD_LAYOUTS = [
    pytest.param(
        "/simple/", PAGE, lambda: html_page({WHEEL: None}, base="/files/"), f"/files/{WHEEL}", id="html-files"
    ),
    pytest.param(
        "/root/dev/+simple/",
        "/root/dev/+simple/demo-pkg/",
        lambda: html_page({WHEEL: None}, base="../../+f/3a1/0c2d4e5f6a7b8/"),
        f"/root/dev/+f/3a1/0c2d4e5f6a7b8/{WHEEL}",
        id="devpi-relative",
    ),
    pytest.param("/simple/", PAGE, lambda: json_page({WHEEL: {}}), f"/files/{WHEEL}", id="json-empty-hashes"),
]


@pytest.mark.parametrize("identical", [True, False], ids=["identical", "different"])
@pytest.mark.parametrize("check_path, page_path, page, file_path", DOWNLOAD_LAYOUTS)
def test_file_without_hash_is_downloaded_with_read_credentials_and_compared(
    cli, index, release, tmp_path, check_path, page_path, page, file_path, identical
):
    wheel, _ = release
    served = wheel.read_bytes() if identical else different_build(tmp_path)
    index.on("GET", page_path, page())
    index.on("GET", file_path, only_with(READ_AUTH, Reply(200, served, OCTET_STREAM)))

    outcome = publish(cli, index, *release, check_url=f"{index.url}{check_path}")

    assert [r.path for r in index.matching("GET")] == [page_path, file_path]
    assert [r.authorization for r in index.matching("GET")] == [READ_AUTH, READ_AUTH]
    if identical:
        assert outcome.exit_code == 0, outcome.stderr
        assert posted(index) == [SDIST]
        assert outcome.actions == {WHEEL: "skipped", SDIST: "uploaded"}
    else:
        assert outcome.exit_code == 4
        assert index.count("POST") == 0
        assert WHEEL in outcome.message
        assert digest(wheel.read_bytes())[:16] in outcome.stderr and digest(served)[:16] in outcome.stderr
        assert outcome.actions == {WHEEL: "conflict", SDIST: "not-attempted"}


# (reply to GET of the file link, text the error and the lenient warning must show)
FILE_REFUSALS = [
    pytest.param(Reply(200, LOGIN_FORM), "login page", id="200-login-form"),
    pytest.param(Reply(403, "package read forbidden", {"Content-Type": "text/plain"}), "403", id="403"),
    pytest.param(Reply(401, "Unauthorized", {"WWW-Authenticate": 'Basic realm="files"'}), "401", id="401"),
]


@pytest.mark.parametrize("file_reply, said", FILE_REFUSALS)
def test_file_link_refusing_the_download_is_exit_3(cli, index, release, file_reply, said):
    index.on("GET", PAGE, html_page({WHEEL: None}, base="/files/"))
    index.on("GET", f"/files/{WHEEL}", file_reply)

    outcome = publish(cli, index, *release)

    assert outcome.exit_code == 3
    assert index.count("POST") == 0
    assert index.matching("GET", "/files/")[0].authorization == READ_AUTH
    assert WHEEL in outcome.message and said in outcome.message
    assert f"{index.url}/files/{WHEEL}" in outcome.message
    assert set(outcome.actions.values()) == {"not-attempted"}
    # SPEC 3.4: the hint names the check URL, where read credentials are configured.
    assert_auth_hint(outcome, f"{index.url}/simple/")


@pytest.mark.parametrize("file_reply, said", FILE_REFUSALS)
def test_allow_check_auth_failure_also_covers_a_refused_file_link(cli, index, release, file_reply, said):
    # devpi answers 403 "package read forbidden" on +f links where reading is restricted
    # (INDEX-SERVERS.md); the lenient flag is the documented way through.
    index.on("GET", PAGE, html_page({WHEEL: None}, base="/files/"))
    index.on("GET", f"/files/{WHEEL}", file_reply)

    outcome = publish(cli, index, *release, extra=("--allow-check-auth-failure",))

    assert outcome.errors == [], outcome.stderr
    assert outcome.exit_code == 0
    assert len(outcome.warnings) == 1, outcome.stderr
    assert said in outcome.warnings[0] and WHEEL in outcome.warnings[0]
    assert posted(index) == [WHEEL, SDIST]  # as if no check URL was given
    assert outcome.actions == {WHEEL: "uploaded", SDIST: "uploaded"}


@pytest.mark.parametrize("via_redirect", [False, True], ids=["direct-link", "redirect-to-cdn"])
def test_credentials_never_go_to_a_file_link_on_another_port(cli, index, release, via_redirect):
    wheel, _ = release
    with ScriptedServer() as cdn:
        cdn.on("GET", f"/files/{WHEEL}", Reply(200, wheel.read_bytes(), OCTET_STREAM))
        if via_redirect:
            index.on("GET", PAGE, html_page({WHEEL: None}, base="/files/"))
            index.on("GET", f"/files/{WHEEL}", Reply(302, headers={"Location": f"{cdn.url}/files/{WHEEL}"}))
        else:
            index.on("GET", PAGE, html_page({WHEEL: None}, base=f"{cdn.url}/files/"))

        outcome = publish(cli, index, *release)

    (download,) = cdn.requests
    assert download.path == f"/files/{WHEEL}"
    assert "authorization" not in download.headers
    assert all(r.authorization == READ_AUTH for r in index.matching("GET"))
    assert outcome.exit_code == 0, outcome.stderr
    assert posted(index) == [SDIST]
    assert outcome.actions == {WHEEL: "skipped", SDIST: "uploaded"}


# ---------------------------------------------------------------- read vs upload credentials on one realm

# (publish() keyword arguments, Authorization expected on every GET, on every POST)
CREDENTIAL_CASES = [
    pytest.param(dict(read=True, write=True), READ_AUTH, UPLOAD_AUTH, id="read-and-upload"),
    pytest.param(dict(read=False, write=True), UPLOAD_AUTH, UPLOAD_AUTH, id="upload-only-serves-both"),
    pytest.param(dict(read=True, write=False), READ_AUTH, None, id="read-only-never-posted"),
    pytest.param(dict(read=False, write=True, url_credentials=True), READ_AUTH, UPLOAD_AUTH, id="read-in-check-url"),
]


@pytest.mark.parametrize("options, get_auth, post_auth", CREDENTIAL_CASES)
def test_read_credentials_on_gets_upload_credentials_on_the_post(cli, index, release, options, get_auth, post_auth):
    wheel, _ = release
    index.on("GET", PAGE, html_page({WHEEL: None}, base="/files/"))
    index.on("GET", f"/files/{WHEEL}", Reply(200, wheel.read_bytes(), OCTET_STREAM))
    options = dict(options)  # the parametrize row is shared: do not mutate it
    if options.pop("url_credentials", False):
        options["check_url"] = index.url.replace("http://", f"http://{READER}:{CANARY}@") + "/simple/"

    outcome = publish(cli, index, *release, **options)

    assert outcome.exit_code == 0, outcome.stderr
    assert [r.path for r in index.matching("GET")] == [PAGE, f"/files/{WHEEL}"]
    assert [r.authorization for r in index.matching("GET")] == [get_auth, get_auth]
    assert posted(index) == [SDIST]
    assert [r.authorization for r in index.matching("POST")] == [post_auth]


# ---------------------------------------------------------------- reconciliation after "already exists"

ALREADY_EXISTS = [
    pytest.param(Reply(409, f"Package '{WHEEL}' already exists!", {"Content-Type": "text/plain"}), id="pypiserver-409"),
    pytest.param(
        Reply(400, "File already exists. See https://index.example.org/help/#file-name-reuse for more information."),
        id="pypi-400",
    ),
    pytest.param(Reply(409, f"{WHEEL} already exists in non-volatile index"), id="devpi-409"),
]


@pytest.mark.parametrize("answer", ALREADY_EXISTS)
@pytest.mark.parametrize(
    "second_look, exit_code, action",
    [("same", 0, "skipped"), ("different", 4, "conflict"), ("absent", 1, "failed")],
)
def test_already_exists_answer_is_reconciled_with_the_check_url(
    cli, index, dist_dir, tmp_path, answer, second_look, exit_code, action
):
    wheel = make_wheel(dist_dir)
    remote = {"same": wheel.read_bytes(), "different": different_build(tmp_path)}.get(second_look)
    after = html_page({WHEEL: digest(remote)}, base="/files/") if remote else Reply(404, "Not Found")
    # Not listed before the upload (an earlier attempt is still landing), listed when asked again.
    index.on("GET", PAGE, Reply(404, "Not Found"), after)
    index.on("POST", UPLOAD_PATH, answer)

    outcome = publish(cli, index, wheel)

    assert outcome.exit_code == exit_code, outcome.stderr
    assert posted(index) == [WHEEL]  # the upload is never re-sent
    assert index.count("GET", PAGE) == 2
    assert outcome.actions == {WHEEL: action}
    if second_look == "same":
        assert "earlier attempt" in outcome.report["files"][0]["reason"]
        assert outcome.errors == []
    elif second_look == "different":
        assert WHEEL in outcome.message
        assert digest(remote)[:16] in outcome.stderr and digest(wheel.read_bytes())[:16] in outcome.stderr
    else:
        assert WHEEL in outcome.message and "already exists" in outcome.message


# ---------------------------------------------------------------- dry run


def test_dry_run_checks_but_posts_nothing(cli, index, dist_dir):
    published = make_wheel(dist_dir)
    new = make_sdist(dist_dir)
    index.on("GET", PAGE, html_page({WHEEL: digest(published.read_bytes())}))

    outcome = publish(cli, index, published, new, extra=("--dry-run",))

    assert outcome.exit_code == 0, outcome.stderr
    assert index.count("GET", PAGE) == 1
    assert index.count("POST") == 0
    assert outcome.report["dry_run"] is True
    assert outcome.actions == {WHEEL: "skipped", SDIST: "would-upload"}
    assert re.search(rf"would-upload\s+{re.escape(SDIST)}", outcome.stderr)
