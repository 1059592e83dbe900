"""The settings of one run, resolved from options, environment and ~/.netrc into a frozen value."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence
from urllib.parse import urlsplit

from publisher.credentials import (
    Credentials,
    credentials_from_netrc,
    credentials_from_options,
    credentials_from_url,
)
from publisher.errors import InputError
from publisher.urls import PYPI_UPLOAD_URL, is_loopback, redact, strip_credentials, validate_http_url

DEFAULT_PUBLISH_URL = PYPI_UPLOAD_URL


@dataclass(frozen=True)
class Settings:
    paths: tuple[str, ...]
    publish_url: str  # without credentials
    check_url: Optional[str] = None  # without credentials
    upload_credentials: Optional[Credentials] = field(default=None, repr=False)
    check_credentials: Optional[Credentials] = field(default=None, repr=False)
    allow_check_auth_failure: bool = False
    skip_existing: bool = False
    dry_run: bool = False
    retries: int = 3
    timeout: float = 30.0


@dataclass(frozen=True)
class Options:
    """The raw values of the upload options (a flag already beats its env var: typer saw to that)."""

    paths: Sequence[str]
    publish_url: str = DEFAULT_PUBLISH_URL
    check_url: Optional[str] = None
    username: Optional[str] = None
    password: Optional[str] = field(default=None, repr=False)
    token: Optional[str] = field(default=None, repr=False)
    check_username: Optional[str] = None
    check_password: Optional[str] = field(default=None, repr=False)
    allow_check_auth_failure: bool = False
    skip_existing: bool = False
    dry_run: bool = False
    retries: int = 3
    timeout: float = 30.0


def resolve_settings(options: Options, *, use_netrc: bool = True) -> tuple[Settings, list[str]]:
    """Validate options and pick credentials; return Settings and warnings. Raises InputError."""
    warnings: list[str] = []
    if not options.paths:
        raise InputError("no files given", hint="pass the distributions to upload, e.g. pubtool upload 'dist/*'")
    validate_http_url(options.publish_url, "--publish-url")
    if options.check_url is not None:
        validate_http_url(options.check_url, "--check-url")
    if options.retries < 0:
        raise InputError(f"--retries: {options.retries} is negative", hint="use 0 for no retries")
    if options.timeout <= 0:
        raise InputError(f"--timeout: {options.timeout} must be more than 0 seconds")

    upload = (
        credentials_from_options(
            username=options.username, password=options.password, token=options.token, source="options"
        )
        or credentials_from_url(options.publish_url)
        or (credentials_from_netrc(options.publish_url) if use_netrc else None)
    )
    check = None
    if options.check_url is not None:
        check = (
            credentials_from_options(
                username=options.check_username,
                password=options.check_password,
                source="check options",
                username_option="--check-username",
            )
            or credentials_from_url(options.check_url)
            or (credentials_from_netrc(options.check_url) if use_netrc else None)
        )
    for url, credentials in ((options.publish_url, upload), (options.check_url, check)):
        if url and credentials and urlsplit(url).scheme.lower() == "http" and not is_loopback(url):
            warnings.append(f"{redact(url)} is plain http: credentials travel in clear text")
    settings = Settings(
        paths=tuple(options.paths),
        publish_url=strip_credentials(options.publish_url),
        check_url=strip_credentials(options.check_url) if options.check_url else None,
        upload_credentials=upload,
        check_credentials=check,
        allow_check_auth_failure=options.allow_check_auth_failure,
        skip_existing=options.skip_existing,
        dry_run=options.dry_run,
        retries=options.retries,
        timeout=options.timeout,
    )
    return settings, warnings
