"""publisher.upload, its pure parts: the legacy API form, "already exists" answers, error hints."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
import requests

from publisher.distributions.collect import Candidate
from publisher.distributions.validate import read_distribution
from publisher.errors import ExitCode, NetworkError, RedirectError, UploadAuthError
from publisher.upload import ALREADY_EXISTS_ANSWERS, form_fields, is_already_exists, redirect_error, server_message, upload_error
from tests.distfactory import make_sdist, make_wheel, metadata_text


def read(path: Path):
    dist, reasons = read_distribution(Candidate(path, str(path)))
    assert reasons == []
    return dist


def zip_sdist(directory: Path) -> Path:
    path = directory / "demo_pkg-1.0.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("demo_pkg-1.0/PKG-INFO", metadata_text("demo-pkg", "1.0"))
    return path


def values(fields, name):
    return [value for key, value in fields if key == name]


BUILDERS = {
    "wheel": lambda d: make_wheel(d),
    "wheel-py2.py3": lambda d: make_wheel(d, tag="py2.py3-none-any"),
    "wheel-cp311": lambda d: make_wheel(d, tag="cp311-cp311-manylinux_2_17_x86_64"),
    "sdist": lambda d: make_sdist(d),
    "zip-sdist": zip_sdist,
}


@pytest.mark.parametrize(
    ("build", "filetype", "pyversion"),
    [
        ("wheel", "bdist_wheel", "py3"),
        ("wheel-py2.py3", "bdist_wheel", "py2.py3"),
        ("wheel-cp311", "bdist_wheel", "cp311"),
        ("sdist", "sdist", "source"),
        ("zip-sdist", "sdist", "source"),
    ],
)
def test_form_fields_filetype_and_pyversion(tmp_path, build, filetype, pyversion):
    fields = form_fields(read(BUILDERS[build](tmp_path)))
    assert values(fields, "filetype") == [filetype]
    assert values(fields, "pyversion") == [pyversion]


@pytest.mark.parametrize("build", sorted(BUILDERS))
def test_form_fields_required_and_digests(tmp_path, build):
    dist = read(BUILDERS[build](tmp_path))
    fields = form_fields(dist)
    assert fields[:2] == [(":action", "file_upload"), ("protocol_version", "1")]
    for name, expected in [
        ("metadata_version", "2.1"),
        ("name", "demo-pkg"),
        ("version", "1.0"),
        ("summary", "A test package"),
        ("sha256_digest", dist.hashes.sha256),
        ("blake2_256_digest", dist.hashes.blake2_256),
        ("requires_python", ">=3.9"),
    ]:
        assert values(fields, name) == [expected], name
    keys = [key for key, _ in fields]
    assert "md5_digest" not in keys  # SPEC section 3 step 3: md5 is not sent
    assert "content" not in keys  # the file itself is added by the POST
    assert all(isinstance(key, str) and isinstance(value, str) for key, value in fields)


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("requires_dist", ["requests>=2", "rich"]),
        ("classifiers", ["Programming Language :: Python :: 3", "License :: OSI Approved :: MIT License"]),
        ("provides_extra", ["socks", "cli"]),
        ("project_urls", ["Homepage, https://example.com", "Issues, https://example.com/issues"]),
        ("dynamic", ["License"]),
        ("platform", []),
        ("obsoletes_dist", []),
    ],
)
def test_form_fields_multi_valued_are_repeated(tmp_path, field, expected):
    extra = (
        "Provides-Extra: socks\nProvides-Extra: cli\n"
        "Project-URL: Homepage, https://example.com\nProject-URL: Issues, https://example.com/issues\n"
        "Dynamic: License\n"
    )
    wheel = make_wheel(tmp_path, metadata=metadata_text("demo-pkg", "1.0", metadata_version="2.2", extra=extra))
    assert values(form_fields(read(wheel)), field) == expected


@pytest.mark.parametrize("build", ["wheel", "sdist"])
def test_form_fields_requires_python_sent_empty_when_absent(tmp_path, build):
    text = metadata_text("demo-pkg", "1.0", omit=("Requires-Python",))
    path = make_wheel(tmp_path, metadata=text) if build == "wheel" else make_sdist(tmp_path, metadata=text)
    assert values(form_fields(read(path)), "requires_python") == [""]


def test_form_fields_metadata_2_4_license_expression(tmp_path):
    extra = "License-Expression: MIT\nLicense-File: LICENSE\n"
    wheel = make_wheel(tmp_path, metadata=metadata_text("demo-pkg", "1.0", metadata_version="2.4", extra=extra))
    fields = form_fields(read(wheel))
    assert values(fields, "metadata_version") == ["2.4"]
    assert values(fields, "license_expression") == ["MIT"]


# ---------------------------------------------------------------- "already exists" (SPEC section 3 step 6)

# What each server really says, as server_message() renders it (reason phrase + body text).
ALREADY_EXISTS = [
    pytest.param(
        400,
        "File already exists ('demo_pkg-1.0.tar.gz', with blake2_256 hash 'ab12'). "
        "See https://index.example.org/help/#file-name-reuse for more information.",
        id="PyPI / TestPyPI",
    ),
    pytest.param(
        409,
        "Conflict Package 'demo_pkg-1.0.tar.gz' already exists! You may start server with `--overwrite` option.",
        id="pypiserver",
    ),
    pytest.param(
        400,
        "Bad Request Package 'demo_pkg-1.0.tar.gz' already exists! You may start server with `--overwrite` option.",
        id="pypiserver (twine user agent)",
    ),
    pytest.param(409, "Conflict 409 demo_pkg-1.0.tar.gz already exists in non-volatile index", id="devpi (non-volatile index)"),
    pytest.param(
        403,
        "Forbidden Not enough permissions to delete/overwrite artifact 'pypi-local:demo-pkg/1.0/demo_pkg-1.0.tar.gz' "
        "(user: 'ci' needs DELETE permission).",
        id="Artifactory",
    ),
    pytest.param(400, "Repository does not allow updating assets: pypi-hosted", id="Nexus"),
    pytest.param(400, "Bad Request Asset demo-pkg/1.0/demo_pkg-1.0.tar.gz cannot be updated", id="Nexus (3.x)"),
    pytest.param(400, '{"message":"400 Bad request - File name has already been taken"}', id="GitLab"),
    pytest.param(
        400, "Bad Request: the file demo_pkg-1.0.tar.gz already exists in the repository", id="Google Artifact Registry"
    ),
    pytest.param(409, "Conflict", id="AWS CodeArtifact"),
    pytest.param(409, "", id="409 without text"),
    pytest.param(400, "FILE ALREADY EXISTS.", id="case-insensitive"),
]


@pytest.mark.parametrize(("status", "text"), ALREADY_EXISTS)
def test_is_already_exists(status, text):
    assert is_already_exists(status, text) is True


@pytest.mark.parametrize(
    ("status", "text"),
    [
        pytest.param(
            400,
            "This filename has already been used, use a different version. "
            "See https://index.example.org/help/#file-name-reuse for more information.",
            id="PyPI deleted file (earlier wording: has already been used)",
        ),
        pytest.param(
            400,
            "This filename has previously been used, you should use a different version. "
            "See https://index.example.org/help/#file-name-reuse",
            id="PyPI deleted file (earliest wording: has previously been used)",
        ),
        pytest.param(
            400,
            "This filename was previously used by a file that has since been deleted. Use a different version. "
            "See https://index.example.org/help/#file-name-reuse for more information.",
            id="PyPI deleted file (current wording)",
        ),
        pytest.param(400, "File already exists, but it was previously used and deleted", id="previously used"),
        pytest.param(400, "Invalid distribution file.", id="invalid distribution"),
        pytest.param(400, "'1.0.0.0.0.0.x' is an invalid value for Version.", id="invalid version"),
        pytest.param(400, "", id="400 without text"),
        pytest.param(
            403,
            "Invalid or non-existent authentication information. See https://index.example.org/help/#invalid-auth for more information.",
            id="PyPI bad token",
        ),
        pytest.param(403, "Forbidden", id="403 without text"),
        pytest.param(403, "File already exists", id="403 from a proxy, with PyPI's words"),
        pytest.param(401, "Unauthorized", id="401"),
        pytest.param(500, "Internal Server Error: file already exists", id="500 mentioning already exists"),
        pytest.param(413, "Request Entity Too Large", id="413"),
        pytest.param(200, "already exists", id="200"),
    ],
)
def test_is_not_already_exists(status, text):
    assert is_already_exists(status, text) is False


def test_every_already_exists_row_has_a_realistic_example():
    """A new row in ALREADY_EXISTS_ANSWERS needs an example above (SPEC: a test per row)."""
    examples = {param.id: param.values for param in ALREADY_EXISTS}
    for server, status, needle in ALREADY_EXISTS_ANSWERS:
        matching = [
            (code, text)
            for name, (code, text) in examples.items()
            if name.startswith(server.split(" (")[0]) and code == status and needle in text.lower()
        ]
        assert matching, f"no example for {server} {status} {needle!r}"


def response(status: int, body: str = "", *, reason: str = "", headers: dict | None = None) -> requests.Response:
    r = requests.Response()
    r.status_code = status
    r.reason = reason
    r._content = body.encode()
    r.encoding = "utf-8"
    r.headers.update(headers or {})
    r.url = "https://upload.example.com/legacy/"
    return r


BOTTLE_409 = """<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">
<html>
    <head>
        <title>Error: 409 Conflict</title>
        <style type="text/css">
          html {background-color: #eee; font-family: sans-serif;}
        </style>
    </head>
    <body>
        <h1>Error: 409 Conflict</h1>
        <p>Sorry, the requested URL <tt>&#039;http://127.0.0.1:8080/&#039;</tt>
           caused an error:</p>
        <pre>Package &#039;demo_pkg-1.0.tar.gz&#039; already exists!
  You may start server with `--overwrite` option.</pre>
    </body>
</html>
"""

PYPI_400 = """<html>
 <head>
  <title>400 File already exists. See https://index.example.org/help/#file-name-reuse for more information.</title>
 </head>
 <body>
  <h1>400 File already exists. See https://index.example.org/help/#file-name-reuse for more information.</h1>
  The server could not comply with the request since it is either malformed or otherwise incorrect.<br/><br/>
File already exists. See https://index.example.org/help/#file-name-reuse for more information.


 </body>
</html>"""


@pytest.mark.parametrize(
    ("resp", "contains", "excludes"),
    [
        pytest.param(
            response(409, BOTTLE_409, reason="Conflict"),
            ["Conflict", "Package 'demo_pkg-1.0.tar.gz' already exists! You may start server"],
            ["background-color", "Sorry", "<"],
            id="pypiserver-bottle-pre",
        ),
        pytest.param(
            response(400, PYPI_400, reason="File already exists. See https://index.example.org/help/#file-name-reuse for more information."),
            ["File already exists"],
            ["<", "\n"],
            id="pypi",
        ),
        pytest.param(response(409, "", reason="Conflict"), ["Conflict"], [], id="reason-only"),
        pytest.param(
            response(409, "409 demo_pkg-1.0.tar.gz already exists in non-volatile index", reason="Conflict"),
            ["Conflict demo_pkg-1.0.tar.gz already exists in non-volatile index"],
            ["409"],
            id="devpi-status-line-not-repeated",
        ),
        pytest.param(response(400, "Bad Request: nope", reason="Bad Request"), ["Bad Request: nope"], ["Bad Request Bad"], id="reason-not-doubled"),
    ],
)
def test_server_message(resp, contains, excludes):
    text = server_message(resp)
    for part in contains:
        assert part in text
    for part in excludes:
        assert part not in text


def test_server_message_is_limited():
    text = server_message(response(400, "x" * 5000, reason="Bad Request"), limit=100)
    assert len(text) == 100 and text.endswith("…")


@pytest.mark.parametrize(("resp", "_"), [(response(409, BOTTLE_409, reason="Conflict"), 0), (response(400, PYPI_400, reason="File already exists. See https://index.example.org/help/#file-name-reuse for more information."), 0)])
def test_real_already_exists_pages_are_recognised(resp, _):
    assert is_already_exists(resp.status_code, server_message(resp))


# ---------------------------------------------------------------- errors and hints

URL = "https://upload.example.com/legacy/"


@pytest.mark.parametrize(
    ("status", "message", "error_type", "hint_words"),
    [
        pytest.param(401, "Unauthorized", UploadAuthError, ["--username", "--password", "--token"], id="401"),
        pytest.param(
            403,
            "Invalid or non-existent authentication information. See https://index.example.org/help/#invalid-auth",
            UploadAuthError,
            ["upload credentials", "--token"],
            id="403",
        ),
        pytest.param(405, "Method Not Allowed", NetworkError, ["not accept uploads", "simple index"], id="405"),
        pytest.param(413, "Request Entity Too Large", NetworkError, ["larger"], id="413"),
        pytest.param(400, "Invalid distribution file.", NetworkError, ["rejected"], id="400"),
        pytest.param(
            400,
            "This filename was previously used by a file that has since been deleted. Use a different version. "
            "See https://index.example.org/help/#file-name-reuse for more information.",
            NetworkError,
            ["deleted", "bump the version"],
            id="400-pypi-filename-reuse",
        ),
        pytest.param(400, "Only one sdist may be uploaded per release.", NetworkError, ["rejected"], id="400-second-sdist"),
        pytest.param(500, "Internal Server Error", NetworkError, ["try again later"], id="500"),
        pytest.param(502, "Bad Gateway", NetworkError, ["try again later"], id="502"),
        pytest.param(503, "", NetworkError, ["try again later"], id="503-no-text"),
    ],
)
def test_upload_error(status, message, error_type, hint_words):
    error = upload_error("demo_pkg-1.0.tar.gz", URL, status, message)
    assert type(error) is error_type
    assert error.exit_code == ExitCode.FAILURE
    text = str(error)
    assert "demo_pkg-1.0.tar.gz" in text
    assert URL in text
    assert f"HTTP {status}" in text
    if message:
        assert message in text
    assert error.hint
    for word in hint_words:
        assert word in error.hint, error.hint


@pytest.mark.parametrize(
    ("attempts", "expected"), [(1, "failed with HTTP 503"), (2, "failed after 2 attempts with HTTP 503"), (4, "after 4 attempts")]
)
def test_upload_error_counts_attempts(attempts, expected):
    assert expected in str(upload_error("x.whl", URL, 503, "", attempts=attempts))


def test_upload_error_redacts_the_url():
    error = upload_error("x.whl", "https://ci:hunter2@upload.example.com/legacy/", 401, "Unauthorized")
    assert "hunter2" not in str(error) and "hunter2" not in (error.hint or "")
    assert "ci:***@upload.example.com" in str(error)


@pytest.mark.parametrize(
    ("url", "status", "location", "hint_words", "location_shown"),
    [
        pytest.param(
            "https://upload.example.com/legacy",
            301,
            "https://upload.example.com/legacy/",
            ["trailing slash", "--publish-url https://upload.example.com/legacy/"],
            "https://upload.example.com/legacy/",
            id="trailing-slash-301",
        ),
        pytest.param(
            "https://upload.example.com/legacy",
            302,
            "/legacy/",
            ["trailing slash", "--publish-url https://upload.example.com/legacy/"],
            "https://upload.example.com/legacy/",
            id="trailing-slash-relative-location",
        ),
        pytest.param(
            "https://upload.example.com/legacy/",
            302,
            "https://sso.example.com/login",
            ["another host"],
            "https://sso.example.com/login",
            id="other-host",
        ),
        pytest.param(
            "https://upload.example.com/legacy/",
            308,
            "http://upload.example.com/legacy/",
            ["another host"],
            "http://upload.example.com/legacy/",
            id="scheme-downgrade",
        ),
        pytest.param(
            "https://upload.example.com/legacy/",
            302,
            "/login?next=/legacy/",
            ["only 307/308", "--publish-url https://upload.example.com/login?next=/legacy/"],
            "https://upload.example.com/login?next=/legacy/",
            id="same-host-other-path",
        ),
        pytest.param(
            "https://upload.example.com/legacy/",
            301,
            "https://bot:hunter2@mirror.example.com/legacy/",
            ["another host"],
            "https://bot:***@mirror.example.com/legacy/",
            id="credentials-in-location-redacted",
        ),
    ],
)
def test_redirect_error(url, status, location, hint_words, location_shown):
    r = requests.Response()
    r.status_code = status
    r.headers["Location"] = location
    error = redirect_error("demo_pkg-1.0.tar.gz", url, r)
    assert isinstance(error, RedirectError)
    assert error.exit_code == ExitCode.FAILURE
    message = str(error)
    assert "demo_pkg-1.0.tar.gz" in message
    assert f"({status})" in message
    assert location_shown in message
    for word in hint_words:
        assert word in error.hint, error.hint
    assert "hunter2" not in message + error.hint
