"""publisher.credentials: where credentials come from, and the realm they are sent to."""

from __future__ import annotations

import pytest
import requests

from publisher.credentials import (
    TOKEN_USERNAME,
    Credentials,
    Purpose,
    RealmAuth,
    credentials_from_netrc,
    credentials_from_options,
    credentials_from_url,
)
from publisher.errors import InputError

SECRET = "s3cr3t-do-not-print"


@pytest.mark.parametrize(
    ("username", "password", "token", "expected"),
    [
        pytest.param(None, None, None, None, id="nothing"),
        pytest.param(None, None, "pypi-tok", (TOKEN_USERNAME, "pypi-tok"), id="token"),
        pytest.param(TOKEN_USERNAME, None, "pypi-tok", (TOKEN_USERNAME, "pypi-tok"), id="token-with-__token__"),
        pytest.param(None, "ignored", "pypi-tok", (TOKEN_USERNAME, "pypi-tok"), id="token-beats-password"),
        pytest.param(None, "pypi-lone", None, (TOKEN_USERNAME, "pypi-lone"), id="lone-password-is-a-token"),
        pytest.param("alice", "pw", None, ("alice", "pw"), id="username-password"),
        pytest.param("alice", None, None, ("alice", ""), id="username-only"),
        pytest.param("alice", "", None, ("alice", ""), id="username-empty-password"),
        pytest.param(TOKEN_USERNAME, "pypi-x", None, (TOKEN_USERNAME, "pypi-x"), id="__token__-as-username"),
        pytest.param("", "", "", None, id="all-empty"),
    ],
)
def test_credentials_from_options(username, password, token, expected):
    found = credentials_from_options(username=username, password=password, token=token, source="options")
    if expected is None:
        assert found is None
    else:
        assert (found.username, found.password, found.source) == (*expected, "options")


@pytest.mark.parametrize("option", ["--username", "--check-username"])
def test_token_with_another_username_is_an_input_error(option):
    with pytest.raises(InputError) as caught:
        credentials_from_options(username="alice", password=None, token=SECRET, source="x", username_option=option)
    assert option in str(caught.value) and "--token" in str(caught.value)
    assert "alice" in str(caught.value)
    assert SECRET not in str(caught.value) + (caught.value.hint or "")
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://alice:pw@pkgs.example.com/simple/", ("alice", "pw")),
        ("https://alice%40corp:p%3Aw%2Fd@pkgs.example.com/", ("alice@corp", "p:w/d")),
        ("https://alice@pkgs.example.com/", ("alice", "")),
        ("https://:pypi-tok@pkgs.example.com/", ("", "pypi-tok")),
        ("https://__token__:pypi-tok@upload.example.org/legacy/", ("__token__", "pypi-tok")),
        ("https://pkgs.example.com/simple/", None),
    ],
)
def test_credentials_from_url(url, expected):
    found = credentials_from_url(url)
    if expected is None:
        assert found is None
    else:
        assert (found.username, found.password, found.source) == (*expected, "URL")


NETRC = """\
machine pkgs.example.com
  login alice
  password alice-pw

machine other.example.com login bob password bob-pw
"""


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://pkgs.example.com/simple/", ("alice", "alice-pw")),
        ("https://PKGS.example.com:8443/simple/", ("alice", "alice-pw")),
        ("http://other.example.com/", ("bob", "bob-pw")),
        ("https://unknown.example.com/", None),
    ],
)
def test_credentials_from_netrc(tmp_path, url, expected):
    path = tmp_path / "netrc"
    path.write_text(NETRC)
    path.chmod(0o600)
    found = credentials_from_netrc(url, str(path))
    if expected is None:
        assert found is None
    else:
        assert (found.username, found.password) == expected
        assert "netrc" in found.source


def test_credentials_from_netrc_default_location(isolated_environment):
    netrc = isolated_environment / ".netrc"
    netrc.write_text(NETRC)
    netrc.chmod(0o600)
    found = credentials_from_netrc("https://pkgs.example.com/simple/")
    assert (found.username, found.password) == ("alice", "alice-pw")


def test_credentials_from_netrc_env_variable(tmp_path, monkeypatch):
    path = tmp_path / "my-netrc"
    path.write_text(NETRC)
    path.chmod(0o600)
    monkeypatch.setenv("NETRC", str(path))
    found = credentials_from_netrc("https://other.example.com/")
    assert (found.username, found.password) == ("bob", "bob-pw")


@pytest.mark.parametrize(
    "content",
    [pytest.param(None, id="no-file"), pytest.param("machine\n", id="unparsable"), pytest.param("", id="empty")],
)
def test_credentials_from_netrc_absent_or_broken(tmp_path, content):
    path = tmp_path / "netrc"
    if content is not None:
        path.write_text(content)
        path.chmod(0o600)
    assert credentials_from_netrc("https://pkgs.example.com/", str(path)) is None


# ---------------------------------------------------------------- realm-scoped auth (SPEC section 4, 8)

UPLOAD = Credentials("uploader", "upload-" + SECRET, "options")
READ = Credentials("reader", "read-" + SECRET, "check options")
OTHER = Credentials("other", "other-" + SECRET, "netrc")


def realm_auth(*entries) -> RealmAuth:
    auth = RealmAuth()
    for url, credentials, purpose in entries:
        auth.add(url, credentials, purpose)
    return auth


BOTH = [
    ("https://pkgs.example.com/legacy/", UPLOAD, Purpose.UPLOAD),
    ("https://pkgs.example.com/simple/", READ, Purpose.READ),
]
UPLOAD_ONLY = [("https://pkgs.example.com/legacy/", UPLOAD, Purpose.UPLOAD)]
READ_ONLY = [("https://pkgs.example.com/simple/", READ, Purpose.READ)]
TWO_HOSTS = [
    ("https://upload.example.com/legacy/", UPLOAD, Purpose.UPLOAD),
    ("https://read.example.com/simple/", READ, Purpose.READ),
]


@pytest.mark.parametrize(
    ("entries", "method", "url", "expected"),
    [
        pytest.param(BOTH, "GET", "https://pkgs.example.com/simple/demo/", READ, id="get-uses-read"),
        pytest.param(BOTH, "HEAD", "https://pkgs.example.com/simple/demo/", READ, id="head-uses-read"),
        pytest.param(BOTH, "get", "https://pkgs.example.com/simple/demo/", READ, id="method-case"),
        pytest.param(BOTH, "POST", "https://pkgs.example.com/legacy/", UPLOAD, id="post-uses-upload"),
        pytest.param(BOTH, "GET", "https://pkgs.example.com/+f/ab/cd/demo-1.0.tar.gz", READ, id="other-path-same-realm"),
        pytest.param(BOTH, "POST", "https://pkgs.example.com/elsewhere/", UPLOAD, id="post-other-path-same-realm"),
        pytest.param(UPLOAD_ONLY, "GET", "https://pkgs.example.com/simple/demo/", UPLOAD, id="get-falls-back-to-upload"),
        pytest.param(READ_ONLY, "POST", "https://pkgs.example.com/legacy/", None, id="post-never-uses-read"),
        pytest.param(READ_ONLY, "PUT", "https://pkgs.example.com/legacy/", None, id="put-never-uses-read"),
        pytest.param(BOTH, "GET", "https://files.example.com/demo-1.0.tar.gz", None, id="other-host"),
        pytest.param(BOTH, "POST", "https://files.example.com/legacy/", None, id="post-other-host"),
        pytest.param(BOTH, "GET", "http://pkgs.example.com/simple/demo/", None, id="http-vs-https"),
        pytest.param(BOTH, "GET", "https://pkgs.example.com:8443/simple/demo/", None, id="other-port"),
        pytest.param(BOTH, "GET", "https://pkgs.example.com:443/simple/demo/", READ, id="explicit-default-port"),
        pytest.param(BOTH, "GET", "https://PKGS.Example.com/simple/demo/", READ, id="host-case"),
        pytest.param(TWO_HOSTS, "GET", "https://upload.example.com/simple/", UPLOAD, id="upload-host-get"),
        pytest.param(TWO_HOSTS, "POST", "https://read.example.com/legacy/", None, id="read-host-post"),
        pytest.param(TWO_HOSTS, "GET", "https://read.example.com/simple/x/", READ, id="read-host-get"),
        pytest.param([], "GET", "https://pkgs.example.com/", None, id="empty"),
    ],
)
def test_realm_auth_lookup(entries, method, url, expected):
    assert realm_auth(*entries).lookup(method, url) == expected


def test_realm_auth_first_credentials_for_a_realm_win():
    auth = realm_auth(
        ("https://pkgs.example.com/a/", UPLOAD, Purpose.UPLOAD),
        ("https://pkgs.example.com/b/", OTHER, Purpose.UPLOAD),
    )
    assert auth.lookup("POST", "https://pkgs.example.com/b/") == UPLOAD


def test_realm_auth_ignores_none():
    auth = realm_auth(("https://pkgs.example.com/", None, Purpose.READ), *UPLOAD_ONLY)
    assert auth.lookup("GET", "https://pkgs.example.com/simple/") == UPLOAD


@pytest.mark.parametrize(
    ("method", "url", "expected_user"),
    [
        ("GET", "https://pkgs.example.com/simple/demo/", "reader"),
        ("POST", "https://pkgs.example.com/legacy/", "uploader"),
        ("GET", "https://elsewhere.example.com/simple/demo/", None),
        ("GET", "http://pkgs.example.com/simple/demo/", None),
    ],
)
def test_realm_auth_sets_or_removes_the_authorization_header(method, url, expected_user):
    import base64

    request = requests.Request(method, url, headers={"Authorization": "Basic stale"}).prepare()
    realm_auth(*BOTH)(request)
    header = request.headers.get("Authorization")
    if expected_user is None:
        assert header is None
    else:
        user, _, password = base64.b64decode(header.split()[1]).decode().partition(":")
        assert user == expected_user
        assert password.endswith(SECRET)


def test_realm_auth_repr_never_contains_a_password():
    auth = realm_auth(*BOTH, ("http://127.0.0.1:8080/", OTHER, Purpose.READ))
    text = repr(auth) + str(auth)
    assert SECRET not in text
    assert "pkgs.example.com" in text


@pytest.mark.parametrize("credentials", [UPLOAD, READ, Credentials(TOKEN_USERNAME, "pypi-" + SECRET)])
def test_credentials_repr_hides_the_password(credentials):
    text = repr(credentials) + str(credentials) + repr([credentials]) + repr({"c": credentials})
    assert SECRET not in text
    assert credentials.username in text
