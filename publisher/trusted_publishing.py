"""Trusted publishing (SPEC section 6): an OIDC ID token from the CI provider, exchanged
at the index for a short-lived upload token.

GitHub Actions: GET {root}/_/oidc/audience, request an ID token for that audience from
ACTIONS_ID_TOKEN_REQUEST_URL (bearer ACTIONS_ID_TOKEN_REQUEST_TOKEN), POST it to
{root}/_/oidc/mint-token. GitLab CI hands the ID token over directly in PYPI_ID_TOKEN
(TESTPYPI_ID_TOKEN for TestPyPI). A minted token lives about 15 minutes: ``TokenMinter``
mints a fresh one before it expires, so a long run does not fail half way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import Enum
from typing import Mapping, Optional
from urllib.parse import urlsplit, urlunsplit

from publisher.credentials import TOKEN_USERNAME, Credentials
from publisher.errors import NetworkError
from publisher.urls import KNOWN_INDEXES, Realm, redact

TOKEN_LIFETIME = 15 * 60.0  # seconds, when the index does not say
REFRESH_MARGIN = 120.0  # mint again when less than this is left


class Mode(str, Enum):
    AUTO = "auto"
    ALWAYS = "always"
    NEVER = "never"


@dataclass(frozen=True)
class CiIdentity:
    """What the CI environment offers for an ID token (read from the environment by the CLI)."""

    actions_request_url: Optional[str] = None
    actions_request_token: Optional[str] = field(default=None, repr=False)
    gitlab_id_token: Optional[str] = field(default=None, repr=False)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str], publish_url: str) -> CiIdentity:
        testpypi = Realm.of(publish_url) == Realm.of(KNOWN_INDEXES["testpypi"][0])
        gitlab = environ.get("TESTPYPI_ID_TOKEN" if testpypi else "PYPI_ID_TOKEN")
        return cls(
            actions_request_url=environ.get("ACTIONS_ID_TOKEN_REQUEST_URL") or None,
            actions_request_token=environ.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN") or None,
            gitlab_id_token=gitlab or None,
        )

    @property
    def available(self) -> bool:
        return bool(self.gitlab_id_token or (self.actions_request_url and self.actions_request_token))


def index_root(publish_url: str) -> str:
    """scheme://host:port of the publish URL (SPEC section 8)."""
    parts = urlsplit(publish_url)
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], "", "", ""))


def is_known_index(publish_url: str) -> bool:
    return any(Realm.of(publish_url) == Realm.of(upload) for upload, _simple in KNOWN_INDEXES.values())


def should_use(mode: Mode, *, have_credentials: bool, identity: CiIdentity, publish_url: str) -> bool:
    """Whether to do the exchange (pure): ``always``; or ``auto`` with no credentials, a CI
    identity, and PyPI or TestPyPI as the index."""
    if mode is Mode.ALWAYS:
        return True
    if mode is Mode.NEVER or have_credentials:
        return False
    return identity.available and is_known_index(publish_url)


def with_audience(request_url: str, audience: str) -> str:
    """Keep the request URL's query and append ``audience=`` (SPEC section 8)."""
    from urllib.parse import quote

    separator = "&" if urlsplit(request_url).query else "?"
    return f"{request_url}{separator}audience={quote(audience, safe='')}"


class TokenMinter:
    """Mints upload credentials and mints again before they expire."""

    def __init__(self, session, publish_url: str, identity: CiIdentity, *, timeout: float) -> None:
        self.session = session
        self.root = index_root(publish_url)
        self.identity = identity
        self.timeout = timeout
        self._credentials: Optional[Credentials] = None
        self._expires_at = 0.0
        self.mint_count = 0

    def credentials(self) -> Credentials:
        """Valid upload credentials: the current token, or a freshly minted one."""
        if self._credentials is None or time.time() > self._expires_at - REFRESH_MARGIN:
            token, expires_at = self.mint()
            self._credentials = Credentials(TOKEN_USERNAME, token, "trusted publishing")
            self._expires_at = expires_at
        return self._credentials

    def mint(self) -> tuple[str, float]:
        if not self.identity.available:
            msg = "trusted publishing: no ID token: ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN (or PYPI_ID_TOKEN) are not set"
            hint = "give the publish job `permissions: id-token: write` (or pass credentials instead)"
            raise NetworkError(msg, hint=hint)
        id_token = self.identity.gitlab_id_token or self._github_id_token(self._audience())
        return self._exchange(id_token)

    # -- the three steps -------------------------------------------------------

    def _audience(self) -> str:
        url = f"{self.root}/_/oidc/audience"
        data = self._json("GET", url, step="asking the index for the OIDC audience", auth=NO_AUTH)
        audience = data.get("audience")
        if not isinstance(audience, str) or not audience:
            raise _step_error("asking the index for the OIDC audience", url, "no 'audience' in the answer")
        return audience

    def _github_id_token(self, audience: str) -> str:
        if not (self.identity.actions_request_url and self.identity.actions_request_token):
            msg = "trusted publishing: no ID token: ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN are not set"
            hint = "give the publish job `permissions: id-token: write` (or pass credentials instead)"
            raise NetworkError(msg, hint=hint)
        url = with_audience(self.identity.actions_request_url, audience)
        auth = BearerAuth(self.identity.actions_request_token)
        data = self._json("GET", url, step="requesting an ID token from GitHub Actions", auth=auth)
        value = data.get("value")
        if not isinstance(value, str) or not value:
            raise _step_error("requesting an ID token from GitHub Actions", url, "no 'value' in the answer")
        return value

    def _exchange(self, id_token: str) -> tuple[str, float]:
        url = f"{self.root}/_/oidc/mint-token"
        step = "exchanging the ID token for an upload token"
        data = self._json("POST", url, step=step, json={"token": id_token}, auth=NO_AUTH)
        token = data.get("token")
        if not data.get("success", True) or not isinstance(token, str) or not token:
            raise _step_error(step, url, _index_reasons(data))
        self.mint_count += 1
        expires = data.get("expires")
        expires_at = float(expires) if isinstance(expires, (int, float)) else time.time() + TOKEN_LIFETIME
        return token, expires_at

    def _json(self, method: str, url: str, *, step: str, **kwargs) -> dict:
        import requests

        from publisher.http import connection_problem

        try:
            response = self.session.request(
                method, url, timeout=(self.timeout, self.timeout), allow_redirects=False, **kwargs
            )
        except requests.RequestException as exc:
            raise _step_error(step, url, connection_problem(exc)) from exc
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.status_code != 200 or not isinstance(data, dict):
            reasons = _index_reasons(data) if isinstance(data, dict) else (response.text or "")[:200].strip()
            raise _step_error(step, url, f"HTTP {response.status_code} {reasons}".strip())
        return data


class BearerAuth:
    """The Actions token endpoint wants ``Authorization: bearer <token>`` (replaces the session's auth)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request):
        request.headers["Authorization"] = f"bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "BearerAuth(***)"


def NO_AUTH(request):  # noqa: N802 - the OIDC endpoints get no credentials (not an old minted token either)
    request.headers.pop("Authorization", None)
    return request


def _index_reasons(data: dict) -> str:
    """PyPI answers {"message": ..., "errors": [{"code": ..., "description": ...}]}."""
    parts = [str(data.get("message") or "")]
    for error in data.get("errors") or []:
        if isinstance(error, dict):
            parts.append(str(error.get("description") or error.get("code") or ""))
    return "; ".join(part for part in parts if part) or "no reason given"


def _step_error(step: str, url: str, reason: str) -> NetworkError:
    msg = f"trusted publishing failed while {step} ({redact(url)}): {reason}"
    if "ID token" in step and "exchang" not in step:
        hint = "is `permissions: id-token: write` set on the publish job?"
    elif "exchang" in step:
        hint = (
            "is a trusted publisher configured on the index for this repository, workflow and "
            "environment? (or pass an API token with -t instead)"
        )
    else:
        hint = "does this index support trusted publishing? (or pass an API token with -t instead)"
    return NetworkError(msg, hint=hint)
