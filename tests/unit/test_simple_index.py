"""publisher.simple_index: parsing PEP 691 JSON and PEP 503 HTML project pages (pure)."""

from __future__ import annotations

import json

import pytest
from packaging.utils import canonicalize_name

from publisher.simple_index import (
    LoginPage,
    NotASimplePage,
    RemoteFile,
    check_root_for,
    is_under,
    parse_project_page,
    project_page_url,
)

PAGE = "https://pkgs.example.com/simple/demo-pkg/"
JSON = "application/vnd.pypi.simple.v1+json"
HTML = "text/html"
SHA = "a" * 64
SHA2 = "b" * 64
MD5 = "c" * 32


def json_page(*files: dict) -> str:
    return json.dumps({"meta": {"api-version": "1.1"}, "name": "demo-pkg", "versions": ["1.0"], "files": list(files)})


def html_page(*anchors: str) -> str:
    links = "\n".join(anchors)
    return (
        "<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"1.1\">\n"
        f"    <title>Links for demo-pkg</title>\n  </head>\n  <body>\n    <h1>Links for demo-pkg</h1>\n{links}\n"
        "  </body>\n</html>\n"
    )


DEVPI_PAGE = "https://devpi.example.com/root/dev/+simple/demo-pkg/"
DEVPI_HTML = f"""<!DOCTYPE html>
<html><head><title>root/dev: links for demo-pkg</title></head>
<body><h1>root/dev: links for demo-pkg</h1>
root/dev <a href="../../+f/abc/def0123456789/demo_pkg-1.0-py3-none-any.whl#sha256={SHA}">demo_pkg-1.0-py3-none-any.whl</a><br/>
root/pypi <a href="../../../pypi/+f/123/456/demo_pkg-0.9.tar.gz#sha256={SHA2}">demo_pkg-0.9.tar.gz</a><br/>
</body></html>
"""

LOGIN_HTML = """<!DOCTYPE html>
<html><head><title>Sign in</title></head><body>
<form method="post" action="/login"><input type="text" name="username">
<input type="PASSWORD" name="password"><button>Sign in</button>
<a href="/forgot">Forgot password?</a></form></body></html>
"""

WHL = "demo_pkg-1.0-py3-none-any.whl"
SDIST = "demo_pkg-1.0.tar.gz"
FILES = "https://files.example.com/packages/ab/cd/"


@pytest.mark.parametrize(
    ("body", "content_type", "page_url", "expected"),
    [
        pytest.param(
            json_page({"filename": WHL, "url": FILES + WHL, "hashes": {"sha256": SHA}}),
            JSON,
            PAGE,
            {WHL: RemoteFile(WHL, FILES + WHL, {"sha256": SHA})},
            id="json-sha256",
        ),
        pytest.param(
            json_page(
                {"filename": WHL, "url": FILES + WHL, "hashes": {"sha256": SHA, "md5": MD5}, "yanked": False},
                {"filename": SDIST, "url": FILES + SDIST, "hashes": {"SHA256": SHA2.upper()}, "requires-python": ">=3.9"},
            ),
            JSON + "; charset=utf-8",
            PAGE,
            {
                WHL: RemoteFile(WHL, FILES + WHL, {"sha256": SHA, "md5": MD5}),
                SDIST: RemoteFile(SDIST, FILES + SDIST, {"sha256": SHA2}),
            },
            id="json-two-files-case-folded",
        ),
        pytest.param(
            json_page({"filename": WHL, "url": FILES + WHL, "hashes": {}}),
            JSON,
            PAGE,
            {WHL: RemoteFile(WHL, FILES + WHL, {})},
            id="json-empty-hashes",
        ),
        pytest.param(
            json_page({"filename": WHL, "url": FILES + WHL}),
            "application/json",
            PAGE,
            {WHL: RemoteFile(WHL, FILES + WHL, {})},
            id="json-no-hashes-key",
        ),
        pytest.param(
            json_page({"filename": WHL, "url": f"../../packages/{WHL}", "hashes": {"sha256": SHA}}),
            JSON,
            PAGE,
            {WHL: RemoteFile(WHL, f"https://pkgs.example.com/packages/{WHL}", {"sha256": SHA})},
            id="json-url-relative-to-page",
        ),
        pytest.param(
            json_page({"filename": WHL, "url": f"/files/{WHL}#sha256={SHA}", "hashes": {}}),
            JSON,
            PAGE,
            {WHL: RemoteFile(WHL, f"https://pkgs.example.com/files/{WHL}", {"sha256": SHA})},
            id="json-hash-in-url-fragment",
        ),
        pytest.param(json_page(), JSON, PAGE, {}, id="json-no-files"),
        pytest.param(
            html_page(f'<a href="{FILES}{WHL}#sha256={SHA}">{WHL}</a><br/>'),
            HTML,
            PAGE,
            {WHL: RemoteFile(WHL, FILES + WHL, {"sha256": SHA})},
            id="html-sha256-fragment",
        ),
        pytest.param(
            html_page(f'<a href="{FILES}{SDIST}#md5={MD5}">{SDIST}</a>'),
            "text/html; charset=utf-8",
            PAGE,
            {SDIST: RemoteFile(SDIST, FILES + SDIST, {"md5": MD5})},
            id="html-md5-fragment",
        ),
        pytest.param(
            html_page(f'<a href="{FILES}{SDIST}">{SDIST}</a>'),
            HTML,
            PAGE,
            {SDIST: RemoteFile(SDIST, FILES + SDIST, {})},
            id="html-no-fragment",
        ),
        pytest.param(
            html_page(f'<a href="{FILES}{SDIST}#SHA256={SHA.upper()}">{SDIST}</a>'),
            HTML,
            PAGE,
            {SDIST: RemoteFile(SDIST, FILES + SDIST, {"sha256": SHA})},
            id="html-upper-case-fragment",
        ),
        pytest.param(
            html_page(
                f'<a href="{FILES}{WHL}#sha256={SHA}" data-requires-python="&gt;=3.9" '
                f'data-dist-info-metadata="sha256={SHA2}" data-core-metadata="sha256={SHA2}">{WHL}</a><br/>',
                f'<a href="{FILES}{SDIST}#sha256={SHA2}" data-yanked="broken &lt;build&gt;" '
                f'data-requires-python="&lt;4,&gt;=3.9">{SDIST}</a><br/>',
            ),
            "application/vnd.pypi.simple.v1+html",
            PAGE,
            {
                WHL: RemoteFile(WHL, FILES + WHL, {"sha256": SHA}),
                SDIST: RemoteFile(SDIST, FILES + SDIST, {"sha256": SHA2}),
            },
            id="html-data-attributes",
        ),
        pytest.param(
            html_page(f'<a href="../../packages/{SDIST}#sha256={SHA}">{SDIST}</a>'),
            HTML,
            PAGE,
            {SDIST: RemoteFile(SDIST, f"https://pkgs.example.com/packages/{SDIST}", {"sha256": SHA})},
            id="html-relative-href",
        ),
        pytest.param(
            html_page(f'<a href="/packages/{SDIST}#sha256={SHA}"></a>'),
            HTML,
            PAGE,
            {SDIST: RemoteFile(SDIST, f"https://pkgs.example.com/packages/{SDIST}", {"sha256": SHA})},
            id="html-empty-anchor-text-uses-url",
        ),
        pytest.param(
            html_page(f'<A HREF="/p/demo_pkg-1.0%2Bcpu.tar.gz#sha256={SHA}">demo_pkg-1.0+cpu.tar.gz</A>'),
            HTML,
            PAGE,
            {
                "demo_pkg-1.0+cpu.tar.gz": RemoteFile(
                    "demo_pkg-1.0+cpu.tar.gz", "https://pkgs.example.com/p/demo_pkg-1.0%2Bcpu.tar.gz", {"sha256": SHA}
                )
            },
            id="html-upper-case-tags-quoted-url",
        ),
        pytest.param(
            html_page(f'<a href="{FILES}{SDIST}?token=x&amp;v=1#sha256={SHA}">{SDIST}</a>'),
            HTML,
            PAGE,
            {SDIST: RemoteFile(SDIST, FILES + SDIST + "?token=x&v=1", {"sha256": SHA})},
            id="html-entity-in-href",
        ),
        pytest.param(
            DEVPI_HTML,
            HTML,
            DEVPI_PAGE,
            {
                WHL: RemoteFile(
                    WHL, f"https://devpi.example.com/root/dev/+f/abc/def0123456789/{WHL}", {"sha256": SHA}
                ),
                "demo_pkg-0.9.tar.gz": RemoteFile(
                    "demo_pkg-0.9.tar.gz",
                    "https://devpi.example.com/root/pypi/+f/123/456/demo_pkg-0.9.tar.gz",
                    {"sha256": SHA2},
                ),
            },
            id="devpi-html",
        ),
        pytest.param(html_page(), HTML, PAGE, {}, id="html-no-files"),
        pytest.param(
            html_page(f'<a href="{FILES}{SDIST}#sha256={SHA}">{SDIST}</a>'),
            "",
            PAGE,
            {SDIST: RemoteFile(SDIST, FILES + SDIST, {"sha256": SHA})},
            id="html-without-content-type",
        ),
    ],
)
def test_parse_project_page(body, content_type, page_url, expected):
    assert parse_project_page(body, content_type, page_url) == expected


@pytest.mark.parametrize(
    ("body", "content_type", "error"),
    [
        pytest.param(LOGIN_HTML, HTML, LoginPage, id="login-form"),
        pytest.param(LOGIN_HTML, "", LoginPage, id="login-form-no-content-type"),
        pytest.param("<html><body>hi</body></html>", "text/plain", NotASimplePage, id="text-plain"),
        pytest.param("\x89PNG...", "image/png", NotASimplePage, id="image"),
        pytest.param("PK\x03\x04", "application/octet-stream", NotASimplePage, id="octet-stream"),
        pytest.param("{not json", JSON, NotASimplePage, id="invalid-json"),
        pytest.param("[]", JSON, NotASimplePage, id="json-list"),
        pytest.param('{"meta": {}}', JSON, NotASimplePage, id="json-without-files"),
        pytest.param('{"files": [{"url": "x"}]}', JSON, NotASimplePage, id="json-entry-without-filename"),
        pytest.param('{"files": "x"}', "application/json", NotASimplePage, id="json-files-not-a-list"),
        pytest.param("just some text, no markup", HTML, NotASimplePage, id="html-type-but-plain-text"),
        pytest.param("just some text, no markup", "", NotASimplePage, id="no-type-plain-text"),
    ],
)
def test_parse_project_page_rejects(body, content_type, error):
    with pytest.raises(error):
        parse_project_page(body, content_type, PAGE)


def test_not_a_simple_page_names_the_content_type():
    with pytest.raises(NotASimplePage, match="text/plain"):
        parse_project_page("x", "text/plain; charset=utf-8", PAGE)


@pytest.mark.parametrize(
    ("root", "project", "expected"),
    [
        ("https://index.example.org/simple/", "demo-pkg", "https://index.example.org/simple/demo-pkg/"),
        ("https://index.example.org/simple", "demo-pkg", "https://index.example.org/simple/demo-pkg/"),
        ("https://devpi.example.com/root/dev/+simple/", "demo-pkg", "https://devpi.example.com/root/dev/+simple/demo-pkg/"),
        ("http://127.0.0.1:8080/", "demo-pkg", "http://127.0.0.1:8080/demo-pkg/"),
        ("http://127.0.0.1:8080", "demo-pkg", "http://127.0.0.1:8080/demo-pkg/"),
        ("https://gitlab.example.com/api/v4/projects/42/packages/pypi/simple", "x", "https://gitlab.example.com/api/v4/projects/42/packages/pypi/simple/x/"),
    ],
)
def test_project_page_url(root, project, expected):
    assert project_page_url(root, canonicalize_name(project)) == expected


@pytest.mark.parametrize(
    ("check_url", "projects", "expected"),
    [
        pytest.param("https://index.example.org/simple/", {"demo-pkg"}, "https://index.example.org/simple/", id="root"),
        pytest.param("https://index.example.org/simple", {"demo-pkg"}, "https://index.example.org/simple/", id="root-no-slash"),
        pytest.param("https://index.example.org/simple/demo-pkg/", {"demo-pkg"}, "https://index.example.org/simple/", id="project"),
        pytest.param("https://index.example.org/simple/demo-pkg", {"demo-pkg"}, "https://index.example.org/simple/", id="project-no-slash"),
        pytest.param("https://index.example.org/simple/Demo_Pkg", {"demo-pkg"}, "https://index.example.org/simple/", id="project-unnormalised"),
        pytest.param("https://index.example.org/simple/demo.pkg/", {"demo-pkg", "other"}, "https://index.example.org/simple/", id="one-of-several"),
        pytest.param("https://index.example.org/simple/other/", {"demo-pkg"}, "https://index.example.org/simple/other/", id="other-name-kept"),
        pytest.param(
            "https://devpi.example.com/root/dev/+simple/",
            {"demo-pkg"},
            "https://devpi.example.com/root/dev/+simple/",
            id="devpi-root",
        ),
        pytest.param(
            "https://devpi.example.com/root/dev/+simple/demo-pkg/",
            {"demo-pkg"},
            "https://devpi.example.com/root/dev/+simple/",
            id="devpi-project",
        ),
        pytest.param(
            "https://devpi.example.com/root/dev/+simple/", {"dev", "root"}, "https://devpi.example.com/root/dev/+simple/",
            id="devpi-project-named-like-the-index",
        ),
        pytest.param("https://index.example.org/simple/", {"simple"}, "https://index.example.org/simple/", id="project-named-simple"),
        pytest.param("http://127.0.0.1:8080/", {"demo-pkg"}, "http://127.0.0.1:8080/", id="server-root"),
        pytest.param(
            "http://127.0.0.1:8080/simple/demo-pkg/?x=1", {"demo-pkg"}, "http://127.0.0.1:8080/simple/?x=1", id="query-kept"
        ),
    ],
)
def test_check_root_for(check_url, projects, expected):
    assert check_root_for(check_url, {canonicalize_name(p) for p in projects}) == expected


@pytest.mark.parametrize(
    ("url", "root", "expected"),
    [
        ("https://pkgs.example.com/simple/demo-pkg/", "https://pkgs.example.com/simple/", True),
        ("https://pkgs.example.com/simple/demo-pkg", "https://pkgs.example.com/simple/", True),
        ("https://pkgs.example.com/simple/", "https://pkgs.example.com/simple/", True),
        ("https://pkgs.example.com/simple", "https://pkgs.example.com/simple/", True),
        ("https://pkgs.example.com/simple/demo-pkg/", "https://pkgs.example.com/simple", True),
        ("https://pkgs.example.com:443/simple/demo-pkg/", "https://pkgs.example.com/simple/", True),
        ("https://PKGS.example.com/simple/demo-pkg/", "https://pkgs.example.com/simple/", True),
        ("https://pkgs.example.com/login?next=/simple/demo-pkg/", "https://pkgs.example.com/simple/", False),
        ("https://pkgs.example.com/", "https://pkgs.example.com/simple/", False),
        ("https://pkgs.example.com/simple-other/demo-pkg/", "https://pkgs.example.com/simple/", False),
        ("https://pkgs.example.com/simplex", "https://pkgs.example.com/simple/", False),
        ("http://pkgs.example.com/simple/demo-pkg/", "https://pkgs.example.com/simple/", False),
        ("https://pkgs.example.com:8443/simple/demo-pkg/", "https://pkgs.example.com/simple/", False),
        ("https://sso.example.com/simple/demo-pkg/", "https://pkgs.example.com/simple/", False),
        ("https://devpi.example.com/root/dev/+f/ab/cd/x.whl", "https://devpi.example.com/root/dev/+simple/", False),
    ],
)
def test_is_under(url, root, expected):
    assert is_under(url, root) is expected
