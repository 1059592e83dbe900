"""publisher.report: the JSON report of SPEC section 7 and the exit code it carries."""

from __future__ import annotations

import json

import pytest

from publisher.errors import CheckUrlAuthError, ConflictError, InputProblems, NetworkError
from publisher.report import Action, FileReport, Report, SilentReporter

REPORT_KEYS = {"publish_url", "check_url", "dry_run", "exit_code", "files"}
FILE_KEYS = {"path", "filename", "project", "version", "size", "sha256", "action", "reason", "seconds"}
SPEC_ACTIONS = {"uploaded", "skipped", "would-upload", "conflict", "failed", "not-attempted"}


def full_file(**changes) -> FileReport:
    values = dict(
        path="dist/demo_pkg-1.0.tar.gz",
        filename="demo_pkg-1.0.tar.gz",
        project="demo-pkg",
        version="1.0",
        size=123,
        sha256="a" * 64,
        action=Action.UPLOADED,
        reason=None,
        seconds=0.123456,
    )
    values.update(changes)
    return FileReport(**values)


def test_actions_are_exactly_the_spec_values():
    assert {action.value for action in Action} == SPEC_ACTIONS


@pytest.mark.parametrize(
    ("error", "exit_code"),
    [
        (None, 0),
        (NetworkError("upload failed"), 1),
        (InputProblems([("a.whl", "empty")]), 2),
        (CheckUrlAuthError.for_response("https://x/simple/", "https://x/simple/p/", 403), 3),
        (ConflictError("different content"), 4),
    ],
)
def test_report_json_keys_and_exit_code(error, exit_code):
    report = Report("https://upload.example.com/legacy/", None, files=[full_file()], error=error)
    data = report.to_json()
    expected_keys = REPORT_KEYS | ({"error"} if error is not None else set())
    assert set(data) == expected_keys
    assert data["exit_code"] == exit_code == report.exit_code
    assert [set(item) for item in data["files"]] == [FILE_KEYS]
    if error is not None:
        assert data["error"] == {"message": error.message, "hint": error.hint}


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        pytest.param(
            full_file(),
            {
                "path": "dist/demo_pkg-1.0.tar.gz",
                "filename": "demo_pkg-1.0.tar.gz",
                "project": "demo-pkg",
                "version": "1.0",
                "size": 123,
                "sha256": "a" * 64,
                "action": "uploaded",
                "reason": None,
                "seconds": 0.123,
            },
            id="uploaded",
        ),
        pytest.param(
            FileReport("dist/broken.whl", "broken.whl", action=Action.FAILED, reason="file is empty (0 bytes)"),
            {
                "path": "dist/broken.whl",
                "filename": "broken.whl",
                "project": None,
                "version": None,
                "size": None,
                "sha256": None,
                "action": "failed",
                "reason": "file is empty (0 bytes)",
                "seconds": None,
            },
            id="bad-input",
        ),
        pytest.param(
            full_file(action=Action.SKIPPED, reason="already on the index", seconds=0),
            {"action": "skipped", "reason": "already on the index", "seconds": 0},
            id="skipped",
        ),
        pytest.param(full_file(action=Action.NOT_ATTEMPTED, seconds=None), {"action": "not-attempted"}, id="default"),
        pytest.param(full_file(action=Action.WOULD_UPLOAD), {"action": "would-upload"}, id="dry-run"),
        pytest.param(full_file(action=Action.CONFLICT), {"action": "conflict"}, id="conflict"),
    ],
)
def test_file_report_to_json(item, expected):
    data = item.to_json()
    assert set(data) == FILE_KEYS
    for key, value in expected.items():
        assert data[key] == value, key


def test_report_dumps_is_json_with_spec_types():
    report = Report(
        "https://ci:***@upload.example.com/legacy/",
        "https://index.example.org/simple/",
        dry_run=True,
        files=[full_file(), full_file(action=Action.FAILED, reason="boom")],
        error=NetworkError("upload of x failed", hint=None),
    )
    data = json.loads(report.dumps())
    assert data["publish_url"] == "https://ci:***@upload.example.com/legacy/"
    assert data["check_url"] == "https://index.example.org/simple/"
    assert data["dry_run"] is True
    assert data["exit_code"] == 1
    assert isinstance(data["files"], list) and len(data["files"]) == 2
    assert data["error"] == {"message": "upload of x failed", "hint": None}
    item = data["files"][0]
    assert isinstance(item["size"], int) and isinstance(item["seconds"], float)


def test_report_without_files_or_check_url():
    data = Report("https://upload.example.org/legacy/", None).to_json()
    assert data == {
        "publish_url": "https://upload.example.org/legacy/",
        "check_url": None,
        "dry_run": False,
        "exit_code": 0,
        "files": [],
    }


def test_silent_reporter_accepts_every_call():
    reporter = SilentReporter()
    reporter.notice("n")
    reporter.warning("w")
    reporter.request("GET", "https://x/", 200, 0.1)
    reporter.upload_started("a.whl", 10)
    reporter.upload_progress("a.whl", 5)
    reporter.upload_finished(full_file())
