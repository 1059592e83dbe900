"""keyring as a source of upload passwords (SPEC section 1; issue 4 item 1).

Order: flag > env var > URL > config > keyring > ~/.netrc. keyring is optional
(``pubtool[keyring]``): absent or broken, it is skipped without a word. The
keyring backend is ``tests.keyring_backend.JsonFileKeyring``, chosen with
``PYTHON_KEYRING_BACKEND`` as a user would; the upload endpoint is the
ScriptedServer, which records the Authorization each request carried. As twine
does, the keyring service is the publish URL.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional
from urllib.parse import quote

import pytest

from publisher.credentials import credentials_from_keyring
from tests.conftest import CANARY
from tests.distfactory import make_wheel
from tests.integration.helpers import UPLOAD_AUTH, UPLOADER, Outcome, run
from tests.keyring_backend import BACKEND, FILE_VARIABLE, JsonFileKeyring
from tests.servers.scripted import Reply, ScriptedServer

UPLOAD_PATH = "/legacy/"
# Secrets of the sources that must lose: never sent, never printed.
KEYRING_LOSES = "keyring-password-that-loses"
NETRC_LOSES = "netrc-password-that-loses"
CONFIG_LOSES = "pypirc-password-that-loses"
LOSERS = (KEYRING_LOSES, NETRC_LOSES, CONFIG_LOSES)


@dataclass
class TestKeyring:
    path: Path

    __test__ = False  # not a test class

    def _data(self) -> dict:
        return json.loads(self.path.read_text())

    def store(self, service: str, username: str, password: str) -> None:
        data = self._data()
        data.setdefault("passwords", {}).setdefault(service, {})[username] = password
        self.path.write_text(json.dumps(data))

    def break_it(self) -> None:
        data = self._data()
        data["fail"] = True
        self.path.write_text(json.dumps(data))

    @property
    def lookups(self) -> list[list]:
        return self._data().get("lookups", [])


@pytest.fixture
def test_keyring(tmp_path, monkeypatch) -> TestKeyring:
    """The JSON-file keyring, selected through PYTHON_KEYRING_BACKEND; the previous backend restored after."""
    import keyring
    import keyring.core

    previous = keyring.get_keyring()
    path = tmp_path / "keyring.json"
    path.write_text("{}")
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", BACKEND)
    monkeypatch.setenv(FILE_VARIABLE, str(path))
    keyring.core.init_backend()  # keyring reads the variable when it picks its backend
    assert isinstance(keyring.get_keyring(), JsonFileKeyring)
    yield TestKeyring(path)
    keyring.set_keyring(previous)


@pytest.fixture(autouse=True)
def no_pypirc_variable(monkeypatch):
    monkeypatch.delenv("PYPIRC", raising=False)


@pytest.fixture
def index(scripted: ScriptedServer) -> ScriptedServer:
    scripted.on("POST", UPLOAD_PATH, Reply(200, "OK"))
    return scripted


@pytest.fixture
def wheel(dist_dir: Path) -> Path:
    return make_wheel(dist_dir)


def publish_url(server: ScriptedServer) -> str:
    return f"{server.url}{UPLOAD_PATH}"


def write_netrc(login: str, password: str) -> None:
    netrc = Path(os.environ["HOME"]) / ".netrc"
    netrc.write_text(f"machine 127.0.0.1\nlogin {login}\npassword {password}\n")
    netrc.chmod(0o600)


def upload(cli, server: ScriptedServer, wheel: Path, *args, env: Optional[dict] = None) -> Outcome:
    return run(
        cli, "upload", "--publish-url", publish_url(server), "--retries", "0", "--timeout", "5", "--json",
        *args, wheel, env=env, secrets=LOSERS,
    )


def sent_authorization(server: ScriptedServer) -> Optional[str]:
    (request,) = server.matching("POST", UPLOAD_PATH)
    return request.authorization


# -- the password comes from keyring ------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "env", "lookup"),
    [
        pytest.param(("-u", UPLOADER), {}, ["get_password", "{publish_url}", UPLOADER], id="-u"),
        pytest.param((), {"PUBTOOL_USERNAME": UPLOADER}, ["get_password", "{publish_url}", UPLOADER], id="PUBTOOL_USERNAME"),
        pytest.param((), {"TWINE_USERNAME": UPLOADER}, ["get_password", "{publish_url}", UPLOADER], id="TWINE_USERNAME"),
        pytest.param((), {}, ["get_credential", "{publish_url}", None], id="no-username:-keyring-names-the-user"),
    ],
)
def test_password_from_keyring(cli, index, wheel, test_keyring, args, env, lookup):
    test_keyring.store(publish_url(index), UPLOADER, CANARY)
    outcome = upload(cli, index, wheel, *args, env=env)
    assert outcome.exit_code == 0, outcome.stderr
    assert sent_authorization(index) == UPLOAD_AUTH
    assert [item.format(publish_url=publish_url(index)) if item else item for item in lookup] in test_keyring.lookups


@pytest.mark.parametrize("source", ["pubtool.toml", ".pypirc"])
def test_password_from_keyring_for_the_config_username(cli, index, wheel, test_keyring, source):
    if source == "pubtool.toml":
        Path("pubtool.toml").write_text(f'[[index]]\nname = "internal"\npublish-url = "{publish_url(index)}"\nusername = "{UPLOADER}"\n')
    else:
        (Path(os.environ["HOME"]) / ".pypirc").write_text(f"[internal]\nrepository = {publish_url(index)}\nusername = {UPLOADER}\n")
    test_keyring.store(publish_url(index), UPLOADER, CANARY)
    outcome = run(cli, "upload", "--index", "internal", "--retries", "0", "--json", wheel)
    assert outcome.exit_code == 0, outcome.stderr
    assert sent_authorization(index) == UPLOAD_AUTH
    assert ["get_password", publish_url(index), UPLOADER] in test_keyring.lookups


def test_username_in_the_url_password_from_keyring(cli, index, wheel, test_keyring):
    """The keyring service is the publish URL as the user stores it (without the user@ part)."""
    test_keyring.store(publish_url(index), UPLOADER, CANARY)
    url = publish_url(index).replace("http://", f"http://{UPLOADER}@")
    outcome = run(cli, "upload", "--publish-url", url, "--retries", "0", "--json", wheel)
    assert outcome.exit_code == 0, outcome.stderr
    assert sent_authorization(index) == UPLOAD_AUTH


def test_keyring_entry_of_another_url_is_not_used(cli, index, wheel, test_keyring):
    test_keyring.store("http://127.0.0.1:1/legacy/", UPLOADER, KEYRING_LOSES)
    outcome = upload(cli, index, wheel, "-u", UPLOADER)
    assert outcome.exit_code == 0, outcome.stderr
    assert sent_authorization(index) == f"{UPLOADER}:"


# -- precedence: flags, env, URL, config > keyring > netrc ---------------------------------


@pytest.mark.parametrize(
    ("args", "env", "pypirc_password", "in_url", "keyring_password", "netrc", "expected"),
    [
        pytest.param(("-u", UPLOADER, "-p", CANARY), {}, None, False, KEYRING_LOSES, None, UPLOAD_AUTH, id="flags-beat-keyring"),
        pytest.param(("-u", UPLOADER), {"PUBTOOL_PASSWORD": CANARY}, None, False, KEYRING_LOSES, None, UPLOAD_AUTH, id="env-beats-keyring"),
        pytest.param(("-u", UPLOADER), {"TWINE_PASSWORD": CANARY}, None, False, KEYRING_LOSES, None, UPLOAD_AUTH, id="twine-env-beats-keyring"),
        pytest.param((), {}, None, True, KEYRING_LOSES, None, UPLOAD_AUTH, id="url-beats-keyring"),
        pytest.param(("-r", "internal"), {}, CANARY, False, KEYRING_LOSES, None, UPLOAD_AUTH, id="pypirc-password-beats-keyring"),
        pytest.param(("-u", UPLOADER), {}, None, False, CANARY, (UPLOADER, NETRC_LOSES), UPLOAD_AUTH, id="keyring-beats-netrc-with-username"),
        pytest.param((), {}, None, False, CANARY, ("someone-else", NETRC_LOSES), UPLOAD_AUTH, id="keyring-beats-netrc-without-username"),
        pytest.param((), {}, None, False, None, (UPLOADER, CANARY), UPLOAD_AUTH, id="netrc-when-keyring-has-nothing"),
    ],
)
def test_credential_precedence_with_keyring(
    cli, index, wheel, test_keyring, args, env, pypirc_password, in_url, keyring_password, netrc, expected
):
    url = publish_url(index)
    if pypirc_password:
        (Path(os.environ["HOME"]) / ".pypirc").write_text(
            f"[internal]\nrepository = {url}\nusername = {UPLOADER}\npassword = {pypirc_password}\n"
        )
    if keyring_password:
        test_keyring.store(url, UPLOADER, keyring_password)
    if netrc:
        write_netrc(*netrc)
    if pypirc_password:  # the publish URL comes from the index
        where: tuple[str, ...] = ()
    elif in_url:
        where = ("--publish-url", url.replace("http://", f"http://{UPLOADER}:{quote(CANARY, safe='')}@"))
    else:
        where = ("--publish-url", url)
    outcome = run(cli, "upload", *where, "--retries", "0", "--json", *args, wheel, env=env, secrets=LOSERS)
    assert outcome.exit_code == 0, outcome.stderr
    assert sent_authorization(index) == expected


# -- a broken keyring is skipped without a word --------------------------------------------


@pytest.mark.parametrize(
    ("args", "netrc", "expected"),
    [
        pytest.param((), (UPLOADER, CANARY), UPLOAD_AUTH, id="no-username:-netrc"),
        pytest.param((), None, None, id="no-username-no-netrc:-no-credentials"),
        pytest.param(("-u", UPLOADER), None, f"{UPLOADER}:", id="username-no-netrc:-empty-password"),
        pytest.param(
            ("-u", UPLOADER), (UPLOADER, CANARY), UPLOAD_AUTH, id="username:-netrc-password-of-that-login",
        ),
    ],
)
def test_a_failing_keyring_backend_is_skipped_silently(cli, index, wheel, test_keyring, args, netrc, expected):
    test_keyring.break_it()
    if netrc:
        write_netrc(*netrc)
    outcome = upload(cli, index, wheel, *args)
    assert outcome.exit_code == 0, outcome.stderr
    assert test_keyring.lookups, "keyring was asked"
    assert sent_authorization(index) == expected
    assert outcome.warnings == []
    assert "keyring" not in outcome.stderr.lower()
    assert "locked" not in outcome.stderr


def test_username_from_config_password_from_netrc(cli, index, wheel):
    """config.py's own docstring: ``username = "ci-bot"  # password from env, keyring or netrc``."""
    Path("pubtool.toml").write_text(f'[[index]]\nname = "internal"\npublish-url = "{publish_url(index)}"\nusername = "{UPLOADER}"\n')
    write_netrc(UPLOADER, CANARY)
    outcome = run(cli, "upload", "--index", "internal", "--retries", "0", "--json", wheel)
    assert outcome.exit_code == 0, outcome.stderr
    assert sent_authorization(index) == UPLOAD_AUTH


# -- keyring not installed ----------------------------------------------------------------


@pytest.fixture
def no_keyring(monkeypatch):
    """``import keyring`` raises ImportError, as when the optional extra is not installed."""
    monkeypatch.setitem(sys.modules, "keyring", None)
    with pytest.raises(ImportError):
        import keyring  # noqa: F401


@pytest.mark.parametrize("username", [UPLOADER, None])
def test_credentials_from_keyring_without_keyring_is_none(no_keyring, username):
    assert credentials_from_keyring("http://127.0.0.1:1/legacy/", username) is None


@pytest.mark.parametrize(
    ("args", "netrc", "expected"),
    [
        pytest.param(("-u", UPLOADER, "-p", CANARY), None, UPLOAD_AUTH, id="flags"),
        pytest.param((), (UPLOADER, CANARY), UPLOAD_AUTH, id="netrc"),
        pytest.param(("-u", UPLOADER), None, f"{UPLOADER}:", id="username-only"),
        pytest.param((), None, None, id="nothing"),
    ],
)
def test_runs_without_keyring_installed(cli, index, wheel, no_keyring, args, netrc, expected):
    if netrc:
        write_netrc(*netrc)
    outcome = upload(cli, index, wheel, *args)
    assert outcome.exit_code == 0, outcome.stderr
    assert sent_authorization(index) == expected
    assert "keyring" not in outcome.stderr.lower()
