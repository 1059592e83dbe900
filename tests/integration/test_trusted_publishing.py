"""Trusted publishing against a fake index and a fake GitHub Actions token endpoint (SPEC sections 6 and 8).

Two ScriptedServers on two ports, so two realms: ``index`` plays the package index
(``/_/oidc/audience``, ``/_/oidc/mint-token``, ``/legacy/``) and ``actions`` plays
ACTIONS_ID_TOKEN_REQUEST_URL. Tests assert the exact exchange, that the minted token
was the upload password, that no credential crossed from one realm to the other, and
that neither the request token, the ID token nor the minted token is ever printed.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from pathlib import Path
from typing import Optional
from urllib.parse import parse_qs, urlsplit

import pytest

from publisher.trusted_publishing import (
    REFRESH_MARGIN,
    CiIdentity,
    Mode,
    index_root,
    should_use,
    with_audience,
)
from publisher.urls import KNOWN_INDEXES
from tests.conftest import CANARY
from tests.distfactory import make_sdist, make_wheel
from tests.integration.helpers import UPLOAD_AUTH, UPLOADER, Outcome, posted, run
from tests.servers.scripted import Recorded, Reply, ScriptedServer

UPLOAD_PATH = "/legacy/"
AUDIENCE_PATH = "/_/oidc/audience"
MINT_PATH = "/_/oidc/mint-token"
TOKEN_PATH = "/token?api-version=2.0"
JSON = {"Content-Type": "application/json"}

# Distinctive secrets for this module; every run asserts none of them is printed.
REQUEST_TOKEN = "ghreq-" + uuid.uuid4().hex
ID_TOKEN = "eyJ-idtoken-" + uuid.uuid4().hex
MINTED = "pypi-minted-" + uuid.uuid4().hex
GITLAB_ID_TOKEN = "eyJ-gitlab-" + uuid.uuid4().hex
SECRETS = (REQUEST_TOKEN, ID_TOKEN, MINTED, GITLAB_ID_TOKEN)

PYPI_REFUSAL = {
    "message": "Token request failed",
    "errors": [{"code": "invalid-publisher", "description": "valid token, but no corresponding publisher"}],
}


def json_reply(data: dict, status: int = 200) -> Reply:
    return Reply(status, json.dumps(data), JSON)


def minted_reply(token: str = MINTED, *, lifetime: float = 900.0) -> Reply:
    return json_reply({"success": True, "token": token, "expires": int(time.time() + lifetime)})


@pytest.fixture
def index():
    """The package index: audience, mint-token and the upload endpoint, all answering well."""
    with ScriptedServer() as server:
        server.on("GET", AUDIENCE_PATH, json_reply({"audience": "pypi"}))
        server.on("POST", MINT_PATH, minted_reply())
        server.on("POST", UPLOAD_PATH, Reply(200, "OK"))
        yield server


@pytest.fixture
def actions(monkeypatch):
    """The GitHub Actions ID token endpoint, named by the two env vars a job with `id-token: write` gets."""
    with ScriptedServer() as server:
        server.on("GET", "/token*", json_reply({"count": 1, "value": ID_TOKEN}))
        monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_URL", f"{server.url}{TOKEN_PATH}")
        monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", REQUEST_TOKEN)
        yield server


@pytest.fixture
def wheel(dist_dir: Path) -> Path:
    return make_wheel(dist_dir)


def upload(cli, index: ScriptedServer, *paths: Path, mode: Optional[str] = "always", extra=()) -> Outcome:
    """``pubtool upload --json`` to ``index``; with no credentials unless ``extra`` gives some."""
    args = ["upload", "--publish-url", f"{index.url}{UPLOAD_PATH}", "--retries", "0", "--timeout", "5", "--json"]
    if mode is not None:
        args += ["--trusted-publishing", mode]
    return run(cli, *args, *extra, *paths, secrets=SECRETS)


def oidc_requests(server: ScriptedServer) -> list[Recorded]:
    return [r for r in server.requests if r.path.startswith("/_/oidc/")]


# ---------------------------------------------------------------- the exchange


def test_the_exchange_is_audience_then_id_token_then_mint_then_upload_with_the_minted_token(cli, index, actions, wheel):
    outcome = upload(cli, index, wheel)

    assert outcome.exit_code == 0, outcome.stderr
    assert outcome.actions == {wheel.name: "uploaded"}
    # The index saw, in this order: the audience GET, the mint POST, the upload POST.
    assert [(r.method, r.path) for r in index.requests] == [
        ("GET", AUDIENCE_PATH),
        ("POST", MINT_PATH),
        ("POST", UPLOAD_PATH),
    ]
    audience, mint, upload_request = index.requests
    # The Actions endpoint saw one GET: its own query kept, the audience appended, the bearer request token.
    (token_request,) = actions.requests
    assert token_request.method == "GET"
    split = urlsplit(token_request.path)
    assert split.path == "/token"
    assert parse_qs(split.query) == {"api-version": ["2.0"], "audience": ["pypi"]}
    assert token_request.path == f"{TOKEN_PATH}&audience=pypi"
    assert token_request.headers["authorization"] == f"bearer {REQUEST_TOKEN}"
    # The mint POST carries the ID token as JSON.
    assert json.loads(mint.body) == {"token": ID_TOKEN}
    assert mint.headers["content-type"].startswith("application/json")
    # The upload is Basic __token__:<minted token>.
    assert upload_request.authorization == f"__token__:{MINTED}"
    assert posted(index, UPLOAD_PATH) == [wheel.name]
    # No credential crossed realms: nothing from the Actions realm at the index, nothing of the index's there.
    assert "authorization" not in audience.headers
    assert "authorization" not in mint.headers
    for request in index.requests:
        assert REQUEST_TOKEN not in request.headers.get("authorization", "")
        assert not request.headers.get("authorization", "").lower().startswith("bearer")
    assert not token_request.headers["authorization"].lower().startswith("basic")
    assert MINTED not in json.dumps(token_request.headers)


def test_no_secret_of_the_exchange_is_printed_with_verbose_and_json(cli, index, actions, wheel):
    outcome = upload(cli, index, wheel, extra=("--verbose",))  # run() asserts SECRETS appear nowhere

    assert outcome.exit_code == 0, outcome.stderr
    logged = [line for line in outcome.stderr.splitlines() if " -> " in line]
    assert any(AUDIENCE_PATH in line for line in logged), outcome.stderr
    assert any(MINT_PATH in line for line in logged), outcome.stderr
    assert any("audience=pypi" in line for line in logged), outcome.stderr
    combined = outcome.stdout + outcome.stderr
    for secret in SECRETS:
        assert secret not in combined
        assert base64.b64encode(f"__token__:{secret}".encode()).decode() not in combined


def test_the_mode_can_come_from_its_env_var(cli, index, actions, wheel, monkeypatch):
    monkeypatch.setenv("PUBTOOL_TRUSTED_PUBLISHING", "always")

    outcome = upload(cli, index, wheel, mode=None)

    assert outcome.exit_code == 0, outcome.stderr
    assert index.matching("POST", UPLOAD_PATH)[0].authorization == f"__token__:{MINTED}"


# ---------------------------------------------------------------- failures: each names its step and the answer


def assert_nothing_uploaded(outcome: Outcome, index: ScriptedServer, wheel: Path) -> None:
    assert outcome.exit_code == 1, outcome.stderr
    assert index.count("POST", UPLOAD_PATH) == 0
    assert outcome.report["exit_code"] == 1
    assert outcome.actions[wheel.name] != "uploaded"
    assert outcome.report["error"]["message"] == outcome.message


def test_audience_404_names_the_step_and_the_answer(cli, index, actions, wheel):
    index.on("GET", AUDIENCE_PATH, Reply(404, "no such page"))

    outcome = upload(cli, index, wheel)

    assert_nothing_uploaded(outcome, index, wheel)
    assert "trusted publishing failed" in outcome.message
    assert "audience" in outcome.message
    assert f"{index.url}{AUDIENCE_PATH}" in outcome.message
    assert "HTTP 404" in outcome.message
    assert "no such page" in outcome.message
    assert "trusted publishing" in outcome.hint
    assert actions.count() == 0
    assert index.count("POST", MINT_PATH) == 0


def test_actions_endpoint_403_hints_at_id_token_write(cli, index, actions, wheel):
    actions.on("GET", "/token*", json_reply({"message": "Resource not accessible by integration"}, 403))

    outcome = upload(cli, index, wheel)

    assert_nothing_uploaded(outcome, index, wheel)
    assert "ID token" in outcome.message
    assert "GitHub Actions" in outcome.message
    assert "HTTP 403" in outcome.message
    assert "Resource not accessible by integration" in outcome.message
    assert "id-token: write" in outcome.hint
    assert actions.count() == 1
    assert index.count("POST", MINT_PATH) == 0


def test_mint_token_422_shows_the_index_reasons_and_hints_at_a_trusted_publisher(cli, index, actions, wheel):
    index.on("POST", MINT_PATH, json_reply(PYPI_REFUSAL, 422))

    outcome = upload(cli, index, wheel)

    assert_nothing_uploaded(outcome, index, wheel)
    assert "exchanging the ID token" in outcome.message
    assert f"{index.url}{MINT_PATH}" in outcome.message
    assert "HTTP 422" in outcome.message
    assert "Token request failed" in outcome.message
    assert "valid token, but no corresponding publisher" in outcome.message
    assert "trusted publisher" in outcome.hint
    assert index.count("POST", MINT_PATH) == 1


def test_mint_token_answer_without_success_is_a_failure(cli, index, actions, wheel):
    index.on("POST", MINT_PATH, json_reply({"success": False, "message": "Token request failed"}))

    outcome = upload(cli, index, wheel)

    assert_nothing_uploaded(outcome, index, wheel)
    assert "Token request failed" in outcome.message
    assert "trusted publisher" in outcome.hint


@pytest.mark.parametrize("missing", ["ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN", "both"])
def test_always_without_the_actions_env_vars_hints_at_id_token_write(cli, index, actions, wheel, monkeypatch, missing):
    for name in ("ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"):
        if missing in (name, "both"):
            monkeypatch.delenv(name)

    outcome = upload(cli, index, wheel)

    assert_nothing_uploaded(outcome, index, wheel)
    assert "ACTIONS_ID_TOKEN_REQUEST" in outcome.message
    assert "id-token: write" in outcome.hint
    assert actions.count() == 0
    assert index.count("POST", MINT_PATH) == 0


# ---------------------------------------------------------------- auto and never


def test_auto_with_credentials_asks_for_no_token(cli, index, actions, wheel):
    outcome = upload(cli, index, wheel, mode="auto", extra=("-u", UPLOADER, "-p", CANARY))

    assert outcome.exit_code == 0, outcome.stderr
    assert oidc_requests(index) == []
    assert actions.count() == 0
    (request,) = index.matching("POST", UPLOAD_PATH)
    assert request.authorization == UPLOAD_AUTH


def test_auto_without_credentials_on_another_index_uploads_without_auth(cli, index, actions, wheel):
    outcome = upload(cli, index, wheel, mode="auto")

    assert outcome.exit_code == 0, outcome.stderr
    assert oidc_requests(index) == []
    assert actions.count() == 0
    (request,) = index.matching("POST", UPLOAD_PATH)
    assert "authorization" not in request.headers


def test_never_asks_for_no_token(cli, index, actions, wheel):
    outcome = upload(cli, index, wheel, mode="never")

    assert outcome.exit_code == 0, outcome.stderr
    assert oidc_requests(index) == []
    assert actions.count() == 0


def test_dry_run_mints_nothing(cli, index, actions, wheel):
    outcome = upload(cli, index, wheel, extra=("--dry-run",))

    assert outcome.exit_code == 0, outcome.stderr
    assert outcome.actions == {wheel.name: "would-upload"}
    assert index.requests == []
    assert actions.requests == []


def test_an_unknown_mode_is_bad_usage(cli, index, actions, wheel):
    outcome = upload(cli, index, wheel, mode="sometimes")

    assert outcome.exit_code == 2
    assert "sometimes" in outcome.message
    assert index.requests == [] and actions.requests == []


# ---------------------------------------------------------------- GitLab CI


def test_gitlab_id_token_is_exchanged_directly(cli, index, wheel, monkeypatch):
    monkeypatch.setenv("PYPI_ID_TOKEN", GITLAB_ID_TOKEN)

    outcome = upload(cli, index, wheel)

    assert outcome.exit_code == 0, outcome.stderr
    assert [(r.method, r.path) for r in index.requests] == [("POST", MINT_PATH), ("POST", UPLOAD_PATH)]
    mint, upload_request = index.requests
    assert json.loads(mint.body) == {"token": GITLAB_ID_TOKEN}
    assert upload_request.authorization == f"__token__:{MINTED}"


# ---------------------------------------------------------------- a token that runs out is minted again


def test_a_token_about_to_expire_is_minted_again_before_each_upload(cli, index, actions, dist_dir):
    files = [make_wheel(dist_dir), make_sdist(dist_dir), make_wheel(dist_dir, name="other-pkg")]
    id_tokens = [f"eyJ-id-{n}-{uuid.uuid4().hex}" for n in range(3)]
    minted = [f"pypi-minted-{n}-{uuid.uuid4().hex}" for n in range(3)]
    assert 60 < REFRESH_MARGIN  # each token has less left than the margin: every upload needs a new one

    id_iter, mint_iter = iter(id_tokens), iter(minted)
    actions.on("GET", "/token*", lambda request: json_reply({"value": next(id_iter)}))
    index.on("POST", MINT_PATH, lambda request: minted_reply(next(mint_iter), lifetime=60))

    outcome = run(
        cli,
        "upload", "--publish-url", f"{index.url}{UPLOAD_PATH}", "--trusted-publishing", "always",
        "--retries", "0", "--timeout", "5", "--json", "--verbose", *files,
        secrets=(*SECRETS, *id_tokens, *minted),
    )

    assert outcome.exit_code == 0, outcome.stderr
    assert index.count("POST", MINT_PATH) == 3
    assert actions.count("GET") == 3
    assert sorted(posted(index, UPLOAD_PATH)) == sorted(f.name for f in files)
    # Walk the index's requests in order: each upload used the token minted just before it,
    # and each mint carried the ID token fetched just before it.
    mints_seen = 0
    uploads = 0
    for request in index.requests:
        if request.path == MINT_PATH:
            assert json.loads(request.body) == {"token": id_tokens[mints_seen]}
            mints_seen += 1
        elif request.path == UPLOAD_PATH:
            assert request.authorization == f"__token__:{minted[mints_seen - 1]}"
            uploads += 1
            assert uploads == mints_seen
    assert uploads == 3
    # Later ID token requests happen while the index realm holds a minted token: it must not travel there.
    for request in actions.requests:
        assert request.headers["authorization"] == f"bearer {REQUEST_TOKEN}"
    for request in index.requests:
        assert REQUEST_TOKEN not in request.headers.get("authorization", "")


def test_a_token_with_time_left_serves_every_upload(cli, index, actions, dist_dir):
    files = [make_wheel(dist_dir), make_sdist(dist_dir), make_wheel(dist_dir, name="other-pkg")]

    outcome = upload(cli, index, *files)

    assert outcome.exit_code == 0, outcome.stderr
    assert index.count("POST", MINT_PATH) == 1
    assert actions.count() == 1
    assert [r.authorization for r in index.matching("POST", UPLOAD_PATH)] == [f"__token__:{MINTED}"] * 3


# ---------------------------------------------------------------- the pure decisions


PYPI_UPLOAD = KNOWN_INDEXES["pypi"][0]
TESTPYPI_UPLOAD = KNOWN_INDEXES["testpypi"][0]
OTHER = "https://pkgs.example.com/legacy/"
ACTIONS_ID = CiIdentity(actions_request_url="https://token.example.com/t?x=1", actions_request_token="t")
GITLAB_ID = CiIdentity(gitlab_id_token="g")
NO_ID = CiIdentity()


@pytest.mark.parametrize(
    "mode, have_credentials, identity, publish_url, expected",
    [
        pytest.param(Mode.AUTO, False, ACTIONS_ID, PYPI_UPLOAD, True, id="auto-pypi-actions"),
        pytest.param(Mode.AUTO, False, ACTIONS_ID, TESTPYPI_UPLOAD, True, id="auto-testpypi-actions"),
        pytest.param(Mode.AUTO, False, GITLAB_ID, PYPI_UPLOAD, True, id="auto-pypi-gitlab"),
        pytest.param(Mode.AUTO, True, ACTIONS_ID, PYPI_UPLOAD, False, id="auto-credentials-win"),
        pytest.param(Mode.AUTO, False, NO_ID, PYPI_UPLOAD, False, id="auto-not-in-ci"),
        pytest.param(Mode.AUTO, False, ACTIONS_ID, OTHER, False, id="auto-other-index"),
        pytest.param(Mode.AUTO, False, CiIdentity(actions_request_url="https://x.example.com/"), PYPI_UPLOAD, False,
                     id="auto-url-without-token"),
        pytest.param(Mode.ALWAYS, False, NO_ID, OTHER, True, id="always"),
        pytest.param(Mode.NEVER, False, ACTIONS_ID, PYPI_UPLOAD, False, id="never"),
    ],
)
def test_should_use(mode, have_credentials, identity, publish_url, expected):
    assert should_use(mode, have_credentials=have_credentials, identity=identity, publish_url=publish_url) is expected


@pytest.mark.parametrize(
    "request_url, audience, expected",
    [
        ("https://t.example.com/token?api-version=2.0", "pypi", "https://t.example.com/token?api-version=2.0&audience=pypi"),
        ("https://t.example.com/token", "pypi", "https://t.example.com/token?audience=pypi"),
        ("https://t.example.com/token?a=1&b=2", "test pypi/x", "https://t.example.com/token?a=1&b=2&audience=test%20pypi%2Fx"),
    ],
)
def test_with_audience_keeps_the_query(request_url, audience, expected):
    assert with_audience(request_url, audience) == expected


@pytest.mark.parametrize(
    "publish_url, expected",
    [
        ("https://pkgs.example.com/legacy/", "https://pkgs.example.com"),
        ("http://127.0.0.1:8080/a/b/legacy/", "http://127.0.0.1:8080"),
        ("https://user:pw@pkgs.example.com:8443/legacy/", "https://pkgs.example.com:8443"),
    ],
)
def test_index_root_is_scheme_host_and_port(publish_url, expected):
    assert index_root(publish_url) == expected


@pytest.mark.parametrize(
    "environ, publish_url, expected_gitlab",
    [
        ({"PYPI_ID_TOKEN": "gl-p", "TESTPYPI_ID_TOKEN": "gl-t"}, PYPI_UPLOAD, "gl-p"),
        ({"PYPI_ID_TOKEN": "gl-p", "TESTPYPI_ID_TOKEN": "gl-t"}, TESTPYPI_UPLOAD, "gl-t"),
        ({"PYPI_ID_TOKEN": "gl-p"}, TESTPYPI_UPLOAD, None),
        ({"PYPI_ID_TOKEN": ""}, PYPI_UPLOAD, None),
        ({"PYPI_ID_TOKEN": "gl-p"}, OTHER, "gl-p"),
    ],
)
def test_gitlab_token_is_read_for_the_index(environ, publish_url, expected_gitlab):
    identity = CiIdentity.from_environment(environ, publish_url)
    assert identity.gitlab_id_token == expected_gitlab
    assert identity.available is (expected_gitlab is not None)
    assert "gl-" not in repr(identity)  # tokens are not in the repr


def test_in_github_actions_a_failed_exchange_is_an_error_annotation_without_secrets(
    cli, index, actions, wheel, monkeypatch
):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    index.on("POST", MINT_PATH, json_reply(PYPI_REFUSAL, 422))

    outcome = run(
        cli, "upload", "--publish-url", f"{index.url}{UPLOAD_PATH}", "--trusted-publishing", "always",
        "--retries", "0", "--timeout", "5", wheel, secrets=SECRETS,
    )

    assert outcome.exit_code == 1
    errors = [line for line in outcome.stdout.splitlines() if line.startswith("::error")]
    assert errors, outcome.stdout
    assert errors[-1].startswith("::error title=pubtool::trusted publishing failed while exchanging the ID token")
    assert "no corresponding publisher" in errors[-1]
    assert "%0Ahint: " in errors[-1] and "trusted publisher" in errors[-1]
    assert index.count("POST", UPLOAD_PATH) == 0
