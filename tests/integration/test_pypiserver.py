"""Against a real pypiserver (htpasswd auth via passlib) on a free 127.0.0.1 port (SPEC sections 2-4 and 8).

``pypi``: authenticated uploads, anonymous reads. ``pypi_private``: reads need
credentials too. Both are shared per session and emptied after each test. The
upload password is CANARY and never appears in any output.
"""

from __future__ import annotations

import hashlib
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag, urljoin

import pytest
import requests

from tests.conftest import CANARY
from tests.distfactory import make_sdist, make_wheel
from tests.integration.helpers import Outcome, run, sha256
from tests.servers.pypiserver import PypiServer

WHEEL = "demo_pkg-1.0-py3-none-any.whl"
SDIST = "demo_pkg-1.0.tar.gz"
CREDENTIALS_HINT = "upload credentials are missing or wrong"


def upload(
    cli,
    server: PypiServer,
    *paths: Path,
    username: str | None = None,
    password: str | None = CANARY,
    check: bool = False,
    extra: tuple[str, ...] = (),
) -> Outcome:
    """``pubtool upload --json`` to ``server``; its own user and CANARY unless told otherwise."""
    args = ["upload", "--publish-url", server.url, "--retries", "0", "--timeout", "10", "--json"]
    if password is not None:
        args += ["-u", username or server.username, "-p", password]
    if check:
        args += ["--check-url", server.simple_url]
    return run(cli, *args, *extra, *paths)


@pytest.fixture
def release(dist_dir: Path) -> tuple[Path, Path]:
    """demo-pkg 1.0: a wheel and an sdist."""
    return make_wheel(dist_dir, payload=b"the wheel's payload"), make_sdist(dist_dir, payload=b"the sdist's payload")


def local_hashes(*paths: Path) -> dict[str, str]:
    return {path.name: sha256(path) for path in paths}


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        if tag == "a":
            self.hrefs.extend(value for name, value in attrs if name == "href" and value)


def links(page_url: str, auth=None) -> dict[str, tuple[str, str]]:
    """filename -> (absolute file URL, #sha256 fragment) of a PEP 503 project page."""
    response = requests.get(page_url, auth=auth, timeout=10)
    response.raise_for_status()
    parser = _Links()
    parser.feed(response.text)
    found = {}
    for href in parser.hrefs:
        url, fragment = urldefrag(urljoin(page_url, href))
        found[url.rsplit("/", 1)[-1]] = (url, fragment)
    return found


# ---------------------------------------------------------------- anonymous reads


def test_uploaded_files_are_served_byte_for_byte(cli, pypi, release):
    wheel, sdist = release

    outcome = upload(cli, pypi, sdist, wheel)

    assert outcome.exit_code == 0, outcome.stderr
    assert outcome.actions == {WHEEL: "uploaded", SDIST: "uploaded"}
    assert pypi.stored() == local_hashes(wheel, sdist)
    listed = links(f"{pypi.simple_url}demo-pkg/")
    assert set(listed) == {WHEEL, SDIST}
    for dist in (wheel, sdist):
        url, fragment = listed[dist.name]
        served = requests.get(url, timeout=10)
        assert served.status_code == 200
        assert hashlib.sha256(served.content).hexdigest() == sha256(dist)
        assert fragment == f"sha256={sha256(dist)}"


def test_second_upload_without_check_url_is_exit_1_with_the_already_exists_hint(cli, pypi, release):
    assert upload(cli, pypi, *release).exit_code == 0
    stored = pypi.stored()

    outcome = upload(cli, pypi, *release)

    assert outcome.exit_code == 1
    assert WHEEL in outcome.message and "already exists" in outcome.message
    assert "HTTP 409" in outcome.message
    assert "--check-url" in outcome.hint and "--skip-existing" in outcome.hint
    assert outcome.actions == {WHEEL: "failed", SDIST: "not-attempted"}
    assert pypi.stored() == stored


def test_rerun_with_check_url_skips_everything(cli, pypi, release):
    first = upload(cli, pypi, *release, check=True)
    assert first.exit_code == 0, first.stderr
    assert first.actions == {WHEEL: "uploaded", SDIST: "uploaded"}
    stored = pypi.stored()

    outcome = upload(cli, pypi, *release, check=True)

    assert outcome.exit_code == 0, outcome.stderr
    assert outcome.actions == {WHEEL: "skipped", SDIST: "skipped"}
    assert {item["reason"] for item in outcome.report["files"]} == {"already on the index"}
    assert pypi.stored() == stored


def test_rerun_after_a_partial_upload_uploads_only_the_rest(cli, pypi, release):
    wheel, sdist = release
    assert upload(cli, pypi, wheel).exit_code == 0

    outcome = upload(cli, pypi, wheel, sdist, check=True)

    assert outcome.exit_code == 0, outcome.stderr
    assert outcome.actions == {WHEEL: "skipped", SDIST: "uploaded"}
    assert pypi.stored() == local_hashes(wheel, sdist)


def test_different_file_of_the_same_name_is_a_conflict(cli, pypi, release, tmp_path):
    assert upload(cli, pypi, *release).exit_code == 0
    stored = pypi.stored()
    rebuilt = tmp_path / "rebuilt"
    rebuilt.mkdir()
    other_wheel = make_wheel(rebuilt, payload=b"a different build of the same version")

    outcome = upload(cli, pypi, other_wheel, check=True)

    assert outcome.exit_code == 4
    assert outcome.actions == {WHEEL: "conflict"}
    assert pypi.stored() == stored


def test_skip_existing_is_exit_0(cli, pypi, release):
    assert upload(cli, pypi, *release).exit_code == 0
    stored = pypi.stored()

    outcome = upload(cli, pypi, *release, extra=("--skip-existing",))

    assert outcome.exit_code == 0, outcome.stderr
    assert outcome.actions == {WHEEL: "skipped", SDIST: "skipped"}
    assert len(outcome.warnings) == 2 and all("without comparing" in w for w in outcome.warnings)
    assert pypi.stored() == stored


@pytest.mark.parametrize(
    "username, password",
    [("uploader", "not-the-password"), ("somebody-else", CANARY), (None, None)],
    ids=["wrong-password", "wrong-user", "no-credentials"],
)
def test_wrong_upload_credentials_are_exit_1_and_nothing_is_stored(cli, pypi, release, username, password):
    outcome = upload(cli, pypi, *release, username=username, password=password)

    assert outcome.exit_code == 1
    assert CREDENTIALS_HINT in outcome.hint
    assert outcome.actions == {WHEEL: "failed", SDIST: "not-attempted"}
    assert pypi.stored() == {}


# ---------------------------------------------------------------- authenticated reads


def test_check_url_without_any_credentials_is_exit_3(cli, pypi_private, release):
    outcome = upload(cli, pypi_private, *release, password=None, check=True)

    assert outcome.exit_code == 3
    assert f"{pypi_private.simple_url}demo-pkg/" in outcome.message and "401" in outcome.message
    assert "nothing was uploaded" in outcome.message
    hint = outcome.hint
    assert f"read credentials for {pypi_private.simple_url} are missing or wrong" in hint
    assert "--check-username/--check-password" in hint
    assert "--allow-check-auth-failure" in hint
    assert outcome.actions == {WHEEL: "not-attempted", SDIST: "not-attempted"}
    assert pypi_private.stored() == {}


def test_wrong_read_credentials_are_exit_3_even_with_good_upload_credentials(cli, pypi_private, release):
    outcome = upload(
        cli, pypi_private, *release, check=True,
        extra=("--check-username", pypi_private.username, "--check-password", "not-the-password"),
    )  # fmt: skip

    assert outcome.exit_code == 3
    assert "403" in outcome.message or "401" in outcome.message
    assert "--check-username/--check-password" in outcome.hint
    assert pypi_private.stored() == {}


def test_upload_credentials_serve_the_check_url_on_the_same_realm(cli, pypi_private, release):
    outcome = upload(cli, pypi_private, *release, check=True)

    assert outcome.exit_code == 0, outcome.stderr
    assert outcome.actions == {WHEEL: "uploaded", SDIST: "uploaded"}
    assert pypi_private.stored() == local_hashes(*release)

    again = upload(cli, pypi_private, *release, check=True)  # the check really read the page

    assert again.exit_code == 0, again.stderr
    assert again.actions == {WHEEL: "skipped", SDIST: "skipped"}


def test_read_credentials_are_used_for_the_listing_and_its_files(cli, pypi_private, release):
    assert upload(cli, pypi_private, *release).exit_code == 0
    listed = links(f"{pypi_private.simple_url}demo-pkg/", auth=(pypi_private.username, CANARY))
    assert set(listed) == {WHEEL, SDIST}

    outcome = upload(
        cli, pypi_private, *release, password=None, check=True,
        extra=("--check-username", pypi_private.username, "--check-password", CANARY),
    )  # fmt: skip

    assert outcome.exit_code == 0, outcome.stderr
    assert outcome.actions == {WHEEL: "skipped", SDIST: "skipped"}


def test_allow_check_auth_failure_warns_then_uploads(cli, pypi_private, release):
    outcome = upload(
        cli, pypi_private, *release, check=True,
        extra=(
            "--check-username", pypi_private.username, "--check-password", "not-the-password",
            "--allow-check-auth-failure",
        ),
    )  # fmt: skip

    assert outcome.exit_code == 0, outcome.stderr
    assert len(outcome.warnings) == 1, outcome.stderr
    assert f"{pypi_private.simple_url}demo-pkg/" in outcome.warnings[0]
    assert "--allow-check-auth-failure" in outcome.warnings[0]
    assert outcome.errors == []
    assert outcome.actions == {WHEEL: "uploaded", SDIST: "uploaded"}
    assert pypi_private.stored() == local_hashes(*release)
