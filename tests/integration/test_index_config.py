"""``--index NAME`` end to end: pubtool.toml, [tool.pubtool] in pyproject.toml, ~/.pypirc (SPEC sections 1, 4, 5, 8; issue 4).

The ScriptedServer plays the index (publish URL ``/root/dev/``, check URL
``/root/dev/+simple/``, devpi's layout) and records every request, so each test
asserts where the upload went, which Authorization it carried, and which check
URL was queried. Config files are written into the isolated cwd and HOME that
conftest gives every test. The password is CANARY throughout (``helpers.run``
asserts it is printed nowhere).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import pytest

from tests.conftest import CANARY
from tests.distfactory import make_wheel
from tests.integration.helpers import UPLOAD_AUTH, UPLOADER, Outcome, posted, run
from tests.servers.scripted import Reply, ScriptedServer

UPLOAD_PATH = "/root/dev/"
CHECK_PATH = "/root/dev/+simple/"
PROJECT_PAGE = CHECK_PATH + "demo-pkg/"
WHEEL = "demo_pkg-1.0-py3-none-any.whl"
SOURCES = ("pubtool.toml", "pyproject.toml", ".pypirc")


# -- helpers ------------------------------------------------------------------------------


def config_path(source: str) -> Path:
    """Where ``source`` lives: pubtool.toml and pyproject.toml in the cwd, .pypirc in HOME."""
    return Path(os.environ["HOME"]) / ".pypirc" if source == ".pypirc" else Path.cwd() / source


def toml_index(name: str, publish_url: Optional[str], check_url: Optional[str], username: Optional[str]) -> str:
    lines = [f'name = "{name}"']
    if check_url:
        lines.append(f'url = "{check_url}"')
    if publish_url:
        lines.append(f'publish-url = "{publish_url}"')
    if username:
        lines.append(f'username = "{username}"')
    return "\n".join(lines) + "\n"


def write_index(
    source: str,
    *,
    publish_url: Optional[str],
    check_url: Optional[str] = None,
    username: Optional[str] = UPLOADER,
    name: str = "internal",
) -> Path:
    """Define one named index in ``source``; a .pypirc has no check URL (twine's format has none)."""
    path = config_path(source)
    if source == "pubtool.toml":
        text = "[[index]]\n" + toml_index(name, publish_url, check_url, username)
    elif source == "pyproject.toml":
        text = '[project]\nname = "demo"\n\n[[tool.pubtool.index]]\n' + toml_index(name, publish_url, check_url, username)
    else:
        assert check_url is None, ".pypirc cannot name a check URL"
        text = f"[distutils]\nindex-servers =\n    {name}\n\n[{name}]\nrepository = {publish_url}\n"
        text += f"username = {username}\n" if username else ""
    path.write_text(text)
    return path


def upload(cli, *args, env: Optional[dict] = None, secrets: tuple[str, ...] = ()) -> Outcome:
    return run(cli, "upload", "--retries", "0", "--timeout", "5", "--json", *args, env=env, secrets=secrets)


def authorizations(server: ScriptedServer, method: str) -> list[Optional[str]]:
    return [request.authorization for request in server.matching(method)]


def paths(server: ScriptedServer, method: str) -> list[str]:
    return [request.path for request in server.matching(method)]


@pytest.fixture(autouse=True)
def no_pypirc_variable(monkeypatch):
    """$PYPIRC from the outer environment would redirect the .pypirc lookup."""
    monkeypatch.delenv("PYPIRC", raising=False)


@pytest.fixture
def index(scripted: ScriptedServer) -> ScriptedServer:
    """An index that accepts uploads at /root/dev/ and has never heard of demo-pkg."""
    scripted.on("POST", UPLOAD_PATH, Reply(200, "OK"))
    scripted.on("GET", CHECK_PATH + "*", Reply(404, "not found"))
    return scripted


@pytest.fixture
def wheel(dist_dir: Path) -> Path:
    return make_wheel(dist_dir)


# -- --index NAME from each source --------------------------------------------------------


@pytest.mark.parametrize("source", SOURCES)
def test_index_from_each_source_uploads_with_its_urls_and_username(cli, index, wheel, source):
    has_check_url = source != ".pypirc"
    write_index(
        source,
        publish_url=f"{index.url}{UPLOAD_PATH}",
        check_url=f"{index.url}{CHECK_PATH}" if has_check_url else None,
    )
    outcome = upload(cli, "--index", "internal", wheel, env={"PUBTOOL_PASSWORD": CANARY})
    assert outcome.exit_code == 0, outcome.stderr
    assert outcome.actions == {WHEEL: "uploaded"}
    assert posted(index) == [WHEEL]
    assert paths(index, "POST") == [UPLOAD_PATH]
    assert authorizations(index, "POST") == [UPLOAD_AUTH]
    assert outcome.report["publish_url"] == f"{index.url}{UPLOAD_PATH}"
    if has_check_url:  # the configured url is the check URL: one GET, with the index's credentials
        assert paths(index, "GET") == [PROJECT_PAGE]
        assert authorizations(index, "GET") == [UPLOAD_AUTH]
        assert outcome.report["check_url"] == f"{index.url}{CHECK_PATH}"
    else:  # SPEC section 8: from .pypirc the check URL is known only for PyPI and TestPyPI
        assert index.count("GET") == 0
        assert outcome.report["check_url"] is None


@pytest.mark.parametrize("source", ["pubtool.toml", "pyproject.toml"])
def test_index_with_only_a_check_url_and_a_publish_url_flag(cli, index, wheel, source):
    write_index(source, publish_url=None, check_url=f"{index.url}{CHECK_PATH}")
    outcome = upload(cli, "--index", "internal", "--publish-url", f"{index.url}{UPLOAD_PATH}", wheel,
                     env={"PUBTOOL_PASSWORD": CANARY})
    assert outcome.exit_code == 0, outcome.stderr
    assert paths(index, "GET") == [PROJECT_PAGE]
    assert authorizations(index, "POST") == [UPLOAD_AUTH]


TWINE_PYPIRC = """\
[distutils]
index-servers = internal

[internal]
repository = {url}/legacy/
username = uploader
password = {password}
"""


@pytest.mark.parametrize(
    ("args", "env"),
    [
        pytest.param(("-r", "internal"), {}, id="-r"),
        pytest.param(("--repository", "internal"), {}, id="--repository"),
        pytest.param(("--index", "internal"), {}, id="--index"),
        pytest.param((), {"PUBTOOL_INDEX": "internal"}, id="PUBTOOL_INDEX"),
    ],
)
def test_a_pypirc_that_works_for_twine_works_unchanged(cli, scripted, wheel, args, env):
    scripted.on("POST", "/legacy/", Reply(200, "OK"))
    config_path(".pypirc").write_text(TWINE_PYPIRC.format(url=scripted.url, password=CANARY))
    outcome = upload(cli, *args, wheel, env=env)
    assert outcome.exit_code == 0, outcome.stderr
    assert posted(scripted, "/legacy/") == [WHEEL]
    assert authorizations(scripted, "POST") == [UPLOAD_AUTH]
    assert scripted.count("GET") == 0
    assert scripted.count() == 1


def test_a_pypirc_with_a_server_login_section_works_as_with_twine(cli, scripted, wheel):
    scripted.on("POST", "/legacy/", Reply(200, "OK"))
    text = TWINE_PYPIRC.format(url=scripted.url, password=CANARY)
    text += "\n[server-login]\nusername = old-user\n\n[old-mirror]\nusername = old-user\n"
    config_path(".pypirc").write_text(text)
    outcome = upload(cli, "-r", "internal", wheel)
    assert outcome.exit_code == 0, outcome.stderr
    assert authorizations(scripted, "POST") == [UPLOAD_AUTH]


def test_pypirc_from_the_PYPIRC_variable(cli, scripted, wheel, tmp_path, monkeypatch):
    scripted.on("POST", "/legacy/", Reply(200, "OK"))
    elsewhere = tmp_path / "ci.pypirc"
    elsewhere.write_text(TWINE_PYPIRC.format(url=scripted.url, password=CANARY))
    config_path(".pypirc").write_text("[internal]\nrepository = http://127.0.0.1:9/legacy/\n")  # must not be read
    monkeypatch.setenv("PYPIRC", str(elsewhere))
    outcome = upload(cli, "-r", "internal", wheel)
    assert outcome.exit_code == 0, outcome.stderr
    assert authorizations(scripted, "POST") == [UPLOAD_AUTH]


# -- flags beat config --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "env", "post_path", "post_auth", "get_path"),
    [
        pytest.param((), {}, UPLOAD_PATH, UPLOAD_AUTH, PROJECT_PAGE, id="config-alone"),
        pytest.param(("--publish-url", "{url}/override/"), {}, "/override/", UPLOAD_AUTH, PROJECT_PAGE, id="--publish-url"),
        pytest.param(("--repository-url", "{url}/override/"), {}, "/override/", UPLOAD_AUTH, PROJECT_PAGE, id="--repository-url"),
        pytest.param((), {"PUBTOOL_PUBLISH_URL": "{url}/override/"}, "/override/", UPLOAD_AUTH, PROJECT_PAGE, id="PUBTOOL_PUBLISH_URL"),
        pytest.param(("-u", "someone-else"), {}, UPLOAD_PATH, f"someone-else:{CANARY}", PROJECT_PAGE, id="-u"),
        pytest.param((), {"PUBTOOL_USERNAME": "someone-else"}, UPLOAD_PATH, f"someone-else:{CANARY}", PROJECT_PAGE, id="PUBTOOL_USERNAME"),
        pytest.param((), {"TWINE_USERNAME": "someone-else"}, UPLOAD_PATH, f"someone-else:{CANARY}", PROJECT_PAGE, id="TWINE_USERNAME"),
        pytest.param(("--check-url", "{url}/other/simple/"), {}, UPLOAD_PATH, UPLOAD_AUTH, "/other/simple/demo-pkg/", id="--check-url"),
        pytest.param(("-t", CANARY), {}, UPLOAD_PATH, f"__token__:{CANARY}", PROJECT_PAGE, id="--token-replaces-the-username"),
    ],
)
def test_flags_and_env_beat_the_config(cli, index, wheel, args, env, post_path, post_auth, get_path):
    index.on("POST", "/override/", Reply(200, "OK"))
    index.on("GET", "/other/simple/*", Reply(404, "not found"))
    write_index("pubtool.toml", publish_url=f"{index.url}{UPLOAD_PATH}", check_url=f"{index.url}{CHECK_PATH}")
    args = tuple(arg.format(url=index.url) for arg in args)
    env = {"PUBTOOL_PASSWORD": CANARY, **{key: value.format(url=index.url) for key, value in env.items()}}
    outcome = upload(cli, "--index", "internal", *args, wheel, env=env)
    assert outcome.exit_code == 0, outcome.stderr
    assert paths(index, "POST") == [post_path]
    assert authorizations(index, "POST") == [post_auth]
    assert paths(index, "GET") == [get_path]


LOSING_PASSWORD = "pypirc-password-that-loses"


@pytest.mark.parametrize(
    ("args", "env"),
    [
        pytest.param(("-p", CANARY), {}, id="-p"),
        pytest.param((), {"PUBTOOL_PASSWORD": CANARY}, id="PUBTOOL_PASSWORD"),
        pytest.param((), {"TWINE_PASSWORD": CANARY}, id="TWINE_PASSWORD"),
    ],
)
def test_password_flag_and_env_beat_the_pypirc_password(cli, scripted, wheel, args, env):
    scripted.on("POST", "/legacy/", Reply(200, "OK"))
    config_path(".pypirc").write_text(TWINE_PYPIRC.format(url=scripted.url, password=LOSING_PASSWORD))
    outcome = upload(cli, "-r", "internal", *args, wheel, env=env, secrets=(LOSING_PASSWORD,))
    assert outcome.exit_code == 0, outcome.stderr
    assert authorizations(scripted, "POST") == [UPLOAD_AUTH]


def test_username_from_config_and_no_password_anywhere_sends_an_empty_password(cli, index, wheel):
    write_index("pubtool.toml", publish_url=f"{index.url}{UPLOAD_PATH}")
    outcome = upload(cli, "--index", "internal", wheel)
    assert outcome.exit_code == 0, outcome.stderr
    assert authorizations(index, "POST") == [f"{UPLOADER}:"]


# -- config errors: exit 2, one error line naming the file, nothing sent ------------------

INDEX_TOML = '[[index]]\nname = "internal"\nurl = "{url}/root/dev/+simple/"\npublish-url = "{url}/root/dev/"\n'
CONFIG_ERRORS = [
    # (files to write, --index name, the file the error names, words in the error line, words in the hint)
    pytest.param(
        {"pubtool.toml": INDEX_TOML + 'username = "uploader"\npasword = "oops"\n'},
        "internal", "pubtool.toml", ["'pasword'"], ["publish-url"], id="unknown-key-pubtool.toml",
    ),
    pytest.param(
        {"pubtool.toml": INDEX_TOML + '[[index]]\nname = "other"\nurl = "{url}/simple/"\ntoken = "x"\n'},
        "internal", "pubtool.toml", ["'token'"], ["publish-url"], id="unknown-key-next-to-the-valid-index",
    ),
    pytest.param(
        {"pyproject.toml": '[tool.pubtool]\n' + INDEX_TOML.replace("[[index]]", "[[tool.pubtool.index]]") + 'check-url = "x"\n'},
        "internal", "pyproject.toml", ["'check-url'"], ["publish-url"], id="unknown-key-pyproject",
    ),
    pytest.param(
        {"pubtool.toml": '[[index]]\nname = "internal"\nurl = "{url}/root/dev/+simple/\npublish-url = "{url}/root/dev/"\n'},
        "internal", "pubtool.toml", ["invalid TOML", "line 3"], [], id="bad-toml-pubtool.toml",
    ),
    pytest.param(
        {"pyproject.toml": '[project]\nname = "demo"\nversion = 1.0.0\n'},
        "internal", "pyproject.toml", ["invalid TOML", "line 3"], [], id="bad-toml-pyproject",
    ),
    pytest.param(
        {"pubtool.toml": INDEX_TOML.replace("internal", "staging"), ".pypirc": "[pypi-mirror]\nrepository = {url}/legacy/\n"},
        "internal", "hint", ["'internal'", "staging", "pypi-mirror"], ["pubtool.toml", ".pypirc"], id="missing-name-lists-known-names",
    ),
    pytest.param(
        {".pypirc": "[internal]\nusername = uploader\n"}, "internal", ".pypirc", ["[internal]", "'repository'"], [],
        id="pypirc-without-repository",
    ),
    pytest.param(
        {".pypirc": "username = uploader\n[internal]\nrepository = {url}/legacy/\n"}, "internal", ".pypirc", ["invalid .pypirc"], [],
        id="pypirc-invalid",
    ),
]


@pytest.mark.parametrize("json_report", [False, True], ids=["text", "json"])
@pytest.mark.parametrize(("files", "name", "named_file", "words", "hint_words"), CONFIG_ERRORS)
def test_config_errors_exit_2_before_any_request(cli, index, wheel, files, name, named_file, words, hint_words, json_report):
    for source, text in files.items():
        config_path(source).write_text(text.format(url=index.url))
    args = ["upload", "--index", name, "--retries", "0", "--timeout", "5", "-u", UPLOADER, "-p", CANARY, "--verbose"]
    outcome = run(cli, *args, *(["--json"] if json_report else []), wheel)
    assert outcome.exit_code == 2, outcome.stderr
    assert len(outcome.errors) == 1, outcome.stderr  # one error line
    message = outcome.message
    for word in words:
        assert word in message, (word, message)
    if named_file == "hint":  # no file defines the name: the hint says which files were read
        for source in files:
            assert str(config_path(source)) in outcome.hint
    else:
        assert str(config_path(named_file)) in message
    for word in hint_words:
        assert word in outcome.hint
    assert index.requests == []  # not one request
    if json_report:
        assert outcome.report["exit_code"] == 2
        assert outcome.report["error"]["message"] == message
        assert outcome.report["files"] == []
    else:
        assert outcome.stdout == ""


def test_pyproject_with_a_non_table_tool_pubtool_is_exit_2(cli, index, wheel):
    config_path("pyproject.toml").write_text('[project]\nname = "demo"\n\n[tool]\npubtool = 3\n')
    outcome = run(cli, "upload", "--index", "internal", "--json", wheel, env={"PUBTOOL_PASSWORD": CANARY})
    assert outcome.exit_code == 2
    assert str(config_path("pyproject.toml")) in outcome.message
    assert index.requests == []


def test_missing_index_name_from_PUBTOOL_INDEX(cli, index, wheel):
    write_index("pubtool.toml", publish_url=f"{index.url}{UPLOAD_PATH}", name="staging")
    outcome = run(cli, "upload", "--json", wheel, env={"PUBTOOL_INDEX": "prod", "PUBTOOL_PASSWORD": CANARY})
    assert outcome.exit_code == 2
    assert "'prod'" in outcome.message and "staging" in outcome.message
    assert index.requests == []


# -- realm scoping (SPEC section 4) -------------------------------------------------------


@pytest.fixture
def check_server():
    """A second ScriptedServer: the check URL on another port of 127.0.0.1 (another realm)."""
    with ScriptedServer() as server:
        server.on("GET", "/simple/*", Reply(404, "not found"))
        yield server


@pytest.mark.parametrize("source", ["pubtool.toml", "pyproject.toml"])
def test_index_credentials_go_to_its_check_url_on_another_port(cli, index, check_server, wheel, source):
    write_index(source, publish_url=f"{index.url}{UPLOAD_PATH}", check_url=f"{check_server.url}/simple/")
    outcome = upload(cli, "--index", "internal", wheel, env={"PUBTOOL_PASSWORD": CANARY})
    assert outcome.exit_code == 0, outcome.stderr
    assert paths(check_server, "GET") == ["/simple/demo-pkg/"]
    assert authorizations(check_server, "GET") == [UPLOAD_AUTH]
    assert authorizations(index, "POST") == [UPLOAD_AUTH]
    assert check_server.count("POST") == 0


def test_publish_url_credentials_do_not_go_to_a_check_url_on_another_port(cli, index, check_server, wheel):
    outcome = upload(
        cli, "--publish-url", f"{index.url}{UPLOAD_PATH}", "--check-url", f"{check_server.url}/simple/",
        "-u", UPLOADER, "-p", CANARY, wheel,
    )
    assert outcome.exit_code == 0, outcome.stderr
    assert paths(check_server, "GET") == ["/simple/demo-pkg/"]
    assert authorizations(check_server, "GET") == [None]
    assert authorizations(index, "POST") == [UPLOAD_AUTH]


def test_index_credentials_do_not_go_to_a_check_url_flag_on_another_port(cli, index, check_server, wheel):
    """An explicit --check-url replaces the index's: the index's credentials are not its credentials."""
    write_index("pubtool.toml", publish_url=f"{index.url}{UPLOAD_PATH}", check_url=f"{index.url}{CHECK_PATH}")
    outcome = upload(cli, "--index", "internal", "--check-url", f"{check_server.url}/simple/", wheel,
                     env={"PUBTOOL_PASSWORD": CANARY})
    assert outcome.exit_code == 0, outcome.stderr
    assert authorizations(check_server, "GET") == [None]
    assert index.count("GET") == 0
    assert authorizations(index, "POST") == [UPLOAD_AUTH]


# -- a real server ------------------------------------------------------------------------


def test_index_config_against_pypiserver_with_authenticated_reads(cli, pypi_private, wheel):
    """pubtool.toml names the publish and check URLs; the second run verifies with the index's credentials."""
    write_index("pubtool.toml", publish_url=pypi_private.url, check_url=pypi_private.simple_url)
    first = upload(cli, "--index", "internal", wheel, env={"PUBTOOL_PASSWORD": CANARY})
    assert first.exit_code == 0, first.stderr
    assert first.actions == {WHEEL: "uploaded"}
    assert (pypi_private.packages / WHEEL).read_bytes() == wheel.read_bytes()
    again = upload(cli, "--index", "internal", wheel, env={"PUBTOOL_PASSWORD": CANARY})
    assert again.exit_code == 0, again.stderr
    assert again.actions == {WHEEL: "skipped"}
