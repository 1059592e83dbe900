"""Read a project's files from a Simple Repository API page (PEP 503 HTML, PEP 691 JSON).

``parse_project_page`` is pure; ``fetch_project_listing`` and ``download_digest``
do the I/O, with the check-URL rules of SPEC section 3 step 4 and section 8.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Mapping, Optional
from urllib.parse import unquote, urldefrag, urljoin, urlsplit, urlunsplit

from packaging.utils import NormalizedName, canonicalize_name

from publisher.errors import CheckUrlAuthError, CheckUrlError
from publisher.urls import Realm, ensure_trailing_slash, redact

ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
MAX_REDIRECTS = 5


@dataclass(frozen=True)
class RemoteFile:
    filename: str
    url: str
    hashes: Mapping[str, str] = field(default_factory=dict)  # algorithm -> lower-case hex


@dataclass(frozen=True)
class ProjectListing:
    """The files an index lists for one project; ``exists`` is False when the page was a 404."""

    project: NormalizedName
    page_url: str
    files: Mapping[str, RemoteFile]
    exists: bool = True


class NotASimplePage(ValueError):
    """The body is not a PEP 503/691 project page."""


class LoginPage(ValueError):
    """The body is an HTML login form, not a project page."""


# ---------------------------------------------------------------- pure parsing


def project_page_url(check_root: str, project: NormalizedName) -> str:
    """``{check_root}/{project}/`` (PEP 503 names are normalised)."""
    return urljoin(ensure_trailing_slash(check_root), f"{project}/")


def check_root_for(check_url: str, projects: set[NormalizedName]) -> str:
    """The Simple API root: drop a trailing project name users sometimes include (SPEC section 8)."""
    parts = urlsplit(check_url)
    path = parts.path.rstrip("/")
    last = posixpath.basename(path)
    if last and canonicalize_name(unquote(last)) in projects and "+simple" not in last and last != "simple":
        parent = posixpath.dirname(path) + "/"
        return urlunsplit(parts._replace(path=parent))
    return ensure_trailing_slash(check_url)


def is_under(url: str, root: str) -> bool:
    """Whether ``url`` is on ``root``'s realm and under its path."""
    if Realm.of(url) != Realm.of(root):
        return False
    root_path = ensure_trailing_slash(urlsplit(root).path)
    path = urlsplit(url).path
    return path.startswith(root_path) or ensure_trailing_slash(path) == root_path


def _split_fragment_hash(url: str) -> tuple[str, dict[str, str]]:
    clean, fragment = urldefrag(url)
    hashes: dict[str, str] = {}
    if "=" in fragment:
        algorithm, _, digest = fragment.partition("=")
        if algorithm and digest:
            hashes[algorithm.lower()] = digest.lower()
    return clean, hashes


class _AnchorParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[tuple[str, str]] = []  # (href, text)
        self.has_password_field = False
        self.has_html = False
        self._href: Optional[str] = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs) -> None:
        self.has_html = True
        attributes = dict(attrs)
        if tag == "a" and attributes.get("href"):
            self._href = attributes["href"]
            self._text = []
        elif tag == "input" and (attributes.get("type") or "").lower() == "password":
            self.has_password_field = True

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.anchors.append((self._href, "".join(self._text).strip()))
            self._href = None


def _filename_of(url: str) -> str:
    return unquote(posixpath.basename(urlsplit(url).path))


def parse_html_page(body: str, page_url: str) -> dict[str, RemoteFile]:
    parser = _AnchorParser()
    parser.feed(body)
    parser.close()
    if parser.has_password_field:
        raise LoginPage("the page is a login form")
    if not parser.has_html and body.strip():
        raise NotASimplePage("the body is not HTML")
    files: dict[str, RemoteFile] = {}
    for href, text in parser.anchors:
        absolute = urljoin(page_url, href)
        clean, hashes = _split_fragment_hash(absolute)
        filename = text or _filename_of(clean)
        files[filename] = RemoteFile(filename, clean, hashes)
    return files


def parse_json_page(body: str, page_url: str) -> dict[str, RemoteFile]:
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise NotASimplePage(f"invalid JSON ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("files"), list):
        raise NotASimplePage("JSON without a 'files' list")
    files: dict[str, RemoteFile] = {}
    for entry in data["files"]:
        if not isinstance(entry, dict) or "filename" not in entry:
            raise NotASimplePage("a file entry has no 'filename'")
        raw_hashes = entry.get("hashes") or {}
        hashes = {str(k).lower(): str(v).lower() for k, v in raw_hashes.items() if v}
        url, fragment_hashes = _split_fragment_hash(urljoin(page_url, str(entry.get("url", entry["filename"]))))
        files[entry["filename"]] = RemoteFile(entry["filename"], url, {**fragment_hashes, **hashes})
    return files


def parse_project_page(body: str, content_type: str, page_url: str) -> dict[str, RemoteFile]:
    """Parse a project page by its content type; raise NotASimplePage or LoginPage."""
    media_type = content_type.split(";")[0].strip().lower()
    if media_type.endswith("+json") or media_type == "application/json":
        return parse_json_page(body, page_url)
    if media_type in ("text/html", "application/vnd.pypi.simple.v1+html", "application/xhtml+xml", ""):
        return parse_html_page(body, page_url)
    raise NotASimplePage(f"unexpected content type {media_type!r}")


# ---------------------------------------------------------------- I/O


def fetch_project_listing(session, check_root: str, project: NormalizedName, *, timeout: float) -> ProjectListing:
    """GET the project's page; 404 means a new project. Raise CheckUrlAuthError / CheckUrlError."""
    import requests

    from publisher.http import connection_problem

    url = project_page_url(check_root, project)
    for _ in range(MAX_REDIRECTS + 1):
        try:
            response = session.get(url, headers={"Accept": ACCEPT}, allow_redirects=False, timeout=(timeout, timeout))
        except requests.RequestException as exc:
            msg = f"the check URL {redact(url)} could not be read: {connection_problem(exc)}"
            raise CheckUrlError(msg, hint="check the URL and the network; nothing was uploaded") from exc
        status = response.status_code
        if status in (401, 403):
            raise CheckUrlAuthError.for_response(check_root, url, status)
        if 300 <= status < 400 and "Location" in response.headers:
            target = urljoin(url, response.headers["Location"])
            if not is_under(target, check_root):
                raise CheckUrlAuthError.for_redirect(check_root, url, status, target)
            url = target
            continue
        if status == 404:
            return ProjectListing(project, url, {}, exists=False)
        if status != 200:
            msg = f"the check URL {redact(url)} answered HTTP {status} {response.reason or ''}".rstrip()
            raise CheckUrlError(msg, hint="the check is needed to publish safely; try again later")
        try:
            files = parse_project_page(response.text, response.headers.get("Content-Type", ""), url)
        except LoginPage as exc:
            raise CheckUrlAuthError.for_login_page(check_root, url) from exc
        except NotASimplePage as exc:
            msg = f"the check URL {redact(url)} did not answer with a simple index page: {exc}"
            hint = "--check-url must be a Simple Repository API root, e.g. https://pkgs.example.com/simple/"
            raise CheckUrlError(msg, hint=hint) from exc
        return ProjectListing(project, url, files)
    msg = f"the check URL {redact(url)} redirected more than {MAX_REDIRECTS} times"
    raise CheckUrlError(msg)


def download_digest(
    session, remote: RemoteFile, algorithm: str, *, timeout: float, check_root: Optional[str] = None
) -> str:
    """Download a listed file (credentials by realm, on every hop) and return its digest."""
    import requests

    from publisher.http import connection_problem

    url = remote.url
    for _ in range(MAX_REDIRECTS + 1):
        try:
            response = session.get(url, stream=True, allow_redirects=False, timeout=(timeout, timeout))
        except requests.RequestException as exc:
            msg = f"could not download {remote.filename} from {redact(url)} to verify it: {connection_problem(exc)}"
            raise CheckUrlError(msg) from exc
        with response:
            status = response.status_code
            if 300 <= status < 400 and "Location" in response.headers:
                url = urljoin(url, response.headers["Location"])
                continue
            if status in (401, 403):
                raise CheckUrlAuthError.for_response(check_root or url, url, status, what=f"the file URL of {remote.filename}")
            if status != 200:
                msg = f"could not download {remote.filename} from {redact(url)} to verify it: HTTP {status}"
                raise CheckUrlError(msg)
            if "text/html" in response.headers.get("Content-Type", ""):
                raise CheckUrlAuthError.for_login_page(check_root or url, url, what=f"the file URL of {remote.filename}")
            digest = hashlib.new(algorithm)
            for chunk in response.iter_content(chunk_size=1024 * 1024):
                digest.update(chunk)
            return digest.hexdigest()
    msg = f"downloading {remote.filename} from {redact(url)} redirected more than {MAX_REDIRECTS} times"
    raise CheckUrlError(msg)
