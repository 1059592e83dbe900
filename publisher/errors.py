"""Every error pubtool reports: a one-line message, an optional hint, an exit code (SPEC section 2)."""

from __future__ import annotations

from enum import IntEnum
from typing import ClassVar, Optional, Sequence


class ExitCode(IntEnum):
    OK = 0
    FAILURE = 1
    USAGE = 2
    CHECK_AUTH = 3
    CONFLICT = 4
    INTERRUPTED = 130


class PubtoolError(Exception):
    """Base class: ``str(error)`` is the message; ``hint`` says what to do next."""

    exit_code: ClassVar[ExitCode] = ExitCode.FAILURE

    def __init__(
        self, message: str, *, hint: Optional[str] = None, details: Sequence[tuple[str, str]] = ()
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = list(details)  # (file or option, reason): one line each, before the message


class InputError(PubtoolError):
    """Bad usage or bad input, found before any request was sent."""

    exit_code = ExitCode.USAGE


class InputProblems(InputError):
    """Several input problems, reported together (SPEC section 3, step 2)."""

    def __init__(self, problems: Sequence[tuple[str, str]], *, hint: Optional[str] = None) -> None:
        self.problems = list(problems)
        if len(self.problems) == 1:  # one mistake, one line
            what, reason = self.problems[0]
            super().__init__(f"{what}: {reason}", hint=hint)
        else:
            count = len(self.problems)
            super().__init__(f"{count} problems found in the input; nothing was uploaded", hint=hint, details=problems)


class ConfigError(InputError):
    """A configuration file or a named index is wrong."""


class NetworkError(PubtoolError):
    """A request failed for good (after retries) or the server refused an upload."""


class UploadAuthError(NetworkError):
    """The publish URL answered 401/403 to an upload."""


class RedirectError(NetworkError):
    """An upload was redirected somewhere we will not re-send the file."""


class AlreadyExistsError(NetworkError):
    """The index already has a file of that name and nothing let us verify it."""


class CheckUrlError(NetworkError):
    """The check URL failed in a way that is not an authentication problem."""


class CheckUrlAuthError(PubtoolError):
    """The check URL answered 401/403 or redirected to a login page (SPEC section 3, step 4)."""

    exit_code = ExitCode.CHECK_AUTH

    def __init__(
        self, message: str, *, hint: Optional[str] = None, status: Optional[int] = None, answer: str = ""
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.answer = answer or message  # what the index did, without "nothing was uploaded"

    @staticmethod
    def hint_for(check_root: str) -> str:
        from publisher.urls import redact

        return (
            f"read credentials for {redact(check_root)} are missing or wrong; give them with "
            "--check-username/--check-password (PUBTOOL_CHECK_USERNAME/PUBTOOL_CHECK_PASSWORD), "
            "in the URL (https://user:pass@host/simple/), in ~/.netrc, or with --index and a config file; "
            "or pass --allow-check-auth-failure to upload without the check"
        )

    @classmethod
    def for_response(
        cls, check_root: str, url: str, status: int, *, what: str = "the check URL"
    ) -> CheckUrlAuthError:
        from publisher.urls import redact

        meaning = "401 Unauthorized" if status == 401 else f"{status} Forbidden" if status == 403 else str(status)
        answer = f"{what} {redact(url)} answered {meaning}"
        return cls(f"{answer}; nothing was uploaded", hint=cls.hint_for(check_root), status=status, answer=answer)

    @classmethod
    def for_redirect(cls, check_root: str, url: str, status: int, target: str) -> CheckUrlAuthError:
        from publisher.urls import redact

        answer = (
            f"the check URL {redact(url)} redirected ({status}) outside the check URL, "
            f"to {redact(target)} (a login page?)"
        )
        return cls(f"{answer}; nothing was uploaded", hint=cls.hint_for(check_root), status=status, answer=answer)

    @classmethod
    def for_login_page(cls, check_root: str, url: str, *, what: str = "the check URL") -> CheckUrlAuthError:
        from publisher.urls import redact

        answer = f"{what} {redact(url)} answered with a login page"
        return cls(f"{answer}; nothing was uploaded", hint=cls.hint_for(check_root), status=200, answer=answer)


class ConflictError(PubtoolError):
    """A file of the same name but different content is already on the index."""

    exit_code = ExitCode.CONFLICT


class Interrupted(PubtoolError):
    """The run was stopped by SIGINT or SIGTERM."""

    exit_code = ExitCode.INTERRUPTED
