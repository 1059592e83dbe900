"""One streaming multipart POST per file to the legacy upload API; never prints.

The form follows what PyPI's legacy API and twine send. The body is streamed by
requests-toolbelt's MultipartEncoder, so memory does not grow with file size.
"""

from __future__ import annotations

import html
import json
import re
import time
from dataclasses import dataclass
from enum import Enum
from typing import Callable, Optional
from urllib.parse import urljoin, urlsplit

import requests
from requests_toolbelt.multipart.encoder import MultipartEncoder, MultipartEncoderMonitor

from publisher.distributions.collect import FileKind
from publisher.distributions.validate import Distribution
from publisher.errors import NetworkError, RedirectError, UploadAuthError
from publisher.http import TRANSIENT_STATUSES, connection_problem, retry_delay, sleep
from publisher.urls import Realm, redact

# (form field, pkginfo attribute); multi-valued attributes become repeated fields.
METADATA_FIELDS: tuple[tuple[str, str], ...] = (
    ("metadata_version", "metadata_version"),
    ("name", "name"),
    ("version", "version"),
    ("summary", "summary"),
    ("home_page", "home_page"),
    ("author", "author"),
    ("author_email", "author_email"),
    ("maintainer", "maintainer"),
    ("maintainer_email", "maintainer_email"),
    ("license", "license"),
    ("license_expression", "license_expression"),
    ("license_file", "license_file"),
    ("description", "description"),
    ("description_content_type", "description_content_type"),
    ("keywords", "keywords"),
    ("platform", "platforms"),
    ("supported_platform", "supported_platforms"),
    ("classifiers", "classifiers"),
    ("download_url", "download_url"),
    ("provides", "provides"),
    ("requires", "requires"),
    ("obsoletes", "obsoletes"),
    ("project_urls", "project_urls"),
    ("provides_dist", "provides_dist"),
    ("obsoletes_dist", "obsoletes_dist"),
    ("requires_dist", "requires_dist"),
    ("requires_external", "requires_external"),
    ("provides_extra", "provides_extras"),
    ("dynamic", "dynamic"),
)

MAX_REDIRECTS = 5
RETRY_DEADLINE = 300.0  # seconds: no new attempt of one file starts later than this


class UploadStatus(Enum):
    UPLOADED = "uploaded"
    IDENTICAL_EXISTS = "identical-exists"  # devpi: 200 "Upload of identical file to non volatile index."
    LANDED_EARLIER = "landed-earlier"  # a failed attempt had reached the index after all
    ALREADY_EXISTS = "already-exists"


@dataclass(frozen=True)
class UploadResult:
    status: UploadStatus
    http_status: int
    message: str  # the server's reason, one line
    seconds: float
    attempts: int


def form_fields(dist: Distribution) -> list[tuple[str, str]]:
    """The legacy API form for ``dist``, without the file itself (pure)."""
    fields: list[tuple[str, str]] = [
        (":action", "file_upload"),
        ("protocol_version", "1"),
        ("filetype", "bdist_wheel" if dist.kind is FileKind.WHEEL else "sdist"),
        ("pyversion", dist.pyversion),
    ]
    for form_name, attribute in METADATA_FIELDS:
        value = dist.metadata.get(attribute)
        if isinstance(value, tuple):
            fields.extend((form_name, item) for item in value)
        elif value:
            fields.append((form_name, value))
    # GitLab rejects uploads without it, so it is sent even when empty.
    fields.append(("requires_python", str(dist.metadata.get("requires_python") or "")))
    fields.append(("sha256_digest", dist.hashes.sha256))
    fields.append(("blake2_256_digest", dist.hashes.blake2_256))
    return fields


def attestations_field(dist: Distribution) -> str:
    """PEP 740: the ``attestations`` form field is a JSON array of the attestation objects."""
    return json.dumps([json.loads(path.read_text(encoding="utf-8")) for path in dist.attestations])


# SPEC section 3 step 6, INDEX-SERVERS.md: how each index says "a file of that name exists".
# (server, status, lower-case text in the reason or body)
ALREADY_EXISTS_ANSWERS: tuple[tuple[str, int, str], ...] = (
    ("PyPI / TestPyPI", 400, "file already exists"),
    ("pypiserver", 409, "already exists"),
    ("pypiserver (twine user agent)", 400, "already exists"),
    ("devpi (non-volatile index)", 409, "already exists in non-volatile index"),
    ("Artifactory", 403, "not enough permissions to delete/overwrite"),
    ("Nexus", 400, "repository does not allow updating assets"),
    ("Nexus", 400, "cannot be updated"),
    ("GitLab", 400, "file name has already been taken"),
    ("Google Artifact Registry", 400, "already exists"),
    ("AWS CodeArtifact", 409, ""),
)


# PyPI: the name of a deleted file can never be reused. The old wording, then warehouse's current one.
FILENAME_REUSE_WORDINGS = ("previously used", "filename has already been used")


def is_filename_reuse(text: str) -> bool:
    lowered = text.lower()
    return any(wording in lowered for wording in FILENAME_REUSE_WORDINGS)


def is_already_exists(status: int, text: str) -> bool:
    """Whether an answer means "a file of that name is already there" (pure)."""
    lowered = text.lower()
    if is_filename_reuse(lowered):
        return False
    return any(status == code and needle in lowered for _server, code, needle in ALREADY_EXISTS_ANSWERS)


_TAGS = re.compile(r"<[^>]+>")
_INVISIBLE = re.compile(r"<(style|script|head)\b.*?</\1>", re.IGNORECASE | re.DOTALL)
_PRE = re.compile(r"<pre\b[^>]*>(.*?)</pre>", re.IGNORECASE | re.DOTALL)
_SPACES = re.compile(r"\s+")


def server_message(response: requests.Response, limit: int = 300) -> str:
    """The server's own words for an answer: reason phrase plus the body's text, on one line."""
    body = ""
    try:
        body = response.text or ""
    except (requests.RequestException, UnicodeDecodeError):
        body = ""
    body = _INVISIBLE.sub(" ", body)
    pre = _PRE.search(body)  # bottle (pypiserver) and others put the detail in <pre>
    if pre and pre.group(1).strip() not in ("", "None"):  # bottle prints <pre>None</pre> for no detail
        body = pre.group(1)
    elif pre:
        body = ""
    body = _SPACES.sub(" ", html.unescape(_TAGS.sub(" ", body))).strip()
    # webob error pages (devpi, pyramid) open with "<status> <reason>"
    body = re.sub(rf"^{response.status_code}\s+", "", body)
    reason = (response.reason or "").strip()
    if body.lower().startswith(reason.lower()):
        reason = ""
    text = " ".join(part for part in (reason, body) if part)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def upload_file(
    session: requests.Session,
    url: str,
    dist: Distribution,
    *,
    timeout: float,
    retries: int,
    on_progress: Callable[[int], None] = lambda sent: None,
    landed_meanwhile: Callable[[], Optional[bool]] = lambda: None,
    deadline: float = RETRY_DEADLINE,
    with_attestations: bool = False,
) -> UploadResult:
    """POST ``dist`` to ``url``; retry transient failures; follow same-realm 307/308.

    A POST that failed may still have landed (the connection dropped after the index
    stored the file, a proxy answered 502 after the index answered 200): before each
    re-send ``landed_meanwhile()`` looks the file up, and a file found there is not sent
    again; nor after the last attempt. ``landed_meanwhile()`` returns None when it cannot
    tell (no check URL). Retries stop after ``retries`` or when ``deadline`` seconds have passed.
    Raises NetworkError (or a subclass) when the upload fails for good.
    """
    started = time.monotonic()
    target = url
    redirects = 0
    attempt = 0

    def may_retry(delay: float) -> bool:
        return attempt <= retries and time.monotonic() + delay - started <= deadline

    while True:
        attempt += 1
        try:
            response = _post(
                session, target, dist, timeout=timeout, on_progress=on_progress, with_attestations=with_attestations
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            delay = retry_delay(attempt - 1, None)
            if not may_retry(delay):
                landed = landed_meanwhile()
                if landed:
                    return UploadResult(UploadStatus.LANDED_EARLIER, 0, "", time.monotonic() - started, attempt)
                tries = f" after {attempt} attempts" if attempt > 1 else ""
                maybe = "; it may or may not be on the index" if landed is None else ""
                msg = f"could not upload {dist.filename} to {redact(target)}{tries}: {connection_problem(exc)}{maybe}"
                raise NetworkError(msg, hint="check the network and the URL, or raise --retries/--timeout") from exc
            sleep(delay)
            if landed_meanwhile():
                return UploadResult(UploadStatus.LANDED_EARLIER, 0, "", time.monotonic() - started, attempt)
            continue
        status = response.status_code
        if status in (307, 308) and "Location" in response.headers:
            location = urljoin(target, response.headers["Location"])
            if Realm.of(location) == Realm.of(target) and redirects < MAX_REDIRECTS:
                redirects += 1
                target = location
                attempt -= 1  # a redirect is not a failed attempt
                continue
        if 300 <= status < 400:
            raise redirect_error(dist.filename, target, response)
        if status in TRANSIENT_STATUSES:
            delay = retry_delay(attempt - 1, response.headers.get("Retry-After"))
            if may_retry(delay):
                sleep(delay)
                if status != 429 and landed_meanwhile():
                    return UploadResult(UploadStatus.LANDED_EARLIER, status, "", time.monotonic() - started, attempt)
                continue
        landed_unknown = False
        if status in TRANSIENT_STATUSES and status != 429:  # out of retries: the last attempt may have landed too
            landed = landed_meanwhile()
            if landed:
                return UploadResult(UploadStatus.LANDED_EARLIER, status, "", time.monotonic() - started, attempt)
            landed_unknown = landed is None
        message = server_message(response)
        seconds = time.monotonic() - started
        if 200 <= status < 300:
            landed = UploadStatus.IDENTICAL_EXISTS if "identical file" in message.lower() else UploadStatus.UPLOADED
            return UploadResult(landed, status, message, seconds, attempt)
        if is_already_exists(status, message):
            return UploadResult(UploadStatus.ALREADY_EXISTS, status, message, seconds, attempt)
        raise upload_error(dist.filename, target, status, message, attempts=attempt, may_have_landed=landed_unknown)


def _post(
    session: requests.Session,
    url: str,
    dist: Distribution,
    *,
    timeout: float,
    on_progress: Callable[[int], None],
    with_attestations: bool = False,
) -> requests.Response:
    with open(dist.path, "rb") as stream:
        fields: list = list(form_fields(dist))
        if with_attestations:
            fields.append(("attestations", attestations_field(dist)))
        fields.append(("content", (dist.filename, stream, "application/octet-stream")))
        encoder = MultipartEncoder(fields=fields)
        monitor = MultipartEncoderMonitor(encoder, lambda m: on_progress(min(m.bytes_read, dist.size)))
        return session.post(
            url,
            data=monitor,
            headers={"Content-Type": monitor.content_type},
            allow_redirects=False,
            timeout=(timeout, timeout),
        )


def redirect_error(filename: str, url: str, response: requests.Response) -> RedirectError:
    """Diagnose a redirect we do not follow; spot the missing trailing slash (as twine does)."""
    location = urljoin(url, response.headers.get("Location", ""))
    msg = f"upload of {filename} to {redact(url)} was redirected ({response.status_code}) to {redact(location)}"
    if location.rstrip("/") == url.rstrip("/") and location.endswith("/") and not url.endswith("/"):
        hint = f"the publish URL probably lacks its trailing slash: use --publish-url {redact(location)}"
    elif Realm.of(location) != Realm.of(url):
        hint = "pubtool does not send a file (or credentials) to another host; use the final URL as --publish-url"
    else:
        hint = f"only 307/308 redirects are followed for uploads; use --publish-url {redact(location)}"
    return RedirectError(msg, hint=hint)


def upload_error(
    filename: str, url: str, status: int, message: str, *, attempts: int = 1, may_have_landed: bool = False
) -> NetworkError:
    """The error for a refused upload, with a hint for the common answers (pure)."""
    said = f": {message}" if message else ""
    tries = f" after {attempts} attempts" if attempts > 1 else ""
    maybe = "; it may or may not be on the index" if may_have_landed else ""
    msg = f"upload of {filename} to {redact(url)} failed{tries} with HTTP {status}{said}{maybe}"
    lowered = message.lower()
    if status == 403 and ("not allowed" in lowered or "isn't allowed" in lowered):
        hint = "these credentials may not upload to this project: check the token's scope or the project's owners"
        return UploadAuthError(msg, hint=hint)
    if status in (401, 403):
        hint = (
            "the upload credentials are missing or wrong: pass -u/--username and -p/--password "
            "(or PUBTOOL_USERNAME/PUBTOOL_PASSWORD), or -t/--token for an API token"
        )
        return UploadAuthError(msg, hint=hint)
    # PyPI answers 405 to a POST on its simple index; devpi answers 404 on +simple/.
    if status == 405 or (status == 404 and urlsplit(url).path.rstrip("/").endswith("simple")):
        hint = "this URL does not accept uploads; it may be the simple index URL rather than the upload endpoint"
        return NetworkError(msg, hint=hint)
    if is_filename_reuse(lowered):
        hint = "a file of this name was deleted from the index and can never be re-uploaded; bump the version"
    elif status == 413:
        hint = "the file is larger than the index accepts"
    elif status == 400:
        hint = "the index rejected the file or its metadata; the server's reason is above"
    elif status >= 500:
        hint = "the index failed; try again later or raise --retries"
    else:
        hint = None
    return NetworkError(msg, hint=hint)
