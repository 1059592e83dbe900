"""No secret in any output, on any path (SPEC section 4; issue 4 item 3).

One table: every way of giving a password (flags, env vars, twine's env vars,
credentials in the URLs, a token, a named index) crossed with every way a run
ends (success, 401/403/500 on upload, connection refused, a redirect, check URL
401/5xx/login redirect, config error, bad input), each run with ``--verbose
--json``. The secret is CANARY with characters that URL encoding changes, so
its percent-encoded forms are distinct strings; the Basic header values the
servers actually received are checked too. ``helpers.run`` adds its own checks
(CANARY, tracebacks, warnings, the JSON report's exit code).
"""

from __future__ import annotations

import base64
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional
from urllib.parse import quote, quote_plus

import pytest

from tests.conftest import CANARY
from tests.distfactory import make_wheel
from tests.integration.helpers import UPLOADER, run
from tests.servers.scripted import Reply, ScriptedServer

SECRET = f"{CANARY}/p@ss:w%rd+&="
READER = "reader"
UPLOAD_PATH = "/legacy/"
CHECK_PATH = "/simple/"


def secret_forms(*users: str) -> tuple[str, ...]:
    """The secret as text, percent-encoded (three ways) and inside Basic header values."""
    forms = [SECRET, quote(SECRET, safe=""), quote(SECRET), quote_plus(SECRET)]
    for user in users:
        forms.append(base64.b64encode(f"{user}:{SECRET}".encode()).decode())
    return tuple(forms)


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- how the run ends ---------------------------------------------------------------------


@dataclass(frozen=True)
class Ending:
    exit_code: int
    post: Reply = field(default_factory=lambda: Reply(200, "OK"))
    get: Reply = field(default_factory=lambda: Reply(404, "not found"))
    refused: bool = False  # the publish URL is a closed port
    config_error: bool = False  # pubtool.toml has an unknown key next to the valid index
    missing_file: bool = False
    requests: bool = True  # the server sees requests at all


ENDINGS = {
    "success": Ending(0),
    "upload-401": Ending(1, post=Reply(401, "Unauthorized")),
    "upload-403": Ending(1, post=Reply(403, "Invalid or non-existent authentication information.")),
    "upload-500-after-retries": Ending(1, post=Reply(500, "Internal Server Error")),
    "upload-connection-refused": Ending(1, refused=True),
    "upload-redirected-elsewhere": Ending(1, post=Reply(302, headers={"Location": "{elsewhere}"})),
    "check-401": Ending(3, get=Reply(401, "Unauthorized")),
    "check-403": Ending(3, get=Reply(403, "Forbidden")),
    "check-login-redirect": Ending(3, get=Reply(302, headers={"Location": "/login?next=/simple/demo-pkg/"})),
    "check-503": Ending(1, get=Reply(503, "Service Unavailable")),
    "config-error": Ending(2, config_error=True, requests=False),
    "bad-input": Ending(2, missing_file=True, requests=False),
}


# -- how the secret is given --------------------------------------------------------------


@dataclass
class Given:
    args: list[str]
    env: dict[str, str]
    pubtool_toml: Optional[str] = None


def with_userinfo(url: str, user: str) -> str:
    return url.replace("http://", f"http://{user}:{quote(SECRET, safe='')}@", 1)


def index_toml(publish_url: str, check_url: str, extra: str = "") -> str:
    return (
        f'[[index]]\nname = "internal"\nurl = "{check_url}"\npublish-url = "{publish_url}"\n'
        f'username = "{UPLOADER}"\n{extra}'
    )


WAYS: dict[str, Callable[[str, str], Given]] = {
    "flags": lambda publish, check: Given(
        ["--publish-url", publish, "--check-url", check, "-u", UPLOADER, "-p", SECRET,
         "--check-username", READER, "--check-password", SECRET], {}
    ),
    "env": lambda publish, check: Given(
        [], {"PUBTOOL_PUBLISH_URL": publish, "PUBTOOL_CHECK_URL": check, "PUBTOOL_USERNAME": UPLOADER,
             "PUBTOOL_PASSWORD": SECRET, "PUBTOOL_CHECK_USERNAME": READER, "PUBTOOL_CHECK_PASSWORD": SECRET}
    ),
    "twine-env": lambda publish, check: Given(
        ["--repository-url", publish, "--check-url", check], {"TWINE_USERNAME": UPLOADER, "TWINE_PASSWORD": SECRET}
    ),
    "url": lambda publish, check: Given(
        ["--publish-url", with_userinfo(publish, UPLOADER), "--check-url", with_userinfo(check, READER)], {}
    ),
    "token": lambda publish, check: Given(["--publish-url", publish, "--check-url", check, "-t", SECRET], {}),
    "index": lambda publish, check: Given(
        ["--index", "internal"], {"PUBTOOL_PASSWORD": SECRET}, pubtool_toml=index_toml(publish, check)
    ),
}


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("ending", ENDINGS)
def test_no_secret_in_any_output(cli, scripted: ScriptedServer, dist_dir: Path, way: str, ending: str):
    end = ENDINGS[ending]
    publish_url = f"http://127.0.0.1:{closed_port()}{UPLOAD_PATH}" if end.refused else f"{scripted.url}{UPLOAD_PATH}"
    check_url = f"{scripted.url}{CHECK_PATH}"
    elsewhere = with_userinfo("http://127.0.0.1:9/elsewhere/", UPLOADER)  # a Location that echoes credentials
    post = Reply(end.post.status, end.post.body, {k: v.format(elsewhere=elsewhere) for k, v in end.post.headers.items()})
    scripted.on("POST", UPLOAD_PATH, post)
    scripted.on("GET", CHECK_PATH + "*", end.get)
    scripted.on("GET", "/login*", Reply(200, "<form><input type='password'></form>"))

    given = WAYS[way](publish_url, check_url)
    if end.config_error:  # a valid index "internal" next to one with an unknown key: the file is rejected
        broken = index_toml(publish_url, check_url) + f'\n[[index]]\nname = "other"\nurl = "{check_url}"\npasword = "x"\n'
        Path("pubtool.toml").write_text(broken)
        if "--index" not in given.args:
            given.args += ["--index", "internal"]
    elif given.pubtool_toml:
        Path("pubtool.toml").write_text(given.pubtool_toml)
    wheel = dist_dir / "demo_pkg-1.0-py3-none-any.whl" if end.missing_file else make_wheel(dist_dir)

    forms = secret_forms(UPLOADER, READER, "__token__")
    outcome = run(
        cli, "upload", "--verbose", "--json", "--retries", "0", "--timeout", "5", *given.args, wheel,
        env=given.env, secrets=forms,
    )
    assert outcome.exit_code == end.exit_code, outcome.stderr
    assert outcome.report["exit_code"] == end.exit_code

    received = [request.headers.get("authorization") for request in scripted.requests]
    if end.requests:
        # The secret was really in play: a request carried it. Not when the publish URL is the
        # closed port and only upload credentials were given: they never go to the check URL's realm.
        upload_credentials_only = way in ("twine-env", "token")
        if not (end.refused and upload_credentials_only):
            assert any(SECRET in (request.authorization or "") for request in scripted.requests)
        assert "->" in outcome.stderr  # --verbose logged the requests
    else:
        assert scripted.requests == []
    for value in filter(None, received):  # exactly what went over the wire is printed nowhere
        assert value not in outcome.stdout + outcome.stderr
        assert value.split(" ", 1)[-1] not in outcome.stdout + outcome.stderr
