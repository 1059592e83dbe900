"""The settings of one run, resolved from options, env vars, config files, keyring and ~/.netrc."""

from __future__ import annotations

from dataclasses import dataclass, field
import os
from typing import Mapping, Optional, Sequence
from urllib.parse import urlsplit

from publisher.config import find_index
from publisher.credentials import (
    Credentials,
    credentials_from_keyring,
    credentials_from_netrc,
    credentials_from_options,
    credentials_from_url,
)
from publisher.errors import ConfigError, InputError
from publisher.trusted_publishing import CiIdentity, Mode, should_use
from publisher.urls import (
    PYPI_UPLOAD_URL,
    credentials_in_url,
    is_loopback,
    redact,
    strip_credentials,
    validate_http_url,
)

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
    index: Optional[str] = None  # the --index name, for messages
    trusted_publishing: Mode = Mode.AUTO
    ci_identity: CiIdentity = field(default_factory=CiIdentity, repr=False)
    attestations: bool = False
    jobs: int = 1

    @property
    def use_trusted_publishing(self) -> bool:
        return should_use(
            self.trusted_publishing,
            have_credentials=self.upload_credentials is not None,
            identity=self.ci_identity,
            publish_url=self.publish_url,
        )


@dataclass(frozen=True)
class Options:
    """The raw values of the upload options (a flag already beats its env var: typer saw to that)."""

    paths: Sequence[str]
    publish_url: Optional[str] = None  # None: from --index, else PyPI
    check_url: Optional[str] = None
    index: Optional[str] = None
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
    trusted_publishing: str = "auto"
    attestations: bool = False
    jobs: int = 1


def _first(*values: Optional[str]) -> Optional[str]:
    """The first value that was given at all (an empty string was given, and is then rejected)."""
    return next((value for value in values if value is not None), None)


def resolve_settings(
    options: Options,
    *,
    use_netrc: bool = True,
    use_keyring: bool = True,
    environ: Optional[Mapping[str, str]] = None,
) -> tuple[Settings, list[str]]:
    """Validate options, read a named index, pick credentials; return Settings and warnings.

    Credentials, first found wins: options and their env vars, the URL, the config file,
    keyring, ~/.netrc (SPEC section 1 and 4). Raises InputError / ConfigError.
    """
    warnings: list[str] = []
    if not options.paths:
        raise InputError("no files given", hint="pass the distributions to upload, e.g. pubtool upload 'dist/*'")
    index = find_index(options.index) if options.index else None
    if index is not None and index.publish_url is None and options.publish_url is None:
        msg = f"--index {index.name!r} ({index.source}) has no 'publish-url'"
        raise ConfigError(msg, hint="add publish-url to the index, or pass --publish-url")
    publish_url = _first(options.publish_url, index.publish_url if index else None, DEFAULT_PUBLISH_URL)
    check_url = _first(options.check_url, index.check_url if index else None)
    from_index = f"index {index.name!r} ({index.source})" if index else ""
    validate_http_url(publish_url, "--publish-url" if options.publish_url is not None or not index else from_index)
    if check_url is not None:
        validate_http_url(check_url, "--check-url" if options.check_url is not None or not index else from_index)
    if options.retries < 0:
        raise InputError(f"--retries: {options.retries} is negative", hint="use 0 for no retries")
    if options.timeout <= 0:
        raise InputError(f"--timeout: {options.timeout} must be more than 0 seconds")
    if options.jobs < 1:
        raise InputError(f"--jobs: {options.jobs} must be at least 1", hint="1 uploads strictly one at a time")
    try:
        trusted_publishing = Mode(options.trusted_publishing)
    except ValueError:
        msg = f"--trusted-publishing: {options.trusted_publishing!r} is not one of auto, always, never"
        raise InputError(msg) from None

    # Username and password may come from different places (username in the config file,
    # password in PUBTOOL_PASSWORD): each is taken from the first place that has it.
    url_username, url_password = credentials_in_url(publish_url)
    if options.token:  # a token is the whole credential: nothing from the URL or config joins it
        upload = credentials_from_options(username=options.username, password=None, token=options.token, source="options")
    else:
        upload = credentials_from_options(
            username=options.username or url_username or (index.username if index else None),
            password=options.password or url_password or (index.password if index else None),
            source="options",
        )
    service = strip_credentials(publish_url)  # the keyring service is the URL as users store it
    if upload is not None and not upload.password:
        found = (credentials_from_keyring(service, upload.username) if use_keyring else None) or (
            credentials_from_netrc(publish_url) if use_netrc else None
        )
        if found is not None and found.username == upload.username:  # netrc: only for the same login
            upload = found
    if upload is None:
        upload = (credentials_from_keyring(service, None) if use_keyring else None) or (
            credentials_from_netrc(publish_url) if use_netrc else None
        )
    check = None
    if check_url is not None:
        check = credentials_from_options(
            username=options.check_username,
            password=options.check_password,
            source="check options",
            username_option="--check-username",
        ) or credentials_from_url(check_url)
        if check is None and index is not None and options.check_url is None:
            check = upload  # the index's credentials serve its own check URL, whatever its realm
        if check is None and use_netrc:
            check = credentials_from_netrc(check_url)
    for url, credentials in ((publish_url, upload), (check_url, check)):
        if url and credentials and urlsplit(url).scheme.lower() == "http" and not is_loopback(url):
            warnings.append(f"{redact(url)} is plain http: credentials travel in clear text")
    settings = Settings(
        paths=tuple(options.paths),
        publish_url=strip_credentials(publish_url),
        check_url=strip_credentials(check_url) if check_url else None,
        upload_credentials=upload,
        check_credentials=check,
        allow_check_auth_failure=options.allow_check_auth_failure,
        skip_existing=options.skip_existing,
        dry_run=options.dry_run,
        retries=options.retries,
        timeout=options.timeout,
        index=index.name if index else None,
        trusted_publishing=trusted_publishing,
        ci_identity=CiIdentity.from_environment(os.environ if environ is None else environ, publish_url),
        attestations=options.attestations,
        jobs=options.jobs,
    )
    return settings, warnings
