"""publisher.errors: one exit code per error class (SPEC section 2); CheckUrlAuthError diagnoses."""

from __future__ import annotations

import pytest

from publisher import errors
from publisher.errors import (
    AlreadyExistsError,
    CheckUrlAuthError,
    CheckUrlError,
    ConfigError,
    ConflictError,
    ExitCode,
    InputError,
    InputProblems,
    NetworkError,
    PubtoolError,
    RedirectError,
    UploadAuthError,
)

SECRET = "s3cr3t-do-not-print"


def test_exit_code_values_are_the_spec_table():
    assert (ExitCode.OK, ExitCode.FAILURE, ExitCode.USAGE, ExitCode.CHECK_AUTH, ExitCode.CONFLICT) == (0, 1, 2, 3, 4)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (PubtoolError("x"), 1),
        (NetworkError("upload failed"), 1),
        (UploadAuthError("401"), 1),
        (RedirectError("redirected"), 1),
        (AlreadyExistsError("already exists"), 1),
        (CheckUrlError("check URL failed"), 1),
        (InputError("bad input"), 2),
        (ConfigError("unknown key"), 2),
        (InputProblems([("a.whl", "empty")]), 2),
        (InputProblems([("a.whl", "empty"), ("b.whl", "corrupt")]), 2),
        (CheckUrlAuthError("401 from the check URL"), 3),
        (CheckUrlAuthError.for_response("https://x/simple/", "https://x/simple/p/", 401), 3),
        (ConflictError("different content"), 4),
    ],
)
def test_exit_code_per_error_class(error, code):
    assert error.exit_code == code
    assert isinstance(error, PubtoolError)


def test_every_error_class_is_in_the_table():
    """A new error class needs a row above."""
    covered = {
        PubtoolError, NetworkError, UploadAuthError, RedirectError, AlreadyExistsError, CheckUrlError,
        InputError, ConfigError, InputProblems, CheckUrlAuthError, ConflictError,
    }
    defined = {
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, PubtoolError) and value.exit_code != ExitCode.INTERRUPTED
    }
    assert defined <= covered, defined - covered


def test_check_auth_error_is_not_a_network_error():
    """Callers that catch NetworkError (exit 1) must not swallow the exit-3 error."""
    assert not issubclass(CheckUrlAuthError, NetworkError)
    assert not issubclass(ConflictError, NetworkError)


@pytest.mark.parametrize(
    ("problems", "message"),
    [
        ([("dist/a.whl", "file is empty (0 bytes)")], "dist/a.whl: file is empty (0 bytes)"),
        ([("a", "x"), ("b", "y")], "2 problems found in the input; nothing was uploaded"),
        ([("a", "x"), ("b", "y"), ("c", "z")], "3 problems found in the input; nothing was uploaded"),
    ],
)
def test_input_problems_message(problems, message):
    error = InputProblems(problems, hint="fix them")
    assert str(error) == message
    assert error.problems == problems
    assert error.hint == "fix them"
    assert error.details == ([] if len(problems) == 1 else problems)


def test_error_keeps_message_hint_and_details():
    error = NetworkError("what happened", hint="what to do", details=[("a.whl", "why")])
    assert (str(error), error.message, error.hint, error.details) == (
        "what happened", "what happened", "what to do", [("a.whl", "why")]
    )


ROOT = f"https://reader:{SECRET}@pkgs.example.com/simple/"
PAGE = f"https://reader:{SECRET}@pkgs.example.com/simple/demo-pkg/"
SHOWN_PAGE = "https://reader:***@pkgs.example.com/simple/demo-pkg/"


@pytest.mark.parametrize(
    ("make", "status", "words"),
    [
        pytest.param(
            lambda: CheckUrlAuthError.for_response(ROOT, PAGE, 401), 401, [SHOWN_PAGE, "401"], id="for_response-401"
        ),
        pytest.param(
            lambda: CheckUrlAuthError.for_response(ROOT, PAGE, 403), 403, [SHOWN_PAGE, "403"], id="for_response-403"
        ),
        pytest.param(
            lambda: CheckUrlAuthError.for_response(ROOT, PAGE, 401, what="the file URL of demo_pkg-1.0.tar.gz"),
            401,
            [SHOWN_PAGE, "401", "the file URL of demo_pkg-1.0.tar.gz"],
            id="for_response-file",
        ),
        pytest.param(
            lambda: CheckUrlAuthError.for_redirect(
                ROOT, PAGE, 302, f"https://reader:{SECRET}@pkgs.example.com/login?next=/simple/demo-pkg/"
            ),
            302,
            [SHOWN_PAGE, "302", "https://reader:***@pkgs.example.com/login?next=/simple/demo-pkg/", "login"],
            id="for_redirect",
        ),
        pytest.param(
            lambda: CheckUrlAuthError.for_login_page(ROOT, PAGE), 200, [SHOWN_PAGE, "login page"], id="for_login_page"
        ),
    ],
)
def test_check_url_auth_error(make, status, words):
    error = make()
    assert isinstance(error, CheckUrlAuthError)
    assert error.exit_code == 3
    assert error.status == status
    message = str(error)
    for word in words:
        assert word in message, message
    assert "nothing was uploaded" in message
    assert error.answer and "nothing was uploaded" not in error.answer
    assert error.answer in message
    hint = error.hint
    assert "https://reader:***@pkgs.example.com/simple/" in hint  # names the check URL
    for word in ("missing or wrong", "--check-username", "--check-password", "netrc", "--allow-check-auth-failure"):
        assert word in hint, hint
    assert SECRET not in message + hint + error.answer


def test_check_url_auth_hint_mentions_url_credentials():
    hint = CheckUrlAuthError.hint_for("https://pkgs.example.com/simple/")
    assert "user:pass@" in hint or "in the URL" in hint
    assert "https://pkgs.example.com/simple/" in hint
