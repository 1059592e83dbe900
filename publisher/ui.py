"""Everything a person sees: rich consoles on stderr, progress, the summary, errors and hints."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Optional, TextIO

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from publisher.errors import PubtoolError
from publisher.github import END_GROUP, annotation, group
from publisher.report import Action, FileReport, Report

if TYPE_CHECKING:  # rich.progress is imported only when a bar is shown (a terminal)
    from rich.progress import Progress, TaskID

_ACTION_STYLE = {
    Action.UPLOADED: "green",
    Action.SKIPPED: "cyan",
    Action.WOULD_UPLOAD: "blue",
    Action.CONFLICT: "bold red",
    Action.FAILED: "bold red",
    Action.NOT_ATTEMPTED: "dim",
}


def human_size(size: Optional[int]) -> str:
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def make_console(stderr: bool = True) -> Console:
    return Console(stderr=stderr, highlight=False, soft_wrap=True)


class ConsoleReporter:
    """The Reporter for the terminal: a progress bar on a TTY, one line per file otherwise."""

    def __init__(
        self,
        console: Console,
        *,
        verbose: bool = False,
        quiet: bool = False,
        github: Optional[TextIO] = None,
    ) -> None:
        self.console = console
        self.verbose = verbose
        self.quiet = quiet
        self.github = github  # where GitHub Actions workflow commands go, when running there
        self._group_open = False
        self._lock = threading.RLock()
        self._progress: Optional[Progress] = None
        self._tasks: dict[str, TaskID] = {}

    # -- Reporter protocol ---------------------------------------------------

    def notice(self, message: str) -> None:
        if not self.quiet:
            self._print(f"[dim]note:[/dim] {escape(message)}")

    def warning(self, message: str) -> None:
        if not self.quiet:
            self._print(f"[yellow]warning:[/yellow] {escape(message)}")
        self._workflow(annotation("warning", message))

    def phase(self, name: str) -> None:
        self._end_group()
        if self.github is not None:
            self._workflow(group(name))
            self._group_open = True

    def request(self, method: str, url: str, status: int, seconds: float) -> None:
        if self.verbose:
            self._print(f"[dim]{method} {escape(url)} -> {status} ({seconds:.3f} s)[/dim]")

    def uploads_starting(self, count: int, total_bytes: int) -> None:
        self._total_task: Optional[TaskID] = None
        self._sent: dict[str, int] = {}
        if count > 1 and self._show_progress():
            self._total_task = self._progress_bars().add_task("[bold]total[/bold]", total=total_bytes)

    def upload_started(self, filename: str, size: int) -> None:
        if not self._show_progress():
            return
        with self._lock:
            self._tasks[filename] = self._progress_bars().add_task(escape(filename), total=size)

    def upload_progress(self, filename: str, sent: int) -> None:
        if self._progress is None or filename not in self._tasks:
            return
        with self._lock:
            delta = sent - self._sent.get(filename, 0)
            self._sent[filename] = sent
            self._progress.update(self._tasks[filename], completed=sent)
            if getattr(self, "_total_task", None) is not None:
                self._progress.advance(self._total_task, delta)

    def _show_progress(self) -> bool:
        return not self.quiet and self.console.is_terminal

    def _progress_bars(self) -> Progress:
        if self._progress is None:
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(binary_units=True),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=self.console,
                transient=True,
            )
            self._progress.start()
        return self._progress

    def upload_finished(self, item: FileReport) -> None:
        if self._progress is not None and item.filename in self._tasks:
            with self._lock:
                self._progress.remove_task(self._tasks.pop(item.filename))
        if self.quiet:
            return
        style = _ACTION_STYLE[item.action]
        timing = f", {item.seconds:.2f} s" if item.seconds is not None else ""
        reason = f" - {escape(item.reason)}" if item.reason and item.action not in (Action.UPLOADED, Action.FAILED) else ""
        self._print(
            f"[{style}]{item.action.value:<12}[/{style}] {escape(item.filename)} "
            f"({human_size(item.size)}{timing}){reason}"
        )

    # -- end of run ----------------------------------------------------------

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def summary(self, report: Report) -> None:
        """The table of files, the totals line, then the error and hint if any."""
        self.close()
        self._end_group()
        shown = [item for item in report.files if item.size is not None]
        if shown and not self.quiet:
            table = Table(title=None, show_edge=False, pad_edge=False)
            table.add_column("file")
            table.add_column("size", justify="right")
            table.add_column("action")
            table.add_column("time", justify="right")
            for item in shown:
                style = _ACTION_STYLE[item.action]
                seconds = f"{item.seconds:.2f} s" if item.seconds is not None else "-"
                table.add_row(escape(item.filename), human_size(item.size), f"[{style}]{item.action.value}[/{style}]", seconds)
            self.console.print()
            self.console.print(table)
            self.console.print(totals_line(report))
        if report.error is not None:
            self.error(report.error)
            self.annotate(report)

    def check_table(self, outcome) -> None:
        """``pubtool check``: one row per file (result, then each error and warning), then errors."""
        self._end_group()
        styles = {"ok": "green", "warning": "yellow", "error": "bold red"}
        table = Table(show_edge=False, pad_edge=False)
        table.add_column("file")
        table.add_column("result")
        table.add_column("notes")
        for row in outcome.rows:
            notes = [f"error: {e}" for e in row.errors] + [f"warning: {w}" for w in row.warnings]
            style = styles[row.result]
            table.add_row(escape(row.filename), f"[{style}]{row.result}[/{style}]", escape("\n".join(notes)))
        self.console.print(table)
        if not outcome.rendering_checked:
            self.notice("the long description's rendering was not checked: install pubtool[check] (readme-renderer)")
        if outcome.error is not None:
            self.error(outcome.error)
        for row in outcome.rows:  # in GitHub Actions: one annotation per finding, on its file
            for level, messages in (("error", row.errors), ("warning", row.warnings)):
                for message in messages:
                    self._workflow(annotation(level, f"{row.filename}: {message}", file=row.path))

    def annotate(self, report: Report) -> None:
        """GitHub annotations: one per failed file (pointing at it), then the error and its hint."""
        if self.github is None or report.error is None:
            return
        said = set()
        for item in report.files:
            if item.action in (Action.FAILED, Action.CONFLICT) and item.reason:
                self._workflow(annotation("error", item.reason, file=item.path))
                said.add(item.reason)
        hint = f"\nhint: {report.error.hint}" if report.error.hint else ""
        message = report.error.message if report.error.message not in said else "pubtool upload failed"
        self._workflow(annotation("error", f"{message}{hint}"))

    def error(self, error: PubtoolError) -> None:
        for what, reason in error.details:
            self._print(f"[bold red]error:[/bold red] {escape(what)}: {escape(reason)}")
        self._print(f"[bold red]error:[/bold red] {escape(error.message)}")
        if error.hint:
            self._print(f"[cyan]hint:[/cyan] {escape(error.hint)}")

    def _workflow(self, line: str) -> None:
        if self.github is not None:
            self.close()
            self.github.write(line + "\n")
            self.github.flush()

    def _end_group(self) -> None:
        if self._group_open:
            self._workflow(END_GROUP)
            self._group_open = False
        self._lock = threading.RLock()

    def _print(self, markup: str) -> None:
        target = self._progress.console if self._progress is not None else self.console
        target.print(markup)


def totals_line(report: Report) -> str:
    counts: dict[Action, int] = {}
    for item in report.files:
        if item.size is not None:
            counts[item.action] = counts.get(item.action, 0) + 1
    parts = [f"{count} {action.value}" for action, count in counts.items()]
    prefix = "dry run: " if report.dry_run else ""
    return prefix + (", ".join(parts) if parts else "no files")
