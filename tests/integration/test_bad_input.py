"""Bad usage and bad input: exit 2, one line naming the culprit, and not one request (SPEC sections 2, 3 steps 1-2, 8).

The ScriptedServer is both ``--publish-url`` and ``--check-url`` and answers
every request; each rejected run asserts it received none. ``pubtool check``
validates the same files offline.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from tests.conftest import CANARY
from tests.distfactory import make_sdist, make_wheel, metadata_text
from tests.integration.helpers import UPLOADER, Outcome, posted, run
from tests.servers.scripted import Reply, ScriptedServer

WHEEL = "demo_pkg-1.0-py3-none-any.whl"
SDIST = "demo_pkg-1.0.tar.gz"


def upload_args(server: ScriptedServer) -> list[str]:
    return [
        "upload",
        "--publish-url", f"{server.url}/legacy/",
        "--check-url", f"{server.url}/simple/",
        "-u", UPLOADER, "-p", CANARY,
        "--retries", "0",
    ]  # fmt: skip


def assert_rejected(outcome: Outcome, server: ScriptedServer, named: str, reason: str) -> None:
    """Exit 2, the reason on one line that names the input, and nothing sent."""
    assert server.requests == [], [(r.method, r.path) for r in server.requests]
    assert outcome.exit_code == 2, outcome.stderr
    error_lines = [line for line in outcome.stderr.splitlines() if line.lower().startswith("error:")]
    assert len(error_lines) == 1, outcome.stderr
    assert named in error_lines[0], outcome.stderr
    assert reason in error_lines[0], outcome.stderr


@pytest.fixture
def server(scripted: ScriptedServer) -> ScriptedServer:
    """Would accept anything: every test asserts it was never asked."""
    scripted.on("GET", "*", Reply(404, "Not Found"))
    scripted.on("POST", "*", Reply(200, "OK"))
    return scripted


# ---------------------------------------------------------------- one bad file


def _zero_byte(d: Path) -> Path:
    path = d / WHEEL
    path.write_bytes(b"")
    return path


def _corrupt_zip(d: Path) -> Path:
    path = d / WHEEL
    path.write_bytes(b"PK\x03\x04 this is not really a zip archive" * 10)
    return path


def _truncated_sdist(d: Path) -> Path:
    whole = make_sdist(d, payload=os.urandom(4096))
    data = whole.read_bytes()
    whole.write_bytes(data[: len(data) // 2])
    return whole


def _readme(d: Path) -> Path:
    path = d / "README.txt"
    path.write_text("not a distribution\n")
    return path


def _wheel_with(d: Path, **metadata_options) -> Path:
    version = metadata_options.pop("version", "1.0")
    name = metadata_options.pop("name", "demo-pkg")
    return make_wheel(d, metadata=metadata_text(name, version, **metadata_options))


def _sdist_with(d: Path, **metadata_options) -> Path:
    version = metadata_options.pop("version", "1.0")
    name = metadata_options.pop("name", "demo-pkg")
    return make_sdist(d, metadata=metadata_text(name, version, **metadata_options))


@dataclass(frozen=True)
class BadFile:
    """``make(dist_dir)`` builds the one path to pass; the error line must contain ``reason``."""

    make: Callable[[Path], Path]
    reason: str


BAD_FILES = [
    pytest.param(BadFile(lambda d: d / WHEEL, "no such file or directory"), id="missing-path"),
    pytest.param(BadFile(lambda d: d / "*.whl", "no file matches this pattern"), id="glob-matching-nothing"),
    pytest.param(
        BadFile(lambda d: _readme(d).parent, "no distributions found here"), id="directory-without-distributions"
    ),
    pytest.param(BadFile(lambda d: d, "no distributions found here"), id="empty-directory"),
    pytest.param(BadFile(_readme, "not a distribution"), id="non-distribution-named-explicitly"),
    pytest.param(BadFile(_zero_byte, "empty (0 bytes)"), id="zero-byte-wheel"),
    pytest.param(BadFile(_corrupt_zip, "cannot read the archive"), id="corrupt-zip-named-whl"),
    pytest.param(BadFile(_truncated_sdist, "cannot read the archive"), id="truncated-tar-gz"),
    pytest.param(
        BadFile(lambda d: make_wheel(d, filename="demo_pkg-1.0.whl"), "invalid filename"), id="invalid-wheel-filename"
    ),
    pytest.param(
        BadFile(lambda d: make_sdist(d, filename="demo_pkg.tar.gz"), "invalid filename"), id="invalid-sdist-filename"
    ),
    pytest.param(
        BadFile(lambda d: _wheel_with(d, name="other-pkg"), "does not match the filename's project"),
        id="name-disagrees-with-filename",
    ),
    pytest.param(
        BadFile(lambda d: _sdist_with(d, name="other-pkg"), "does not match the filename's project"),
        id="sdist-name-disagrees-with-filename",
    ),
    pytest.param(
        BadFile(lambda d: _wheel_with(d, version="2.0"), "does not match the filename's version"),
        id="version-disagrees-with-filename",
    ),
    pytest.param(BadFile(lambda d: _wheel_with(d, omit=("Name",)), "metadata has no Name"), id="missing-name"),
    pytest.param(BadFile(lambda d: _sdist_with(d, omit=("Name",)), "metadata has no Name"), id="sdist-missing-name"),
    pytest.param(BadFile(lambda d: _wheel_with(d, omit=("Version",)), "metadata has no Version"), id="missing-version"),
    pytest.param(
        BadFile(lambda d: make_wheel(d, metadata=metadata_text("demo-pkg", "one.point.oh")), "not a valid version"),
        id="invalid-version",
    ),
    pytest.param(
        BadFile(lambda d: _wheel_with(d, metadata_version="9.9"), "unknown Metadata-Version '9.9'"),
        id="unknown-metadata-version",
    ),
    pytest.param(
        BadFile(lambda d: _sdist_with(d, metadata_version="1.5"), "unknown Metadata-Version '1.5'"),
        id="unknown-older-metadata-version",
    ),
]  # fmt: skip


@pytest.mark.parametrize("bad", BAD_FILES)
def test_bad_file_is_exit_2_naming_it_and_nothing_is_sent(cli, server, dist_dir, bad):
    path = bad.make(dist_dir)

    outcome = run(cli, *upload_args(server), path)

    assert_rejected(outcome, server, str(path), bad.reason)
    assert "nothing was sent" in outcome.hint


@pytest.mark.parametrize("bad", BAD_FILES)
def test_check_command_rejects_the_same_file(cli, dist_dir, bad):
    path = bad.make(dist_dir)

    outcome = run(cli, "check", path)

    assert outcome.exit_code == 2, outcome.stderr
    errors = outcome.errors
    assert len(errors) == 1 and str(path) in errors[0] and bad.reason in errors[0], outcome.stderr


def test_same_filename_twice_with_different_content(cli, server, tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    make_wheel(first, payload=b"first build")
    other = make_wheel(second, payload=b"second build")

    outcome = run(cli, *upload_args(server), first / WHEEL, other)

    assert_rejected(outcome, server, str(other), "different content")
    assert str(first / WHEEL) in outcome.message


def test_unreadable_file(cli, server, dist_dir):
    wheel = make_wheel(dist_dir)
    wheel.chmod(0)
    try:
        if os.access(wheel, os.R_OK):
            pytest.skip("running as root: a chmod 000 file stays readable")
        outcome = run(cli, *upload_args(server), wheel)
    finally:
        wheel.chmod(0o644)

    assert_rejected(outcome, server, str(wheel), "cannot read the file")


# ---------------------------------------------------------------- bad options

# (options added after the usual ones (a later option wins), what the error line names, its reason)
BAD_OPTIONS = [
    pytest.param(["--publish-url", "ftp://x"], "--publish-url", "not an http:// or https:// URL", id="ftp-publish-url"),
    pytest.param(["--publish-url", "not a url"], "--publish-url", "'not a url'", id="publish-url-not-a-url"),
    pytest.param(["--publish-url", "http://"], "--publish-url", "not an http:// or https://", id="publish-url-no-host"),
    pytest.param(["--publish-url", "http://127.0.0.1:99999/"], "--publish-url", "not a valid URL", id="bad-port"),
    pytest.param(["--check-url", "ftp://x/simple/"], "--check-url", "not an http:// or https://", id="ftp-check-url"),
    pytest.param(["--retries", "-1"], "--retries", "Invalid value", id="negative-retries"),
    pytest.param(["--retries", "many"], "--retries", "Invalid value", id="retries-not-a-number"),
    pytest.param(["--timeout", "0"], "--timeout", "Invalid value", id="zero-timeout"),
    pytest.param(["--timeout", "abc"], "--timeout", "Invalid value", id="timeout-not-a-number"),
    pytest.param(["-t", CANARY, "-u", "someone"], "--token", "'someone'", id="token-with-username"),
    pytest.param(["--no-such-option"], "--no-such-option", "No such option", id="unknown-option"),
]  # fmt: skip


@pytest.mark.parametrize("options, named, reason", BAD_OPTIONS)
def test_bad_option_is_exit_2_naming_it_and_nothing_is_sent(cli, server, dist_dir, options, named, reason):
    wheel = make_wheel(dist_dir)

    outcome = run(cli, *upload_args(server), *options, wheel)

    assert_rejected(outcome, server, named, reason)


def click_names_env_vars() -> bool:
    """typer 0.26+ vendors click 8.2+, which names the variable; Python 3.9 gets typer 0.23 and click 8.1."""
    import importlib.util
    from importlib.metadata import version

    if importlib.util.find_spec("typer._click") is not None:
        return True
    return tuple(int(part) for part in version("click").split(".")[:2]) >= (8, 2)


def test_bad_option_from_the_environment_names_the_variable(cli, server, dist_dir, monkeypatch):
    monkeypatch.setenv("PUBTOOL_RETRIES", "-3")

    outcome = run(cli, "upload", "--publish-url", f"{server.url}/legacy/", make_wheel(dist_dir))

    named = "PUBTOOL_RETRIES" if click_names_env_vars() else "--retries"  # README: Python 3.9
    assert_rejected(outcome, server, named, "Invalid value")


def test_no_paths_is_a_usage_error(cli, server):
    outcome = run(cli, *upload_args(server))

    assert server.requests == []
    assert outcome.exit_code == 2
    assert "PATHS" in outcome.stderr


# ---------------------------------------------------------------- several problems, duplicates, companions


def test_every_problem_in_every_file_is_reported_in_one_run(cli, server, dist_dir):
    good = make_wheel(dist_dir)
    broken = {
        "empty": _zero_byte(_subdir(dist_dir, "empty")),
        "truncated": _truncated_sdist(_subdir(dist_dir, "truncated")),
        "misnamed": make_wheel(_subdir(dist_dir, "misnamed"), metadata=metadata_text("other-pkg", "3.0")),
        "missing": dist_dir / "gone-1.0.tar.gz",
        "readme": _readme(_subdir(dist_dir, "docs")),
    }

    outcome = run(cli, *upload_args(server), "--json", good, *broken.values())

    assert server.requests == []
    assert outcome.exit_code == 2
    details = outcome.errors[:-1]
    for path in broken.values():
        assert any(line.startswith(f"{path}:") for line in details), (path, outcome.stderr)
    misnamed = [line for line in details if line.startswith(str(broken["misnamed"]))]
    assert len(misnamed) == 2  # both the Name and the Version disagree: two lines
    assert outcome.message.startswith(f"{len(details)} problems found")
    actions = {item["path"]: (item["action"], item["reason"]) for item in outcome.report["files"]}
    assert actions[str(good)] == ("not-attempted", None)
    for path in broken.values():
        action, reason = actions[str(path)]
        assert action == "failed" and reason


def _subdir(parent: Path, name: str) -> Path:
    path = parent.parent / name
    path.mkdir(exist_ok=True)
    return path


# how one file can be given twice: (wheel) -> PATHS
SAME_PATH_TWICE = [
    pytest.param(lambda wheel: [wheel, wheel], id="twice"),
    pytest.param(lambda wheel: [wheel, wheel.parent], id="file-and-its-directory"),
    pytest.param(lambda wheel: [wheel, os.path.relpath(wheel)], id="absolute-and-relative"),
    pytest.param(lambda wheel: [wheel.parent / "*.whl", wheel], id="glob-and-file"),
]


@pytest.mark.parametrize("spell", SAME_PATH_TWICE)
def test_the_same_path_twice_is_uploaded_once(cli, server, dist_dir, spell):
    wheel = make_wheel(dist_dir)

    outcome = run(cli, *upload_args(server), "--json", *spell(wheel))

    assert outcome.exit_code == 0, outcome.stderr
    assert posted(server) == [WHEEL]
    assert outcome.actions == {WHEEL: "uploaded"}


def test_the_same_content_under_two_paths_is_uploaded_once(cli, server, dist_dir, tmp_path):
    wheel = make_wheel(dist_dir)
    copy_dir = tmp_path / "copy"
    copy_dir.mkdir()
    copy = Path(shutil.copy(wheel, copy_dir))

    outcome = run(cli, *upload_args(server), "--json", wheel, copy)

    assert outcome.exit_code == 0, outcome.stderr
    assert posted(server) == [WHEEL]
    assert [item["path"] for item in outcome.report["files"]] == [str(wheel)]


@pytest.mark.parametrize("given", ["directory", "quoted-glob", "shell-expanded"])
def test_signatures_next_to_distributions_are_ignored_with_a_note(cli, server, dist_dir, given):
    wheel, sdist = make_wheel(dist_dir), make_sdist(dist_dir)
    signatures = [Path(f"{dist}.asc") for dist in (wheel, sdist)]
    for signature in signatures:
        signature.write_text("-----BEGIN PGP SIGNATURE-----\n")
    paths = {
        "directory": [dist_dir],
        "quoted-glob": [dist_dir / "*"],
        "shell-expanded": sorted(dist_dir.iterdir()),  # what `pubtool upload dist/*` receives from the shell
    }[given]

    outcome = run(cli, *upload_args(server), *paths)

    assert outcome.exit_code == 0, outcome.stderr
    assert sorted(posted(server)) == sorted([WHEEL, SDIST])
    for signature in signatures:
        assert any(str(signature) in note and "signature" in note for note in outcome.notes), outcome.stderr
    assert outcome.errors == []


def test_other_files_found_in_a_directory_are_ignored_with_a_note(cli, server, dist_dir):
    make_wheel(dist_dir)
    readme = _readme(dist_dir)

    outcome = run(cli, *upload_args(server), dist_dir)

    assert outcome.exit_code == 0, outcome.stderr
    assert posted(server) == [WHEEL]
    assert any(str(readme) in note for note in outcome.notes)


# ---------------------------------------------------------------- --json on bad input (SPEC section 8)


def test_json_report_on_a_bad_file(cli, server, dist_dir):
    good = make_sdist(dist_dir)
    bad = _zero_byte(dist_dir)

    outcome = run(cli, *upload_args(server), "--json", good, bad)

    assert server.requests == []
    assert outcome.exit_code == 2
    report = outcome.report
    assert report["exit_code"] == 2
    assert report["publish_url"] == f"{server.url}/legacy/"
    assert report["check_url"] == f"{server.url}/simple/"
    by_name = {item["filename"]: item for item in report["files"]}
    assert by_name[WHEEL]["action"] == "failed"
    assert by_name[WHEEL]["path"] == str(bad)
    assert "empty" in by_name[WHEEL]["reason"]
    assert by_name[SDIST]["action"] == "not-attempted"
    assert report["error"]["message"] == outcome.message


def test_json_report_on_a_bad_option(cli, server, dist_dir):
    outcome = run(cli, *upload_args(server), "--json", "--publish-url", "ftp://x", make_wheel(dist_dir))

    assert server.requests == []
    assert outcome.exit_code == 2
    assert outcome.report["exit_code"] == 2
    assert "--publish-url" in outcome.report["error"]["message"]


# ---------------------------------------------------------------- pubtool check


def test_check_accepts_good_files(cli, dist_dir):
    wheel, sdist = make_wheel(dist_dir), make_sdist(dist_dir)

    outcome = run(cli, "check", wheel, sdist)

    assert outcome.exit_code == 0, outcome.stderr
    assert outcome.errors == []
    rows = {line.split("│")[0].strip(): line.split("│")[1].strip() for line in outcome.stderr.splitlines() if "│" in line}
    assert rows[WHEEL] in ("ok", "warning") and rows[SDIST] in ("ok", "warning"), outcome.stderr


def test_check_reports_every_bad_file(cli, dist_dir):
    good = make_wheel(dist_dir)
    bad = [_zero_byte(_subdir(dist_dir, "zero")), _wheel_with(_subdir(dist_dir, "noname"), omit=("Name",))]

    outcome = run(cli, "check", good, *bad)

    assert outcome.exit_code == 2
    for path in bad:
        assert any(line.startswith(f"{path}:") for line in outcome.errors), outcome.stderr


def test_real_process_prints_only_its_own_lines_for_bad_metadata(dist_dir):
    """No Python warning from the metadata reader reaches the user's terminal."""
    wheel = _wheel_with(dist_dir, metadata_version="9.9")

    done = subprocess.run(
        [sys.executable, "-m", "publisher", "upload", "--publish-url", "http://127.0.0.1:9/", str(wheel)],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 2
    assert [line.split(":")[0] for line in done.stderr.splitlines()] == ["error", "hint"], done.stderr
