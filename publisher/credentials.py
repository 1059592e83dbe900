"""Credentials scoped to a realm (scheme, host, port), as SPEC section 4 describes.

Credentials given for a URL go with every request to the same realm, not only
to URLs under its path: devpi lists files of ``/root/pypi/+simple/...`` at
``/root/pypi/+f/...`` (astral-sh/uv#13737). They never go to another realm.
"""

from __future__ import annotations

import netrc
import os
from dataclasses import dataclass, field
from enum import Enum
from typing import Optional

import requests
from requests.auth import AuthBase, HTTPBasicAuth

from publisher.errors import InputError
from publisher.urls import Realm, credentials_in_url

TOKEN_USERNAME = "__token__"


class Purpose(Enum):
    UPLOAD = "upload"
    READ = "read"


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)
    source: str = ""  # where they came from, for messages: "--username/--password", "URL", "netrc"...


def credentials_from_options(
    *,
    username: Optional[str],
    password: Optional[str],
    token: Optional[str] = None,
    source: str,
    username_option: str = "--username",
) -> Optional[Credentials]:
    """Combine username/password/token options into Credentials (pure); None if nothing given."""
    if token:
        if username and username != TOKEN_USERNAME:
            msg = f"--token cannot be combined with {username_option} {username!r}"
            raise InputError(msg, hint="an API token is sent as the password of the user __token__")
        return Credentials(TOKEN_USERNAME, token, source)
    if password and not username:
        # As uv does: a lone password is an API token.
        return Credentials(TOKEN_USERNAME, password, source)
    if username:
        return Credentials(username, password or "", source)
    return None


def credentials_from_url(url: str) -> Optional[Credentials]:
    username, password = credentials_in_url(url)
    if username is None and password is None:
        return None
    return Credentials(username or "", password or "", "URL")


def credentials_from_netrc(url: str, path: Optional[str] = None) -> Optional[Credentials]:
    """Look the URL's host up in ~/.netrc (or $NETRC); None when absent or unreadable."""
    location = path or os.environ.get("NETRC") or os.path.join(os.path.expanduser("~"), ".netrc")
    if not os.path.isfile(location):
        return None
    try:
        entry = netrc.netrc(location).authenticators(Realm.of(url).host)
    except (netrc.NetrcParseError, OSError):
        return None
    if not entry:
        return None
    login, _account, password = entry
    return Credentials(login or "", password or "", "~/.netrc")


def credentials_from_keyring(url: str, username: Optional[str]) -> Optional[Credentials]:
    """Ask keyring (the optional extra ``pubtool[keyring]``) as twine does; None when absent or failing."""
    try:
        import keyring
    except ImportError:
        return None
    try:
        if username:
            password = keyring.get_password(url, username)
            return Credentials(username, password, "keyring") if password else None
        credential = keyring.get_credential(url, None)
    except Exception:  # noqa: BLE001 - a broken keyring backend must not stop a publish
        return None
    if credential is None or not credential.password:
        return None
    return Credentials(credential.username or TOKEN_USERNAME, credential.password, "keyring")


class RealmAuth(AuthBase):
    """A requests auth that picks credentials by the request's realm and method.

    GET/HEAD use read credentials of the realm, falling back to its upload
    credentials; POST uses upload credentials (SPEC section 8).
    """

    def __init__(self) -> None:
        self._store: dict[tuple[Realm, Purpose], Credentials] = {}

    def add(self, url: str, credentials: Optional[Credentials], purpose: Purpose) -> None:
        if credentials is not None:
            self._store.setdefault((Realm.of(url), purpose), credentials)

    def replace(self, url: str, credentials: Credentials, purpose: Purpose) -> None:
        """Swap in new credentials (a freshly minted trusted-publishing token)."""
        self._store[(Realm.of(url), purpose)] = credentials

    def lookup(self, method: str, url: str) -> Optional[Credentials]:
        realm = Realm.of(url)
        if method.upper() in ("GET", "HEAD"):
            order = (Purpose.READ, Purpose.UPLOAD)
        else:
            order = (Purpose.UPLOAD,)
        for purpose in order:
            found = self._store.get((realm, purpose))
            if found is not None:
                return found
        return None

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        found = self.lookup(request.method or "GET", request.url or "")
        if found is None:  # nothing for this realm: never let a header meant for another one through
            request.headers.pop("Authorization", None)
            return request
        return HTTPBasicAuth(found.username, found.password)(request)

    def __repr__(self) -> str:
        realms = sorted({f"{realm} ({purpose.value})" for realm, purpose in self._store})
        return f"RealmAuth({', '.join(realms)})"
