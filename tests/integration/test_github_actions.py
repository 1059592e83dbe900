"""GitHub Actions output when GITHUB_ACTIONS=true (issue 6; SPEC section 3 step 7 and section 8).

Workflow commands (``::group::``, ``::error``, ``::warning``) go to stdout, or to stderr
when ``--json`` owns stdout; a Markdown table is appended to $GITHUB_STEP_SUMMARY. The
ScriptedServer is the publish URL (and the check URL when a test gives one).
https://docs.github.com/actions/reference/workflow-commands-for-github-actions
"""

from __future__ import annotations

import json
from pathlib import Path
import pytest

from publisher.github import END_GROUP, annotation, group, step_summary
from publisher.report import Action, FileReport, Report
from tests.conftest import CANARY
from tests.distfactory import make_sdist, make_wheel, metadata_text
from tests.integration.helpers import UPLOADER, Outcome, run, sha256
from tests.servers.scripted import Reply, ScriptedServer, simple_html

UPLOAD_PATH = "/legacy/"
PREFILLED = "## an earlier step\n\nsome text that must survive\n"


@pytest.fixture
def summary_file(tmp_path: Path, monkeypatch) -> Path:
    """GITHUB_ACTIONS=true and a step summary file that an earlier step already wrote to."""
    path = tmp_path / "step_summary.md"
    path.write_text(PREFILLED, encoding="utf-8")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(path))
    return path


@pytest.fixture
def index(scripted: ScriptedServer) -> ScriptedServer:
    scripted.on("POST", UPLOAD_PATH, Reply(200, "OK"))
    return scripted


@pytest.fixture
def release(dist_dir: Path) -> tuple[Path, Path]:
    return make_wheel(dist_dir), make_sdist(dist_dir)


def upload(cli, server: ScriptedServer, *paths: Path, json_report: bool = False, extra=()) -> Outcome:
    args = ["upload", "--publish-url", f"{server.url}{UPLOAD_PATH}", "-u", UPLOADER, "-p", CANARY]
    args += ["--retries", "0", "--timeout", "5"]
    if json_report:
        args.append("--json")
    return run(cli, *args, *extra, *paths)


def workflow_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("::")]


def size_text(path: Path) -> str:
    size = path.stat().st_size
    return f"{size} B" if size < 1024 else f"{size / 1024:.1f} KiB"


def summary_row(path: Path, action: str) -> str:
    return f"| `{path.name}` | {size_text(path)} | {action} | `{sha256(path)[:12]}` |"


def assert_groups_balanced(lines: list[str]) -> list[str]:
    """Every ::group:: is closed before the next opens; return the group names in order."""
    names, open_group = [], False
    for line in lines:
        if line.startswith("::group::"):
            assert not open_group, lines
            open_group = True
            names.append(line[len("::group::") :])
        elif line == END_GROUP:
            assert open_group, lines
            open_group = False
    assert not open_group, lines
    return names


# ---------------------------------------------------------------- success


def test_success_groups_each_phase_on_stdout_and_appends_a_summary_table(cli, index, release, summary_file):
    wheel, sdist = release

    outcome = upload(cli, index, wheel, sdist)

    assert outcome.exit_code == 0, outcome.stderr
    commands = workflow_lines(outcome.stdout)
    assert "::group::Validate and hash" in commands
    assert "::group::Upload" in commands
    assert assert_groups_balanced(commands) == ["Validate and hash", "Upload"]
    assert commands.count(END_GROUP) == 2
    assert not [c for c in commands if c.startswith(("::error", "::warning"))]
    assert workflow_lines(outcome.stderr) == []  # stderr keeps the human output only

    text = summary_file.read_text(encoding="utf-8")
    assert text.startswith(PREFILLED)  # appended, not overwritten
    table = text[len(PREFILLED) :]
    assert "| file | size | action | sha256 |" in table
    assert summary_row(wheel, "uploaded") in table
    assert summary_row(sdist, "uploaded") in table
    assert f"{index.url}{UPLOAD_PATH}" in table
    assert "2 uploaded" in table
    assert CANARY not in text


def test_the_check_phase_is_a_group_and_skipped_files_are_in_the_summary(cli, index, release, summary_file):
    wheel, sdist = release
    index.on("GET", "/simple/demo-pkg/", Reply(200, simple_html({sdist.name: sha256(sdist)})))

    outcome = upload(cli, index, wheel, sdist, extra=("--check-url", f"{index.url}/simple/"))

    assert outcome.exit_code == 0, outcome.stderr
    names = assert_groups_balanced(workflow_lines(outcome.stdout))
    assert names == ["Validate and hash", "Check the index", "Upload"]
    table = summary_file.read_text(encoding="utf-8")[len(PREFILLED) :]
    assert summary_row(wheel, "uploaded") in table
    assert summary_row(sdist, "skipped") in table
    assert f"{index.url}/simple/" in table


def test_the_summary_file_collects_one_table_per_run(cli, index, release, summary_file):
    wheel, _sdist = release

    assert upload(cli, index, wheel).exit_code == 0
    assert upload(cli, index, wheel).exit_code == 0

    text = summary_file.read_text(encoding="utf-8")
    assert text.startswith(PREFILLED)
    assert text.count("| file | size | action | sha256 |") == 2
    assert text.count(summary_row(wheel, "uploaded")) == 2


# ---------------------------------------------------------------- failures and warnings


def test_a_failed_upload_is_an_error_annotation_on_its_file_and_a_general_one_with_the_hint(
    cli, scripted, release, summary_file
):
    wheel, sdist = release
    scripted.on("POST", UPLOAD_PATH, Reply(403, "Invalid or non-existent authentication information."))

    outcome = upload(cli, scripted, wheel, sdist)

    assert outcome.exit_code == 1
    commands = workflow_lines(outcome.stdout)
    assert_groups_balanced(commands)
    errors = [c for c in commands if c.startswith("::error")]
    assert len(errors) == 2, commands
    on_file, general = errors
    assert on_file.startswith(f"::error file={wheel},title=pubtool::")
    assert "HTTP 403" in on_file and wheel.name in on_file
    assert "%0Ahint" not in on_file  # the hint goes with the general error, once
    assert general.startswith("::error title=pubtool::")
    assert "file=" not in general.split("::")[1]
    body = general.split("::", 2)[2]
    assert "%0Ahint: " in body
    assert "upload credentials are missing or wrong" in body
    assert "\n" not in general and "\r" not in general
    assert not any(sdist.name in c for c in errors)  # the sdist was never attempted: no annotation on it
    # The human output is still on stderr.
    assert outcome.hint.startswith("the upload credentials are missing or wrong")

    table = summary_file.read_text(encoding="utf-8")[len(PREFILLED) :]
    assert summary_row(wheel, "failed") in table
    assert summary_row(sdist, "not-attempted") in table
    assert "> **error:**" in table and "exit code 1" in table
    assert "> **hint:** the upload credentials are missing or wrong" in table


def test_a_conflict_is_an_error_annotation_on_the_conflicting_file(cli, index, release, summary_file):
    wheel, sdist = release
    index.on("GET", "/simple/demo-pkg/", Reply(200, simple_html({wheel.name: "0" * 64})))

    outcome = upload(cli, index, wheel, sdist, extra=("--check-url", f"{index.url}/simple/"))

    assert outcome.exit_code == 4
    errors = [c for c in workflow_lines(outcome.stdout) if c.startswith("::error")]
    assert any(c.startswith(f"::error file={wheel},title=pubtool::") for c in errors), errors
    assert errors[-1].startswith("::error title=pubtool::")
    assert index.count("POST") == 0


def test_skip_existing_warning_is_a_warning_annotation(cli, scripted, release, summary_file):
    wheel, _sdist = release
    scripted.on("POST", UPLOAD_PATH, Reply(409, "File already exists"))

    outcome = upload(cli, scripted, wheel, extra=("--skip-existing",))

    assert outcome.exit_code == 0, outcome.stderr
    warnings = [c for c in workflow_lines(outcome.stdout) if c.startswith("::warning")]
    assert len(warnings) == 1, outcome.stdout
    assert warnings[0].startswith("::warning title=pubtool::")
    assert wheel.name in warnings[0] and "already exists" in warnings[0]
    assert outcome.warnings  # and the human warning on stderr
    assert not [c for c in workflow_lines(outcome.stdout) if c.startswith("::error")]
    assert summary_row(wheel, "skipped") in summary_file.read_text(encoding="utf-8")


# ---------------------------------------------------------------- --json owns stdout


def test_with_json_stdout_is_only_the_report_and_workflow_commands_go_to_stderr(cli, index, release, summary_file):
    wheel, sdist = release

    outcome = upload(cli, index, wheel, sdist, json_report=True)

    assert outcome.exit_code == 0, outcome.stderr
    assert json.loads(outcome.stdout) == outcome.report  # nothing else on stdout
    assert "::" not in outcome.stdout.replace("http://", "")
    assert assert_groups_balanced(workflow_lines(outcome.stderr)) == ["Validate and hash", "Upload"]
    assert summary_row(wheel, "uploaded") in summary_file.read_text(encoding="utf-8")


def test_with_json_a_failure_annotation_goes_to_stderr(cli, scripted, release, summary_file):
    wheel, _sdist = release
    scripted.on("POST", UPLOAD_PATH, Reply(403, "Forbidden"))

    outcome = upload(cli, scripted, wheel, json_report=True)

    assert outcome.exit_code == 1
    assert outcome.report["exit_code"] == 1
    assert workflow_lines(outcome.stdout) == []
    errors = [c for c in workflow_lines(outcome.stderr) if c.startswith("::error")]
    assert errors[0].startswith(f"::error file={wheel},title=pubtool::")
    assert "%0Ahint: " in errors[-1]


def test_bad_input_is_an_error_annotation_per_bad_file(cli, index, release, dist_dir, summary_file):
    wheel, sdist = release
    broken = dist_dir / "broken_pkg-1.0-py3-none-any.whl"
    broken.write_bytes(b"not a zip")

    outcome = upload(cli, index, wheel, broken, json_report=True)

    assert outcome.exit_code == 2
    assert index.requests == []
    assert workflow_lines(outcome.stdout) == []
    errors = [c for c in workflow_lines(outcome.stderr) if c.startswith("::error")]
    assert any(c.startswith(f"::error file={broken},title=pubtool::") for c in errors), errors
    assert not any(f"file={wheel}," in c for c in errors)
    assert errors[-1].startswith("::error title=pubtool::")
    assert "exit code 2" in summary_file.read_text(encoding="utf-8")


# ---------------------------------------------------------------- pubtool check


def test_check_annotates_each_refusal_and_warning_on_its_file(cli, dist_dir, summary_file):
    good = make_wheel(dist_dir, name="good-pkg", metadata=metadata_text("good-pkg", "1.0", omit=("Summary",)))
    bad = make_wheel(dist_dir, version="2.0+dev", metadata=metadata_text("demo-pkg", "2.0+dev"))

    outcome = run(cli, "check", good, bad)

    assert outcome.exit_code == 2
    lines = workflow_lines(outcome.stdout)
    assert_groups_balanced(lines)
    errors = [line for line in lines if line.startswith("::error")]
    warnings = [line for line in lines if line.startswith("::warning")]
    assert any(line.startswith(f"::error file={bad},title=pubtool::{bad.name}: ") and "local version" in line
               for line in errors), lines
    assert not any(f"file={good}," in line for line in errors), lines
    assert any(line.startswith(f"::warning file={good},title=pubtool::") and "no Summary" in line
               for line in warnings), lines
    assert summary_file.read_text(encoding="utf-8") == PREFILLED  # check writes no step summary


def test_check_of_a_good_file_sends_no_workflow_commands_but_groups(cli, dist_dir, summary_file):
    wheel = make_wheel(dist_dir, metadata=metadata_text("demo-pkg", "1.0", extra="Description-Content-Type: text/markdown\n"))

    outcome = run(cli, "check", wheel)

    assert outcome.exit_code == 0, outcome.stderr
    lines = workflow_lines(outcome.stdout)
    assert assert_groups_balanced(lines) == ["Validate and hash"]
    assert [line for line in lines if not line.startswith("::group::") and line != END_GROUP] == []


# ---------------------------------------------------------------- outside GitHub Actions


@pytest.mark.parametrize("value", [None, "false", "1"])
def test_outside_github_actions_there_are_no_workflow_commands_and_no_summary(
    cli, scripted, release, tmp_path, monkeypatch, value
):
    wheel, _sdist = release
    summary = tmp_path / "summary.md"
    summary.write_text(PREFILLED, encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    if value is not None:
        monkeypatch.setenv("GITHUB_ACTIONS", value)
    scripted.on("POST", UPLOAD_PATH, Reply(409, "File already exists"), Reply(403, "Forbidden"))

    warned = upload(cli, scripted, wheel, extra=("--skip-existing",))
    failed = upload(cli, scripted, wheel)

    assert (warned.exit_code, failed.exit_code) == (0, 1)
    assert warned.warnings and failed.errors
    for outcome in (warned, failed):
        assert workflow_lines(outcome.stdout) == []
        assert workflow_lines(outcome.stderr) == []
        assert "::group::" not in outcome.stdout + outcome.stderr
    assert summary.read_text(encoding="utf-8") == PREFILLED


def test_an_unwritable_summary_file_is_a_warning_not_a_failure(cli, index, release, tmp_path, monkeypatch):
    wheel, _sdist = release
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "no-such-dir" / "summary.md"))

    outcome = upload(cli, index, wheel)

    assert outcome.exit_code == 0, outcome.stderr
    assert any("step summary" in warning for warning in outcome.warnings), outcome.stderr


# ---------------------------------------------------------------- publisher/github.py: escaping (pure)


@pytest.mark.parametrize(
    "level, message, file, expected",
    [
        ("error", "plain", None, "::error title=pubtool::plain"),
        ("warning", "plain", None, "::warning title=pubtool::plain"),
        ("notice", "plain", None, "::notice title=pubtool::plain"),
        ("error", "100% sure", None, "::error title=pubtool::100%25 sure"),
        ("error", "line 1\nline 2", None, "::error title=pubtool::line 1%0Aline 2"),
        ("error", "cr\rhere", None, "::error title=pubtool::cr%0Dhere"),
        ("error", "crlf\r\nhere", None, "::error title=pubtool::crlf%0D%0Ahere"),
        ("error", "already %0A escaped", None, "::error title=pubtool::already %250A escaped"),
        # ':' and ',' are data in the message: left alone.
        ("error", "HTTP 403: no, really", None, "::error title=pubtool::HTTP 403: no, really"),
        ("error", "m", "dist/demo_pkg-1.0-py3-none-any.whl", "::error file=dist/demo_pkg-1.0-py3-none-any.whl,title=pubtool::m"),
        # ... but separators in a property value: escaped.
        ("error", "m", "C:\\dist\\a,b.whl", "::error file=C%3A\\dist\\a%2Cb.whl,title=pubtool::m"),
        ("error", "m", "dist/50%.whl", "::error file=dist/50%25.whl,title=pubtool::m"),
        ("error", "m", "dist/new\nline.whl", "::error file=dist/new%0Aline.whl,title=pubtool::m"),
        ("error", "m", "", "::error title=pubtool::m"),
    ],
)
def test_annotation_escapes_data_and_properties(level, message, file, expected):
    assert annotation(level, message, file=file) == expected


@pytest.mark.parametrize(
    "title, expected",
    [
        ("pubtool", "title=pubtool"),
        ("pubtool: upload, retry", "title=pubtool%3A upload%2C retry"),
        ("a\nb", "title=a%0Ab"),
    ],
)
def test_annotation_title_is_an_escaped_property(title, expected):
    assert annotation("warning", "m", title=title) == f"::warning {expected}::m"


@pytest.mark.parametrize(
    "name, expected",
    [
        ("Upload", "::group::Upload"),
        ("Check the index", "::group::Check the index"),
        ("a\nb", "::group::a%0Ab"),
        ("5% done", "::group::5%25 done"),
    ],
)
def test_group(name, expected):
    assert group(name) == expected


def test_end_group():
    assert END_GROUP == "::endgroup::"


def _report() -> Report:
    report = Report(publish_url="https://pkgs.example.com/legacy/", check_url=None)
    report.files = [
        FileReport("dist/a-1.0-py3-none-any.whl", "a-1.0-py3-none-any.whl", "a", "1.0", 2048, "ab" * 32, Action.UPLOADED),
        FileReport("dist/a-1.0.tar.gz", "a-1.0.tar.gz", "a", "1.0", 100, "cd" * 32, Action.SKIPPED),
        FileReport("dist/bad.whl", "bad.whl", action=Action.FAILED, reason="unreadable"),
    ]
    return report


def test_step_summary_rows():
    text = step_summary(_report())

    assert "| `a-1.0-py3-none-any.whl` | 2.0 KiB | uploaded | `abababababab` |" in text
    assert "| `a-1.0.tar.gz` | 100 B | skipped | `cdcdcdcdcdcd` |" in text
    assert "| `bad.whl` | - | failed |  |" in text
    assert "`https://pkgs.example.com/legacy/`" in text
    assert "check URL" not in text
    assert text.endswith("\n")
