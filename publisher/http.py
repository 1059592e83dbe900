"""The HTTP policy of a run: one session, retries for reads, timeouts, a request log."""

from __future__ import annotations

import random
import re
import time
from typing import Callable, Optional
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from publisher import __version__
from publisher.urls import redact

# SPEC section 8: transient failures are connection errors, timeouts and these answers.
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
USER_AGENT = f"pubtool/{__version__}"
RETRY_AFTER_MAX = 30.0

RequestLogger = Callable[[str, str, int, float], None]  # method, redacted URL, status, seconds


class ReadRetry(Retry):
    """urllib3 retries for GET/HEAD only. POSTs get no retry here at all, not even on connect
    errors: ``upload.upload_file`` retries them itself, so ``--retries N`` stays 1 + N attempts."""

    def increment(self, method=None, url=None, *args, **kwargs):
        if method is not None and method.upper() not in (self.allowed_methods or ()):
            # Retry.increment, not self.increment: the new object is a ReadRetry too (endless recursion).
            exhausted = self.new(total=0, connect=0, read=0, status=0, other=0)
            return Retry.increment(exhausted, method, url, *args, **kwargs)
        return super().increment(method, url, *args, **kwargs)


def read_retry_policy(retries: int, backoff_factor: float = 0.25) -> ReadRetry:
    """urllib3 retries for GET/HEAD: connection errors, timeouts and transient statuses."""
    policy = dict(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        other=0,
        allowed_methods=frozenset({"GET", "HEAD"}),
        status_forcelist=TRANSIENT_STATUSES,
        backoff_factor=backoff_factor,
        backoff_max=30,
        respect_retry_after_header=True,
        raise_on_status=False,
        raise_on_redirect=False,
        redirect=0,
    )
    try:  # never sleep longer than 30 s on a Retry-After (urllib3's default cap is 6 hours)
        return ReadRetry(**policy, retry_after_max=RETRY_AFTER_MAX)
    except TypeError:  # urllib3 older than 2.4
        return ReadRetry(**policy)


class StreamingAdapter(HTTPAdapter):
    """Sends request bodies in 256 KiB blocks instead of urllib3's 16 KiB (measured: a 256 MiB
    upload to a local sink took 1.5 s instead of 2.6 s, same peak RSS; benchmarks/RESULTS.md)."""

    BLOCKSIZE = 256 * 1024

    def init_poolmanager(self, *args, **kwargs):
        if int(urllib3.__version__.split(".")[0]) >= 2:  # urllib3 1.26 has no blocksize
            kwargs.setdefault("blocksize", self.BLOCKSIZE)
        super().init_poolmanager(*args, **kwargs)


class PublishSession(requests.Session):
    """A Session that reads the proxy and CA-bundle variables once per origin instead of once
    per request: requests scans the whole environment for each one (about 1 ms)."""

    def __init__(self) -> None:
        super().__init__()
        self._environment: dict[tuple, dict] = {}

    def merge_environment_settings(self, url, proxies, stream, verify, cert):
        if proxies or not self.trust_env:
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        parts = urlsplit(url)
        key = (parts.scheme, parts.hostname, parts.port, stream, verify, cert)
        settings = self._environment.get(key)
        if settings is None:
            settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
            self._environment[key] = settings
        return {**settings, "proxies": dict(settings["proxies"])}


def make_session(
    *,
    retries: int,
    auth: Optional[requests.auth.AuthBase] = None,
    log_request: Optional[RequestLogger] = None,
    pool_size: int = 8,
) -> requests.Session:
    """The one session a run uses: connection pooling, retries for reads, our auth, our UA."""
    session = PublishSession()
    adapter = StreamingAdapter(max_retries=read_retry_policy(retries), pool_maxsize=pool_size)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    # Credentials come only from our realm-scoped auth: requests reads ~/.netrc by
    # itself only when a session has no auth object, so one is always set. trust_env
    # stays on for proxy and CA-bundle variables.
    session.auth = auth if auth is not None else NoCredentials()
    if log_request is not None:
        session.hooks["response"].append(_logging_hook(log_request))
    return session


class NoCredentials(requests.auth.AuthBase):
    """Sends no credentials, and stops requests from reading ~/.netrc on its own."""

    def __call__(self, request):
        return request


def _logging_hook(log_request: RequestLogger):
    def hook(response: requests.Response, *args, **kwargs):
        seconds = response.elapsed.total_seconds() if response.elapsed else 0.0
        log_request(response.request.method or "?", redact(response.request.url or ""), response.status_code, seconds)
        return response

    return hook


def retry_delay(attempt: int, retry_after: Optional[str], base: float = 0.5, cap: float = RETRY_AFTER_MAX) -> float:
    """Seconds to wait before attempt ``attempt + 2``: exponential with up to 25 % jitter, so
    parallel CI jobs do not retry in step; a Retry-After in seconds wins when given."""
    if retry_after:
        try:
            return min(max(float(retry_after), 0.0), cap)
        except ValueError:
            pass
    return min(base * (2**attempt) * (1 + random.random() * 0.25), cap)


def sleep(seconds: float) -> None:
    time.sleep(seconds)


_ERRNO_TEXT = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")


def connection_problem(exc: Exception) -> str:
    """A short reason for a transport failure instead of urllib3's nested repr."""
    if isinstance(exc, requests.Timeout):
        return "timed out (see --timeout)"
    text = str(exc)
    errno_text = _ERRNO_TEXT.search(text)
    if errno_text:
        return errno_text.group(1).strip().lower()
    if "RemoteDisconnected" in text or "Connection aborted" in text or "reset" in text.lower():
        return "the server closed the connection"
    return redact(text if len(text) <= 200 else text[:199] + "…")
