"""publisher.settings: options -> frozen Settings + warnings; credentials by precedence."""

from __future__ import annotations

import pytest

from publisher.errors import InputError
from publisher.settings import DEFAULT_PUBLISH_URL, Options, resolve_settings

SECRET = "s3cr3t-do-not-print"
PATHS = ("dist/*",)


def creds(credentials):
    return None if credentials is None else (credentials.username, credentials.password)


@pytest.mark.parametrize(
    ("options", "publish_url", "check_url", "upload", "check"),
    [
        pytest.param(Options(PATHS), DEFAULT_PUBLISH_URL, None, None, None, id="defaults"),
        pytest.param(
            Options(PATHS, publish_url=f"https://ci:{SECRET}@pkgs.example.com/legacy/"),
            "https://pkgs.example.com/legacy/",
            None,
            ("ci", SECRET),
            None,
            id="publish-url-credentials-stripped-and-kept",
        ),
        pytest.param(
            Options(PATHS, check_url=f"https://reader:{SECRET}@pkgs.example.com/simple/"),
            DEFAULT_PUBLISH_URL,
            "https://pkgs.example.com/simple/",
            None,
            ("reader", SECRET),
            id="check-url-credentials-stripped-and-kept",
        ),
        pytest.param(
            Options(PATHS, publish_url=f"https://ci:{SECRET}@pkgs.example.com/legacy/", username="flag", password="pw"),
            "https://pkgs.example.com/legacy/",
            None,
            ("flag", "pw"),
            None,
            id="flag-beats-url",
        ),
        pytest.param(
            Options(PATHS, publish_url=f"https://ci:{SECRET}@pkgs.example.com/legacy/", token="pypi-tok"),
            "https://pkgs.example.com/legacy/",
            None,
            ("__token__", "pypi-tok"),
            None,
            id="token-beats-url",
        ),
        pytest.param(
            Options(
                PATHS,
                check_url=f"https://reader:{SECRET}@pkgs.example.com/simple/",
                check_username="flag-reader",
                check_password="pw",
            ),
            DEFAULT_PUBLISH_URL,
            "https://pkgs.example.com/simple/",
            None,
            ("flag-reader", "pw"),
            id="check-flag-beats-check-url",
        ),
        pytest.param(
            Options(PATHS, check_url="https://pkgs.example.com/simple/", username="ci", password="pw"),
            DEFAULT_PUBLISH_URL,
            "https://pkgs.example.com/simple/",
            ("ci", "pw"),
            None,
            id="upload-flags-are-not-check-credentials",
        ),
        pytest.param(
            Options(PATHS, check_url="https://pkgs.example.com/simple/", check_password="pypi-read"),
            DEFAULT_PUBLISH_URL,
            "https://pkgs.example.com/simple/",
            None,
            ("__token__", "pypi-read"),
            id="lone-check-password",
        ),
        pytest.param(
            Options(PATHS, password="pypi-lone"),
            DEFAULT_PUBLISH_URL,
            None,
            ("__token__", "pypi-lone"),
            None,
            id="lone-password-is-a-token",
        ),
        pytest.param(
            Options(PATHS, publish_url="https://ci@pkgs.example.com/legacy/"),
            "https://pkgs.example.com/legacy/",
            None,
            ("ci", ""),
            None,
            id="url-username-only",
        ),
    ],
)
def test_resolve_settings_credentials(options, publish_url, check_url, upload, check):
    settings, warnings = resolve_settings(options, use_netrc=False)
    assert settings.publish_url == publish_url
    assert settings.check_url == check_url
    assert creds(settings.upload_credentials) == upload
    assert creds(settings.check_credentials) == check
    assert warnings == []


NETRC = "machine pkgs.example.com login netrc-user password netrc-pw\n"


@pytest.mark.parametrize(
    ("options", "use_netrc", "upload", "check"),
    [
        pytest.param(
            Options(PATHS, publish_url="https://pkgs.example.com/legacy/", check_url="https://pkgs.example.com/simple/"),
            True,
            ("netrc-user", "netrc-pw"),
            ("netrc-user", "netrc-pw"),
            id="netrc",
        ),
        pytest.param(
            Options(PATHS, publish_url="https://pkgs.example.com/legacy/", check_url="https://pkgs.example.com/simple/"),
            False,
            None,
            None,
            id="netrc-off",
        ),
        pytest.param(
            Options(PATHS, publish_url="https://pkgs.example.com/legacy/", username="flag", password="pw"),
            True,
            ("flag", "pw"),
            None,
            id="flag-beats-netrc",
        ),
        pytest.param(
            Options(PATHS, publish_url="https://url:pw@pkgs.example.com/legacy/"),
            True,
            ("url", "pw"),
            None,
            id="url-beats-netrc",
        ),
        pytest.param(Options(PATHS, publish_url="https://other.example.com/"), True, None, None, id="netrc-other-host"),
    ],
)
def test_resolve_settings_netrc(isolated_environment, options, use_netrc, upload, check):
    netrc = isolated_environment / ".netrc"
    netrc.write_text(NETRC)
    netrc.chmod(0o600)
    settings, _ = resolve_settings(options, use_netrc=use_netrc)
    assert creds(settings.upload_credentials) == upload
    assert creds(settings.check_credentials) == check


@pytest.mark.parametrize(
    ("options", "warned_urls"),
    [
        pytest.param(
            Options(PATHS, publish_url="http://pkgs.example.com/legacy/", username="ci", password=SECRET),
            ["http://pkgs.example.com/legacy/"],
            id="plain-http-with-flag-credentials",
        ),
        pytest.param(
            Options(PATHS, publish_url=f"http://ci:{SECRET}@pkgs.example.com/legacy/"),
            ["http://ci:***@pkgs.example.com/legacy/"],
            id="plain-http-with-url-credentials",
        ),
        pytest.param(
            Options(PATHS, publish_url=f"HTTP://ci:{SECRET}@pkgs.example.com/legacy/"),
            ["ci:***@pkgs.example.com/legacy/"],
            id="plain-http-upper-case-scheme",
        ),
        pytest.param(
            Options(PATHS, check_url=f"http://reader:{SECRET}@pkgs.example.com/simple/"),
            ["http://reader:***@pkgs.example.com/simple/"],
            id="plain-http-check-url",
        ),
        pytest.param(
            Options(
                PATHS,
                publish_url="http://pkgs.example.com/legacy/",
                check_url="http://pkgs.example.com/simple/",
                token=SECRET,
                check_username="reader",
                check_password=SECRET,
            ),
            ["http://pkgs.example.com/legacy/", "http://pkgs.example.com/simple/"],
            id="plain-http-both",
        ),
        pytest.param(
            Options(PATHS, publish_url=f"http://john@corp.example:{SECRET}@pkgs.example.com/legacy/"),
            ["http://john@corp.example:***@pkgs.example.com/legacy/"],
            id="plain-http-email-as-username",
        ),
        pytest.param(Options(PATHS, publish_url="http://pkgs.example.com/legacy/"), [], id="plain-http-no-credentials"),
        pytest.param(
            Options(PATHS, publish_url="http://127.0.0.1:8080/", username="ci", password=SECRET), [], id="loopback-ip"
        ),
        pytest.param(
            Options(PATHS, publish_url=f"http://ci:{SECRET}@localhost:8080/", check_url=f"http://r:{SECRET}@[::1]:8080/simple/"),
            [],
            id="loopback-names",
        ),
        pytest.param(
            Options(PATHS, publish_url="https://pkgs.example.com/legacy/", username="ci", password=SECRET), [], id="https"
        ),
    ],
)
def test_resolve_settings_plain_http_warning(options, warned_urls):
    _, warnings = resolve_settings(options, use_netrc=False)
    assert len(warnings) == len(warned_urls), warnings
    for warning, url in zip(warnings, warned_urls):
        assert url in warning
        assert "clear text" in warning or "plain http" in warning
        assert SECRET not in warning


@pytest.mark.parametrize(
    ("options", "words"),
    [
        pytest.param(Options(()), ["no files given"], id="no-paths"),
        pytest.param(Options([]), ["no files given"], id="no-paths-list"),
        pytest.param(Options(PATHS, publish_url="upload.example.org/legacy/"), ["--publish-url"], id="publish-url-no-scheme"),
        pytest.param(Options(PATHS, publish_url="ftp://example.com/"), ["--publish-url"], id="publish-url-ftp"),
        pytest.param(Options(PATHS, publish_url="https://host:port/"), ["--publish-url"], id="publish-url-bad-port"),
        pytest.param(Options(PATHS, check_url="index.example.org/simple/"), ["--check-url"], id="check-url-no-scheme"),
        pytest.param(Options(PATHS, check_url="https://"), ["--check-url"], id="check-url-no-host"),
        pytest.param(Options(PATHS, check_url=""), ["--check-url"], id="check-url-empty"),
        pytest.param(Options(PATHS, retries=-1), ["--retries"], id="negative-retries"),
        pytest.param(Options(PATHS, timeout=0), ["--timeout"], id="zero-timeout"),
        pytest.param(Options(PATHS, timeout=-5), ["--timeout"], id="negative-timeout"),
        pytest.param(Options(PATHS, token="pypi-tok", username="alice"), ["--token", "--username"], id="token-and-username"),
        pytest.param(
            Options(PATHS, publish_url=f"ftp://ci:{SECRET}@example.com/"), ["--publish-url", "ci:***@"], id="redacted"
        ),
    ],
)
def test_resolve_settings_input_errors(options, words):
    with pytest.raises(InputError) as caught:
        resolve_settings(options, use_netrc=False)
    error = caught.value
    assert error.exit_code == 2
    for word in words:
        assert word in str(error)
    assert SECRET not in str(error) + (error.hint or "")


def test_resolve_settings_copies_the_flags():
    options = Options(
        ["a.whl", "b.tar.gz"],
        check_url="https://index.example.org/simple/",
        allow_check_auth_failure=True,
        skip_existing=True,
        dry_run=True,
        retries=0,
        timeout=2.5,
    )
    settings, _ = resolve_settings(options, use_netrc=False)
    assert settings.paths == ("a.whl", "b.tar.gz")
    assert (settings.allow_check_auth_failure, settings.skip_existing, settings.dry_run) == (True, True, True)
    assert (settings.retries, settings.timeout) == (0, 2.5)


def test_settings_and_options_repr_hide_secrets():
    options = Options(
        PATHS,
        publish_url="https://pkgs.example.com/legacy/",
        check_url="https://pkgs.example.com/simple/",
        password="p-" + SECRET,
        username="ci",
        check_username="reader",
        check_password="c-" + SECRET,
    )
    settings, _ = resolve_settings(options, use_netrc=False)
    assert SECRET not in repr(options)
    assert SECRET not in repr(settings)
    assert SECRET not in repr(Options(PATHS, token="t-" + SECRET))


def test_an_index_without_publish_url_needs_one_on_the_command_line(tmp_path, monkeypatch):
    """Never fall back to PyPI (with the index's credentials) for an index that only names its check URL."""
    from publisher.errors import ConfigError

    monkeypatch.chdir(tmp_path)
    (tmp_path / "pubtool.toml").write_text(
        '[[index]]\nname = "internal"\nurl = "https://pkgs.example.com/simple/"\nusername = "ci-bot"\n'
    )
    with pytest.raises(ConfigError) as caught:
        resolve_settings(Options(PATHS, index="internal", password="x"), use_netrc=False, use_keyring=False)
    assert "publish-url" in str(caught.value) and "internal" in str(caught.value)

    settings, _ = resolve_settings(
        Options(PATHS, index="internal", publish_url="https://pkgs.example.com/legacy/", password="x"),
        use_netrc=False,
        use_keyring=False,
    )
    assert settings.publish_url == "https://pkgs.example.com/legacy/"
    assert settings.check_url == "https://pkgs.example.com/simple/"
