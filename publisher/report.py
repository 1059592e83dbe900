"""What a run did, as data: per-file outcomes, the JSON report (SPEC section 7), the Reporter protocol."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import Enum
from typing import Optional, Protocol

from publisher.errors import ExitCode, PubtoolError


class Action(str, Enum):
    UPLOADED = "uploaded"
    SKIPPED = "skipped"
    WOULD_UPLOAD = "would-upload"
    CONFLICT = "conflict"
    FAILED = "failed"
    NOT_ATTEMPTED = "not-attempted"


@dataclass
class FileReport:
    path: str
    filename: str
    project: Optional[str] = None
    version: Optional[str] = None
    size: Optional[int] = None
    sha256: Optional[str] = None
    action: Action = Action.NOT_ATTEMPTED
    reason: Optional[str] = None
    seconds: Optional[float] = None

    def to_json(self) -> dict:
        return {
            "path": self.path,
            "filename": self.filename,
            "project": self.project,
            "version": self.version,
            "size": self.size,
            "sha256": self.sha256,
            "action": self.action.value,
            "reason": self.reason,
            "seconds": None if self.seconds is None else round(self.seconds, 3),
        }


@dataclass
class Report:
    publish_url: str  # always redacted
    check_url: Optional[str]  # always redacted
    dry_run: bool = False
    files: list[FileReport] = field(default_factory=list)
    error: Optional[PubtoolError] = None
    warnings: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return int(self.error.exit_code) if self.error is not None else int(ExitCode.OK)

    def to_json(self) -> dict:
        data = {
            "publish_url": self.publish_url,
            "check_url": self.check_url,
            "dry_run": self.dry_run,
            "exit_code": self.exit_code,
            "files": [item.to_json() for item in self.files],
        }
        if self.error is not None:
            data["error"] = {"message": self.error.message, "hint": self.error.hint}
        return data

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2)


class Reporter(Protocol):
    """How the run tells a person what is happening; ``ui.ConsoleReporter`` implements it."""

    def notice(self, message: str) -> None: ...

    def phase(self, name: str) -> None: ...

    def warning(self, message: str) -> None: ...

    def request(self, method: str, url: str, status: int, seconds: float) -> None: ...

    def uploads_starting(self, count: int, total_bytes: int) -> None: ...

    def upload_started(self, filename: str, size: int) -> None: ...

    def upload_progress(self, filename: str, sent: int) -> None: ...

    def upload_finished(self, item: FileReport) -> None: ...


class SilentReporter:
    """A Reporter that says nothing (library use and tests)."""

    def notice(self, message: str) -> None:
        pass

    def phase(self, name: str) -> None:
        pass

    def warning(self, message: str) -> None:
        pass

    def request(self, method: str, url: str, status: int, seconds: float) -> None:
        pass

    def uploads_starting(self, count: int, total_bytes: int) -> None:
        pass

    def upload_started(self, filename: str, size: int) -> None:
        pass

    def upload_progress(self, filename: str, sent: int) -> None:
        pass

    def upload_finished(self, item: FileReport) -> None:
        pass
