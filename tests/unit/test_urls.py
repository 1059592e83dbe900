"""publisher.urls: redaction, credentials in URLs, realms, URL validation (pure)."""

from __future__ import annotations

import pytest

from publisher.errors import InputError
from publisher.urls import (
    Realm,
    credentials_in_url,
    ensure_trailing_slash,
    is_loopback,
    redact,
    strip_credentials,
    validate_http_url,
)

TOKEN = "pypi-AgEIcHlwaS5vcmcCJGE4ZjY0YjVkLTk4NjYtNDk2Zi1hNGQzLWNmMTgzZTI5ZDBiYQACKlszLCJm_-"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://user:pass@example.com/simple/", "https://user:***@example.com/simple/"),
        ("https://example.com/simple/", "https://example.com/simple/"),
        ("https://user@example.com/simple/", "https://user@example.com/simple/"),
        ("http://ci:s3cr3t@127.0.0.1:8080/", "http://ci:***@127.0.0.1:8080/"),
        ("https://ci:s3cr3t@pkgs.example.com", "https://ci:***@pkgs.example.com"),
        (f"https://__token__:{TOKEN}@upload.example.org/legacy/", "https://__token__:***@upload.example.org/legacy/"),
        ("https://:lonepass@example.com/", "https://:***@example.com/"),
        ("https://user:p%40ss%2Fw0rd@example.com/", "https://user:***@example.com/"),
        ("https://user:pass:with:colons@example.com/", "https://user:***@example.com/"),
        # a password with a raw "@" (urllib and requests split the netloc at the last "@")
        ("https://user:p@ss@example.com/", "https://user:***@example.com/"),
        ("https://me@corp:hunter2@example.com/", "https://me@corp:***@example.com/"),
        (
            "HTTPSConnectionPool: Max retries exceeded for https://bot:hunter2@pkgs.example.com/simple/demo/ (timeout)",
            "HTTPSConnectionPool: Max retries exceeded for https://bot:***@pkgs.example.com/simple/demo/ (timeout)",
        ),
        (
            "tried https://a:one@h1.example/ then http://b:two@h2.example:8080/x, gave up",
            "tried https://a:***@h1.example/ then http://b:***@h2.example:8080/x, gave up",
        ),
        ("no URL here: user:pass@host", "no URL here: user:pass@host"),
        ("https://example.com/path?q=a:b@c", "https://example.com/path?q=a:b@c"),
        ("", ""),
    ],
)
def test_redact(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize("password", ["hunter2", TOKEN, "p%40ss", "p@ss", "a:b"])
def test_redact_never_shows_the_password(password):
    redacted = redact(f"error talking to https://user:{password}@example.com/simple/ (401)")
    assert password not in redacted
    assert "user:***@example.com" in redacted


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:pass@example.com/simple/", "https://example.com/simple/"),
        ("https://user@example.com/simple/", "https://example.com/simple/"),
        ("https://:token@example.com/", "https://example.com/"),
        ("https://user:pass@example.com:8443/x/?q=1#frag", "https://example.com:8443/x/?q=1#frag"),
        ("http://user:pass@[::1]:8080/simple/", "http://[::1]:8080/simple/"),
        ("https://example.com/simple/", "https://example.com/simple/"),
        ("https://example.com:8443/simple/", "https://example.com:8443/simple/"),
    ],
)
def test_strip_credentials(url, expected):
    assert strip_credentials(url) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:pass@example.com/", ("user", "pass")),
        ("https://user%40corp:p%40ss%3Aw%2Frd@example.com/", ("user@corp", "p@ss:w/rd")),
        ("https://user@example.com/", ("user", None)),
        ("https://user:@example.com/", ("user", "")),
        ("https://:token@example.com/", (None, "token")),
        ("https://example.com/", (None, None)),
    ],
)
def test_credentials_in_url(url, expected):
    assert credentials_in_url(url) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.com/simple/", Realm("https", "example.com", 443)),
        ("http://example.com/simple/", Realm("http", "example.com", 80)),
        ("https://example.com:443/x", Realm("https", "example.com", 443)),
        ("https://example.com:8443/x", Realm("https", "example.com", 8443)),
        ("HTTPS://Example.COM/Simple/", Realm("https", "example.com", 443)),
        ("https://user:pass@example.com/", Realm("https", "example.com", 443)),
        ("http://[::1]:8080/", Realm("http", "::1", 8080)),
    ],
)
def test_realm_of(url, expected):
    assert Realm.of(url) == expected


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ("https://example.com/simple/", "https://example.com/+f/ab/cd/file.whl", True),
        ("https://example.com/", "https://example.com:443/", True),
        ("http://example.com/", "http://EXAMPLE.com:80/other", True),
        ("https://example.com/", "http://example.com/", False),
        ("http://example.com:443/", "https://example.com/", False),
        ("https://example.com/", "https://example.com:8443/", False),
        ("https://example.com/", "https://files.example.com/", False),
    ],
)
def test_realm_equality(first, second, same):
    assert (Realm.of(first) == Realm.of(second)) is same


def test_realm_str_shows_scheme_host_and_port():
    assert str(Realm.of("https://Example.com/simple/")) == "https://example.com:443"


@pytest.mark.parametrize(
    "url",
    [
        "https://upload.example.org/legacy/",
        "http://localhost:8080/",
        "https://user:pass@pkgs.example.com/root/dev/",
        "HTTPS://example.com/",
        "http://[::1]:3141/",
    ],
)
def test_validate_http_url_accepts(url):
    assert validate_http_url(url, "--publish-url").hostname


@pytest.mark.parametrize(
    "url",
    [
        "upload.example.org/legacy/",
        "ftp://example.com/",
        "file:///tmp/simple/",
        "https://",
        "https:///path",
        "https://example.com:notaport/",
        "https://example.com:99999/",
        "",
    ],
)
@pytest.mark.parametrize("option", ["--publish-url", "--check-url"])
def test_validate_http_url_rejects_naming_the_option(url, option):
    with pytest.raises(InputError) as caught:
        validate_http_url(url, option)
    assert str(caught.value).startswith(f"{option}: ")


def test_validate_http_url_error_does_not_show_the_password():
    with pytest.raises(InputError) as caught:
        validate_http_url("ftp://user:hunter2@example.com/", "--check-url")
    assert "hunter2" not in str(caught.value)
    assert "user:***@" in str(caught.value)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.com/simple", "https://example.com/simple/"),
        ("https://example.com/simple/", "https://example.com/simple/"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com/simple?x=1", "https://example.com/simple/?x=1"),
    ],
)
def test_ensure_trailing_slash(url, expected):
    assert ensure_trailing_slash(url) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://localhost:8080/", True),
        ("http://LOCALHOST/", True),
        ("http://127.0.0.1:3141/", True),
        ("http://127.1.2.3/", True),
        ("http://[::1]:8080/", True),
        ("http://user:pass@localhost/", True),
        ("http://example.com/", False),
        ("http://10.0.0.1/", False),
        ("http://localhost.example.com/", False),
        ("http://128.0.0.1/", False),
        # a DNS name that only starts like a loopback address is not one
        ("http://127.example.com/", False),
        ("http://127.0.0.1.nip.io/", False),
    ],
)
def test_is_loopback(url, expected):
    assert is_loopback(url) is expected
