"""The command line: parse options, call the run, render, exit. No decisions here."""

import os
import sys
from typing import Annotated, List, Optional

import typer

from publisher import __version__
from publisher.urls import PYPI_UPLOAD_URL

app = typer.Typer(
    name="pubtool",
    help="Publish wheels and sdists to a package index, safely retryable.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
)

_PATHS_HELP = "Distributions to publish: files, directories (every distribution inside) or quoted glob patterns."


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"pubtool {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option("--version", help="Show the version and exit.", callback=_version_callback, is_eager=True),
    ] = False,
) -> None:
    """Publish wheels and sdists to a package index, safely retryable."""


def _interactive() -> bool:
    return sys.stdin.isatty() and not os.environ.get("CI")


@app.command()
def upload(
    ctx: typer.Context,
    paths: Annotated[List[str], typer.Argument(help=_PATHS_HELP, show_default=False, metavar="PATHS")],
    publish_url: Annotated[
        Optional[str],
        typer.Option(
            "--publish-url",
            "--repository-url",
            envvar="PUBTOOL_PUBLISH_URL",
            help=f"Legacy upload endpoint of the index [default: {PYPI_UPLOAD_URL}, or the --index's].",
        ),
    ] = None,
    index: Annotated[
        Optional[str],
        typer.Option(
            "--index",
            "-r",
            "--repository",
            envvar="PUBTOOL_INDEX",
            help="A named index from pubtool.toml, [tool.pubtool] in pyproject.toml, or ~/.pypirc.",
        ),
    ] = None,
    check_url: Annotated[
        Optional[str],
        typer.Option(
            "--check-url",
            envvar="PUBTOOL_CHECK_URL",
            help="Simple API root (…/simple/) asked which files already exist before uploading.",
        ),
    ] = None,
    allow_check_auth_failure: Annotated[
        bool,
        typer.Option(
            "--allow-check-auth-failure",
            envvar="PUBTOOL_ALLOW_CHECK_AUTH_FAILURE",
            help="On 401/403 from the check URL, warn and upload without the check.",
        ),
    ] = False,
    skip_existing: Annotated[
        bool,
        typer.Option(
            "--skip-existing",
            help="Treat the index's 'file already exists' answer as a skip (verified only with --check-url).",
        ),
    ] = False,
    username: Annotated[
        Optional[str],
        typer.Option(
            "-u", "--username", envvar=["PUBTOOL_USERNAME", "TWINE_USERNAME"], help="Upload username."
        ),
    ] = None,
    password: Annotated[
        Optional[str],
        typer.Option(
            "-p",
            "--password",
            envvar=["PUBTOOL_PASSWORD", "TWINE_PASSWORD"],
            help="Upload password (prefer the env var: options show in the process list).",
            show_envvar=True,
        ),
    ] = None,
    token: Annotated[
        Optional[str],
        typer.Option("-t", "--token", envvar="PUBTOOL_TOKEN", help="API token (sent as user __token__)."),
    ] = None,
    check_username: Annotated[
        Optional[str],
        typer.Option("--check-username", envvar="PUBTOOL_CHECK_USERNAME", help="Read username for the check URL."),
    ] = None,
    check_password: Annotated[
        Optional[str],
        typer.Option("--check-password", envvar="PUBTOOL_CHECK_PASSWORD", help="Read password for the check URL."),
    ] = None,
    trusted_publishing: Annotated[
        str,
        typer.Option(
            "--trusted-publishing",
            envvar="PUBTOOL_TRUSTED_PUBLISHING",
            help="OIDC token exchange in GitHub Actions / GitLab CI: auto (PyPI/TestPyPI, no credentials), always, never.",
        ),
    ] = "auto",
    attestations: Annotated[
        bool,
        typer.Option("--attestations", help="Upload the <file>.publish.attestation next to each distribution (PEP 740)."),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate, hash and check, but upload nothing.")
    ] = False,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print a JSON report on stdout (human output stays on stderr).")
    ] = False,
    verbose: Annotated[
        bool, typer.Option("-v", "--verbose", help="Log every HTTP request (method, redacted URL, status, time).")
    ] = False,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="Print errors only.")] = False,
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs",
            envvar="PUBTOOL_JOBS",
            min=1,
            max=32,
            help="Uploads in parallel (each sdist still after its own wheels); 1 = strictly one at a time.",
        ),
    ] = 1,
    retries: Annotated[
        int,
        typer.Option("--retries", envvar="PUBTOOL_RETRIES", min=0, max=20, help="Retries for transient failures."),
    ] = 3,
    timeout: Annotated[
        float,
        typer.Option("--timeout", envvar="PUBTOOL_TIMEOUT", min=0.1, help="Connect and read timeout in seconds."),
    ] = 30.0,
) -> None:
    """Upload distributions; skip those already on the index when a check URL is given."""
    from publisher import publish
    from publisher.errors import PubtoolError
    from publisher.settings import Options, resolve_settings
    from publisher.ui import ConsoleReporter, make_console

    in_github_actions = os.environ.get("GITHUB_ACTIONS") == "true"
    # Workflow commands go to stdout, or to stderr when --json owns stdout (SPEC section 8).
    github = (sys.stderr if json_output else sys.stdout) if in_github_actions else None
    reporter = ConsoleReporter(make_console(), verbose=verbose, quiet=quiet, github=github)
    # A flag beats an env var, also across -u/-p and -t: drop the env-var side of such a pair.
    if token and (username or password):
        if _from_command_line(ctx, "token") and not _from_command_line(ctx, "username", "password"):
            username = password = None
        elif _from_command_line(ctx, "username", "password") and not _from_command_line(ctx, "token"):
            token = None
    options = Options(
        paths=paths,
        publish_url=publish_url,
        check_url=check_url,
        index=index,
        username=username,
        password=password,
        token=token,
        check_username=check_username,
        check_password=check_password,
        allow_check_auth_failure=allow_check_auth_failure,
        skip_existing=skip_existing,
        dry_run=dry_run,
        retries=retries,
        timeout=timeout,
        trusted_publishing=trusted_publishing,
        attestations=attestations,
        jobs=jobs,
    )
    try:
        settings, warnings = resolve_settings(options)
    except PubtoolError as error:
        _fail_early(error, reporter, json_output, publish_url, check_url, dry_run)
    for warning in warnings:
        reporter.warning(warning)
    if settings.upload_credentials is None and not dry_run and not settings.use_trusted_publishing and _interactive():
        settings = _prompt_for_credentials(settings)
    _stop_on_sigterm()
    report = publish.run(settings, reporter)
    reporter.summary(report)
    if in_github_actions and os.environ.get("GITHUB_STEP_SUMMARY"):
        _append_step_summary(os.environ["GITHUB_STEP_SUMMARY"], report, reporter)
    if json_output:
        typer.echo(report.dumps())
    raise typer.Exit(report.exit_code)


@app.command()
def check(paths: Annotated[List[str], typer.Argument(help=_PATHS_HELP, show_default=False, metavar="PATHS")]) -> None:
    """Validate distributions offline, as upload would and as PyPI would; upload nothing."""
    from publisher.checks import check_distributions
    from publisher.ui import ConsoleReporter, make_console

    github = sys.stdout if os.environ.get("GITHUB_ACTIONS") == "true" else None
    reporter = ConsoleReporter(make_console(), github=github)
    outcome = check_distributions(paths, reporter)
    reporter.check_table(outcome)
    raise typer.Exit(outcome.exit_code)


def _append_step_summary(path: str, report, reporter) -> None:
    from publisher.github import step_summary

    try:
        with open(path, "a", encoding="utf-8") as stream:
            stream.write(step_summary(report))
    except OSError as exc:
        reporter.warning(f"could not write the step summary to {path}: {exc.strerror or exc}")


def _stop_on_sigterm() -> None:
    """SIGTERM (a cancelled CI job) ends the run like Ctrl-C: with a summary and exit 130."""
    import signal
    import threading

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, interrupt)


def _from_command_line(ctx: typer.Context, *names: str) -> bool:
    return any(getattr(ctx.get_parameter_source(name), "name", "") == "COMMANDLINE" for name in names)


def _fail_early(
    error, reporter, json_output: bool, publish_url: Optional[str], check_url: Optional[str], dry_run: bool
) -> None:
    """An option was wrong: nothing ran. Print the error (and the JSON report), then exit."""
    from publisher.report import Report
    from publisher.urls import redact

    reporter.error(error)
    if json_output:
        report = Report(publish_url=redact(publish_url or PYPI_UPLOAD_URL), check_url=redact(check_url) if check_url else None, dry_run=dry_run)
        report.error = error
        typer.echo(report.dumps())
    raise typer.Exit(int(error.exit_code))


def _prompt_for_credentials(settings):
    """Ask for upload credentials on a terminal (never in CI or without a TTY)."""
    import dataclasses

    from publisher.credentials import TOKEN_USERNAME, Credentials

    typer.echo(f"No upload credentials given for {settings.publish_url}.", err=True)
    username = typer.prompt("Username", default=TOKEN_USERNAME, err=True)
    password = typer.prompt("Password or API token", hide_input=True, err=True)
    return dataclasses.replace(settings, upload_credentials=Credentials(username, password, "prompt"))


def main() -> None:
    app()
