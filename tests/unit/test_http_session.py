"""The run's session reads proxy variables once per origin, and still honours them per origin."""

from __future__ import annotations

import pytest

from publisher.http import make_session


@pytest.fixture
def proxy_env(monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", "http://proxy.example:3128")
    monkeypatch.setenv("no_proxy", "direct.example")


def settings_for(session, url):
    return session.merge_environment_settings(url, {}, None, None, None)


def test_proxy_from_the_environment_is_used(proxy_env):
    session = make_session(retries=0)
    assert settings_for(session, "http://index.example/legacy/")["proxies"].get("http") == "http://proxy.example:3128"


def test_no_proxy_host_goes_direct_even_after_another_origin_was_cached(proxy_env):
    session = make_session(retries=0)
    settings_for(session, "http://index.example/legacy/")
    assert "http" not in settings_for(session, "http://direct.example/simple/")["proxies"]
    assert settings_for(session, "http://index.example/simple/pkg/")["proxies"].get("http") == "http://proxy.example:3128"


def test_a_caller_changing_the_returned_proxies_does_not_change_the_next_request(proxy_env):
    session = make_session(retries=0)
    settings_for(session, "http://index.example/legacy/")["proxies"].clear()
    assert settings_for(session, "http://index.example/legacy/")["proxies"].get("http") == "http://proxy.example:3128"


def test_explicit_proxies_are_not_cached(proxy_env):
    session = make_session(retries=0)
    explicit = session.merge_environment_settings("http://index.example/", {"http": "http://other.example:1"}, None, None, None)
    assert explicit["proxies"]["http"] == "http://other.example:1"
    assert settings_for(session, "http://index.example/")["proxies"].get("http") == "http://proxy.example:3128"


def test_verify_from_the_environment_is_kept(proxy_env, monkeypatch, tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    session = make_session(retries=0)
    for _ in range(2):
        assert settings_for(session, "https://index.example/legacy/")["verify"] == str(bundle)
