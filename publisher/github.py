"""GitHub Actions output: workflow commands (annotations, groups) and the step summary.

Pure formatting; ``ui.ConsoleReporter`` writes the lines when GITHUB_ACTIONS=true.
https://docs.github.com/actions/reference/workflow-commands-for-github-actions
"""

from __future__ import annotations

from typing import Optional

from publisher.report import Report


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(level: str, message: str, *, file: Optional[str] = None, title: str = "pubtool") -> str:
    """``::error file=dist/x.whl,title=pubtool::message`` (level: error, warning, notice)."""
    properties = [f"title={_escape_property(title)}"]
    if file:
        properties.insert(0, f"file={_escape_property(file)}")
    return f"::{level} {','.join(properties)}::{_escape_data(message)}"


def group(name: str) -> str:
    return f"::group::{_escape_data(name)}"


END_GROUP = "::endgroup::"


def step_summary(report: Report) -> str:
    """A Markdown table for $GITHUB_STEP_SUMMARY: file, size, action, sha256 prefix."""
    from publisher.ui import human_size, totals_line

    lines = [
        "### pubtool upload",
        "",
        f"Index: `{report.publish_url}`" + (f" · check URL: `{report.check_url}`" if report.check_url else ""),
        "",
        "| file | size | action | sha256 |",
        "|---|---:|---|---|",
    ]
    for item in report.files:
        sha = f"`{item.sha256[:12]}`" if item.sha256 else ""
        lines.append(f"| `{item.filename}` | {human_size(item.size)} | {item.action.value} | {sha} |")
    lines += ["", f"**{totals_line(report)}** (exit code {report.exit_code})"]
    if report.error is not None:
        lines += ["", f"> **error:** {report.error.message}"]
        if report.error.hint:
            lines.append(f"> **hint:** {report.error.hint}")
    return "\n".join(lines) + "\n"
