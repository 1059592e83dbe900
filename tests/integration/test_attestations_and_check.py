"""``--attestations`` (PEP 740) and ``pubtool check`` (issue 6; SPEC sections 1 and 3).

Attestations: each distribution's ``<file>.publish.attestation`` is validated before any
request and sent as the ``attestations`` form field, a JSON array of its objects.
``pubtool check``: offline; one row per file (ok / warning / error); exit 2 for what PyPI
would refuse, with an ``error:`` line naming the file and the reason.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import pytest
from packaging.version import Version

from publisher.distributions.pypi_rules import SUMMARY_MAX, check_metadata_for_pypi
from tests.conftest import CANARY
from tests.distfactory import make_sdist, make_wheel, metadata_text
from tests.integration.helpers import UPLOADER, Outcome, posted, run
from tests.servers.scripted import Reply, ScriptedServer

UPLOAD_PATH = "/legacy/"
SUFFIX = ".publish.attestation"
MARKDOWN = "Description-Content-Type: text/markdown\n"


def attestation_for(dist: Path) -> dict:
    """A PEP 740 attestation object, distinct per file."""
    return {
        "version": 1,
        "verification_material": {"certificate": f"cert-of-{dist.name}", "transparency_entries": [{"logIndex": 1}]},
        "envelope": {"statement": f"statement-of-{dist.name}", "signature": "c2lnbmF0dXJl"},
    }


def write_attestation(dist: Path, content: Optional[str] = None) -> Path:
    path = dist.with_name(dist.name + SUFFIX)
    path.write_text(json.dumps(attestation_for(dist)) if content is None else content, encoding="utf-8")
    return path


@pytest.fixture
def index(scripted: ScriptedServer) -> ScriptedServer:
    scripted.on("POST", UPLOAD_PATH, Reply(200, "OK"))
    return scripted


@pytest.fixture
def release(dist_dir: Path) -> tuple[Path, Path]:
    return make_wheel(dist_dir), make_sdist(dist_dir)


def upload(cli, server: ScriptedServer, *paths, extra=(), json_report: bool = True) -> Outcome:
    args = ["upload", "--publish-url", f"{server.url}{UPLOAD_PATH}", "-u", UPLOADER, "-p", CANARY]
    args += ["--retries", "0", "--timeout", "5"]
    if json_report:
        args.append("--json")
    return run(cli, *args, *extra, *paths)


def sent_attestations(server: ScriptedServer) -> dict[str, Optional[list[str]]]:
    """filename -> the ``attestations`` field values of its POST (None when absent)."""
    result = {}
    for request, filename in zip(server.matching("POST", UPLOAD_PATH), posted(server, UPLOAD_PATH)):
        result[filename] = request.form().get("attestations")
    return result


# ---------------------------------------------------------------- --attestations


@pytest.mark.parametrize("how", ["directory", "shell-expanded", "quoted-glob"])
def test_each_file_is_sent_with_its_attestation_as_a_json_array(cli, index, release, dist_dir, how):
    wheel, sdist = release
    attestations = [write_attestation(wheel), write_attestation(sdist)]
    paths = {
        "directory": [dist_dir],
        "shell-expanded": sorted([wheel, sdist, *attestations]),
        "quoted-glob": [f"{dist_dir}/*"],
    }[how]

    outcome = upload(cli, index, *paths, extra=("--attestations",))

    assert outcome.exit_code == 0, outcome.stderr
    assert outcome.actions == {wheel.name: "uploaded", sdist.name: "uploaded"}
    sent = sent_attestations(index)
    assert set(sent) == {wheel.name, sdist.name}
    for dist in (wheel, sdist):
        (field,) = sent[dist.name]
        assert json.loads(field) == [attestation_for(dist)]
    assert index.count("POST") == 2  # the attestation files themselves are not uploaded


def test_an_explicitly_named_file_finds_the_attestation_next_to_it(cli, index, release):
    wheel, _sdist = release
    write_attestation(wheel)

    outcome = upload(cli, index, wheel, extra=("--attestations",))

    assert outcome.exit_code == 0, outcome.stderr
    (field,) = sent_attestations(index)[wheel.name]
    assert json.loads(field) == [attestation_for(wheel)]


def test_a_missing_attestation_is_bad_input_naming_the_file_and_nothing_is_sent(cli, index, release, dist_dir):
    wheel, sdist = release
    write_attestation(wheel)  # the sdist has none

    outcome = upload(cli, index, dist_dir, extra=("--attestations",))

    assert outcome.exit_code == 2
    assert index.requests == []
    assert sdist.name in outcome.message
    assert f"{sdist.name}{SUFFIX}" in outcome.message
    assert "missing" in outcome.message
    assert not any(wheel.name in line for line in outcome.errors)  # the wheel has its attestation
    failed = {item["filename"]: item for item in outcome.report["files"] if item["action"] == "failed"}
    assert sdist.name in failed and sdist.name in failed[sdist.name]["reason"]


@pytest.mark.parametrize(
    "content, reason",
    [
        pytest.param('{"version": 1,', "not valid JSON", id="truncated"),
        pytest.param("", "not valid JSON", id="empty"),
        pytest.param("not json at all", "not valid JSON", id="text"),
        pytest.param("[1, 2]", "not a JSON object", id="array"),
        pytest.param('"a string"', "not a JSON object", id="string"),
    ],
)
def test_an_attestation_that_is_not_a_json_object_is_bad_input_naming_it(cli, index, release, dist_dir, content, reason):
    wheel, sdist = release
    write_attestation(sdist)
    bad = write_attestation(wheel, content)

    outcome = upload(cli, index, dist_dir, extra=("--attestations",))

    assert outcome.exit_code == 2
    assert index.requests == []
    assert bad.name in outcome.message
    assert reason in outcome.message


def test_several_attestation_problems_are_reported_together(cli, index, dist_dir):
    wheel, sdist = make_wheel(dist_dir), make_sdist(dist_dir)
    other = make_wheel(dist_dir, name="other-pkg")
    write_attestation(wheel, "{")
    write_attestation(other)

    outcome = upload(cli, index, dist_dir, extra=("--attestations",))

    assert outcome.exit_code == 2
    assert index.requests == []
    text = "\n".join(outcome.errors)
    assert f"{wheel.name}{SUFFIX}" in text
    assert f"{sdist.name}{SUFFIX} is missing" in text
    assert "2 problems" in outcome.message


def test_without_the_flag_no_attestations_field_is_sent(cli, index, release, dist_dir):
    wheel, sdist = release
    write_attestation(wheel)
    write_attestation(sdist)

    outcome = upload(cli, index, dist_dir)

    assert outcome.exit_code == 0, outcome.stderr
    assert sent_attestations(index) == {wheel.name: None, sdist.name: None}
    for request in index.matching("POST"):
        assert b'name="attestations"' not in request.body


def test_without_the_flag_a_broken_attestation_is_ignored(cli, index, release, dist_dir):
    wheel, _sdist = release
    write_attestation(wheel, "{")

    outcome = upload(cli, index, dist_dir)

    assert outcome.exit_code == 0, outcome.stderr
    assert index.count("POST") == 2


def test_dry_run_validates_attestations_too(cli, index, release, dist_dir):
    wheel, _sdist = release
    write_attestation(wheel)

    outcome = upload(cli, index, dist_dir, extra=("--attestations", "--dry-run"))

    assert outcome.exit_code == 2
    assert index.requests == []


# ---------------------------------------------------------------- pubtool check


def check(cli, *paths) -> Outcome:
    return run(cli, "check", *paths)


def table_row(outcome: Outcome, filename: str) -> str:
    rows = [line for line in outcome.stderr.splitlines() if line.startswith(filename)]
    assert len(rows) == 1, outcome.stderr
    return rows[0]


def wheel_with(dist_dir: Path, extra: str = MARKDOWN, *, version: str = "1.0", omit=(), name="demo-pkg") -> Path:
    return make_wheel(dist_dir, name=name, version=version, metadata=metadata_text(name, version, extra=extra, omit=omit))


def test_check_a_good_wheel_and_sdist(cli, dist_dir):
    metadata = metadata_text("demo-pkg", "1.0", extra=MARKDOWN)
    wheel, sdist = make_wheel(dist_dir, metadata=metadata), make_sdist(dist_dir, metadata=metadata)

    outcome = check(cli, dist_dir)

    assert outcome.exit_code == 0, outcome.stderr
    for dist in (wheel, sdist):
        row = table_row(outcome, dist.name)
        assert " ok " in f"{row} " and "error" not in row and "warning" not in row
    assert outcome.errors == []
    assert outcome.stdout == ""


LONG_SUMMARY = "x" * (SUMMARY_MAX + 1)
REFUSED = [
    pytest.param("1.0+local", MARKDOWN, (), "local version '1.0+local'", id="local-version"),
    pytest.param("1.0", f"Summary: {LONG_SUMMARY}\n{MARKDOWN}", ("Summary",), f"{SUMMARY_MAX + 1} characters",
                 id="summary-too-long"),
    pytest.param("1.0", f"Classifier: Private :: Do Not Upload\n{MARKDOWN}", (), "'Private ::' classifier",
                 id="private-classifier"),
    pytest.param("1.0", "Description-Content-Type: text/html\n", (), "'text/html'", id="unknown-content-type"),
    pytest.param("1.0", "Description-Content-Type: application/json; charset=UTF-8\n", (),
                 "'application/json; charset=UTF-8'", id="unknown-content-type-with-charset"),
]


@pytest.mark.parametrize("version, extra, omit, reason", REFUSED)
@pytest.mark.parametrize("maker", [make_wheel, make_sdist], ids=["wheel", "sdist"])
def test_check_what_pypi_refuses_is_an_error_naming_the_file(cli, dist_dir, maker, version, extra, omit, reason):
    dist = maker(dist_dir, version=version, metadata=metadata_text("demo-pkg", version, extra=extra, omit=omit))

    outcome = check(cli, dist)

    assert outcome.exit_code == 2, outcome.stderr
    matching = [line for line in outcome.errors if reason in line]
    assert matching, outcome.stderr
    assert all(line.startswith(f"{dist.name}: ") for line in matching), matching
    assert "error" in table_row(outcome, dist.name)
    assert "PyPI would refuse" in outcome.hint


def test_check_reports_every_refusal_in_every_file(cli, dist_dir):
    good = wheel_with(dist_dir, name="good-pkg")
    bad = wheel_with(dist_dir, "Classifier: Private :: Do Not Upload\nDescription-Content-Type: text/html\n",
                     version="2.0+dev")

    outcome = check(cli, good, bad)

    assert outcome.exit_code == 2
    bad_lines = [line for line in outcome.errors if line.startswith(f"{bad.name}: ")]
    assert len(bad_lines) == 3, outcome.stderr
    assert not [line for line in outcome.errors if good.name in line]
    assert "ok" in table_row(outcome, good.name).split()
    assert "error" in table_row(outcome, bad.name).split()
    assert "3 problems" in outcome.message


@pytest.mark.parametrize(
    "extra, omit, warning",
    [
        pytest.param(MARKDOWN, ("Summary",), "no Summary", id="no-summary"),
        pytest.param("", (), "no Description-Content-Type", id="no-content-type"),
    ],
)
def test_check_warnings_only_exit_0_and_say_warning(cli, dist_dir, extra, omit, warning):
    dist = wheel_with(dist_dir, extra, omit=omit)

    outcome = check(cli, dist)

    assert outcome.exit_code == 0, outcome.stderr
    row = table_row(outcome, dist.name)
    assert "warning" in row.split()
    assert warning in outcome.stderr
    assert outcome.errors == []


def test_check_warns_about_a_missing_long_description(cli, dist_dir):
    metadata = "Metadata-Version: 2.1\nName: demo-pkg\nVersion: 1.0\nSummary: A test package\n"
    dist = make_wheel(dist_dir, metadata=metadata)

    outcome = check(cli, dist)

    assert outcome.exit_code == 0, outcome.stderr
    assert "warning" in table_row(outcome, dist.name).split()
    assert "no long description" in outcome.stderr


# Inputs readme_renderer.rst.render returns None for (docutils reports an error).
BAD_RST = [
    pytest.param("Some ``broken literal\n", id="unclosed-inline-literal"),
    pytest.param("Some *unclosed emphasis\n", id="unclosed-emphasis"),
    pytest.param("Text\n\n.. no-such-directive::\n", id="unknown-directive"),
]


@pytest.mark.parametrize("description", BAD_RST)
@pytest.mark.parametrize("content_type", ["Description-Content-Type: text/x-rst\n", ""], ids=["rst", "default-rst"])
def test_check_rst_that_does_not_render_is_an_error(cli, dist_dir, description, content_type):
    import readme_renderer.rst

    assert readme_renderer.rst.render(description) is None  # the premise: PyPI could not render it
    metadata = metadata_text("demo-pkg", "1.0", extra=content_type).replace("The long description.\n", description)
    dist = make_wheel(dist_dir, metadata=metadata)

    outcome = check(cli, dist)

    assert outcome.exit_code == 2, outcome.stderr
    assert any(line.startswith(f"{dist.name}: ") and "does not render as text/x-rst" in line for line in outcome.errors)
    assert "error" in table_row(outcome, dist.name).split()


@pytest.mark.parametrize(
    "content_type, description",
    [
        pytest.param("text/markdown", "# Title\n\nSome *markdown* with `code` and a [link](https://example.com).\n",
                     id="markdown"),
        pytest.param("text/markdown; charset=UTF-8; variant=GFM", "```python\nprint(1)\n```\n", id="gfm"),
        pytest.param("text/markdown", "Some ``unclosed markdown\n", id="markdown-never-fails"),
        pytest.param("text/x-rst", "Title\n=====\n\nSome ``literal`` text.\n", id="good-rst"),
        pytest.param("text/plain", "Some ``broken rst is fine as plain text\n", id="plain"),
    ],
)
def test_check_descriptions_that_render_are_ok(cli, dist_dir, content_type, description):
    extra = f"Description-Content-Type: {content_type}\n"
    metadata = metadata_text("demo-pkg", "1.0", extra=extra).replace("The long description.\n", description)
    dist = make_wheel(dist_dir, metadata=metadata)

    outcome = check(cli, dist)

    assert outcome.exit_code == 0, outcome.stderr
    assert "ok" in table_row(outcome, dist.name).split()


def test_check_an_unreadable_file_is_an_error_and_the_rest_not_checked(cli, dist_dir):
    good = wheel_with(dist_dir)
    broken = dist_dir / "broken_pkg-1.0-py3-none-any.whl"
    broken.write_bytes(b"not a zip file")

    outcome = check(cli, good, broken)

    assert outcome.exit_code == 2
    assert any(broken.name in line for line in outcome.errors)
    assert "error" in table_row(outcome, broken.name).split()
    assert "index" not in outcome.hint  # check never talks to an index
    assert "check again" in outcome.hint


def test_check_sends_nothing(cli, dist_dir, scripted, monkeypatch):
    monkeypatch.setenv("PUBTOOL_PUBLISH_URL", f"{scripted.url}{UPLOAD_PATH}")
    wheel_with(dist_dir)

    outcome = check(cli, dist_dir)

    assert outcome.exit_code == 0, outcome.stderr
    assert scripted.requests == []


# ---------------------------------------------------------------- PyPI's rules (pure)


def metadata(**fields) -> dict:
    base = {"summary": "A test package", "description": "Text", "description_content_type": "text/markdown"}
    base.update(fields)
    return base


@pytest.mark.parametrize(
    "fields, version, errors, warnings",
    [
        pytest.param({}, "1.0", [], [], id="good"),
        pytest.param({}, "1.0+local", ["local version"], [], id="local-version"),
        pytest.param({"summary": "first\nsecond"}, "1.0", ["several lines"], [], id="summary-newline"),
        pytest.param({"summary": "first\rsecond"}, "1.0", ["several lines"], [], id="summary-carriage-return"),
        pytest.param({"summary": "x" * SUMMARY_MAX}, "1.0", [], [], id="summary-at-the-limit"),
        pytest.param({"summary": "x" * (SUMMARY_MAX + 1)}, "1.0", ["at most"], [], id="summary-too-long"),
        pytest.param({"classifiers": ("Private :: Do Not Upload",)}, "1.0", ["Private ::"], [], id="private"),
        pytest.param({"classifiers": ("Topic :: Private ::",)}, "1.0", [], [], id="private-not-first"),
        pytest.param({"description_content_type": "text/html"}, "1.0", ["text/html"], [], id="html"),
        pytest.param({"description_content_type": "TEXT/Markdown; charset=UTF-8"}, "1.0", [], [], id="case-params"),
        pytest.param({"summary": ""}, "1.0", [], ["no Summary"], id="no-summary"),
        pytest.param({"description": " \n"}, "1.0", [], ["no long description"], id="blank-description"),
        pytest.param({"description_content_type": ""}, "1.0", [], ["no Description-Content-Type"], id="no-type"),
    ],
)
def test_check_metadata_for_pypi(fields, version, errors, warnings):
    findings = check_metadata_for_pypi(metadata(**fields), Version(version))

    assert len(findings.errors) == len(errors), findings.errors
    for expected, found in zip(errors, findings.errors):
        assert expected in found
    assert len(findings.warnings) == len(warnings), findings.warnings
    for expected, found in zip(warnings, findings.warnings):
        assert expected in found
