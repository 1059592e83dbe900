"""``pubtool check``: everything ``upload`` validates, plus what PyPI would refuse."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

from publisher.distributions.pypi_rules import check_metadata_for_pypi, render_problem, renderer_available
from publisher.errors import InputProblems, PubtoolError
from publisher.publish import prepare_distributions
from publisher.report import Report, Reporter


@dataclass
class CheckRow:
    filename: str
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    path: Optional[str] = None  # as the user gave it (GitHub annotations point at it)

    @property
    def result(self) -> str:
        return "error" if self.errors else "warning" if self.warnings else "ok"


@dataclass
class CheckOutcome:
    rows: list[CheckRow]
    error: Optional[PubtoolError] = None
    rendering_checked: bool = True

    @property
    def exit_code(self) -> int:
        return int(self.error.exit_code) if self.error is not None else 0


def check_distributions(paths: Sequence[str], reporter: Reporter) -> CheckOutcome:
    """Validate offline; every file gets a row; PyPI refusals make it exit 2."""
    report = Report(publish_url="", check_url=None, dry_run=True)
    try:
        distributions = prepare_distributions(paths, reporter, report)
    except PubtoolError as error:
        if isinstance(error, InputProblems):  # upload's hint talks about the index; check sends nothing
            error.hint = "fix the input (or rebuild the files) and check again"
        rows = [CheckRow(item.filename, [item.reason] if item.reason else [], path=item.path) for item in report.files]
        for row in rows:
            if not row.errors:
                row.warnings.append("not checked against PyPI's rules: fix the other files first")
        return CheckOutcome(rows, error)
    rows = []
    for dist in distributions:
        findings = check_metadata_for_pypi(dist.metadata, dist.version)
        problem = render_problem(dist.metadata)
        if problem:
            findings.errors.append(problem)
        rows.append(CheckRow(dist.filename, findings.errors, findings.warnings, path=str(dist.path)))
    refused = [(row.filename, reason) for row in rows for reason in row.errors]
    error = None
    if refused:
        error = InputProblems(refused, hint="PyPI would refuse these files; fix the metadata and rebuild")
    return CheckOutcome(rows, error, rendering_checked=renderer_available())
