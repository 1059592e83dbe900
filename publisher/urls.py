"""URL helpers with no I/O: redaction, realms, validation of user-given URLs."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Optional
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

from publisher.errors import InputError

_DEFAULT_PORTS = {"http": 80, "https": 443}

# PyPI's legacy upload endpoint is the default publish URL (SPEC section 1); .pypirc's
# "pypi" and "testpypi" sections may omit their URLs, and only for these two indexes is the
# check URL known (SPEC section 8). The only place the product names index hosts.
PYPI_UPLOAD_URL = "https://upload.pypi.org/legacy/"
KNOWN_INDEXES = {  # .pypirc section -> (upload URL, Simple API root)
    "pypi": (PYPI_UPLOAD_URL, "https://pypi.org/simple/"),
    "testpypi": ("https://test.pypi.org/legacy/", "https://test.pypi.org/simple/"),
}
# The userinfo runs to the LAST "@" of the authority, as urllib and urllib3 split it
# (an e-mail address as username is common on Artifactory and Nexus).
_USERINFO_IN_TEXT = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/?#\s]*)@")


def _hide_password(match: re.Match) -> str:
    user, colon, _password = match["userinfo"].partition(":")
    return f"{match['scheme']}{user}{colon}{'***' if colon else ''}@"


def redact(url: str) -> str:
    """Return ``url`` (or any text with URLs) with every password replaced by ``***``."""
    return _USERINFO_IN_TEXT.sub(_hide_password, url)


def strip_credentials(url: str) -> str:
    """Return ``url`` without any ``user:password@`` part."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    netloc = parts.hostname or ""
    if ":" in netloc:  # IPv6 literal
        netloc = f"[{netloc}]"
    if parts.port is not None:
        netloc = f"{netloc}:{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def credentials_in_url(url: str) -> tuple[Optional[str], Optional[str]]:
    """The (username, password) embedded in ``url``, percent-decoded, or (None, None)."""
    parts = urlsplit(url)
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    return username, password


@dataclass(frozen=True)
class Realm:
    """Scheme, host and port: the scope credentials are sent to (SPEC section 4)."""

    scheme: str
    host: str
    port: int

    @classmethod
    def of(cls, url: str) -> Realm:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        port = parts.port or _DEFAULT_PORTS.get(scheme, 0)
        return cls(scheme, (parts.hostname or "").lower(), port)

    def __str__(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


def validate_http_url(url: str, option: str) -> SplitResult:
    """Check that ``url`` is an absolute http(s) URL with a host; raise InputError naming ``option``."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        msg = f"{option}: {redact(url)!r} is not a valid URL ({exc})"
        raise InputError(msg) from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        msg = f"{option}: {redact(url)!r} is not an http:// or https:// URL"
        raise InputError(msg, hint="give the full URL, e.g. https://pkgs.example.com/legacy/")
    return parts


def ensure_trailing_slash(url: str) -> str:
    parts = urlsplit(url)
    if parts.path.endswith("/"):
        return url
    return urlunsplit(parts._replace(path=parts.path + "/"))


def is_loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a DNS name such as 127.example.com
        return False
