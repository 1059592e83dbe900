"""publisher.config: named indexes from pubtool.toml, [tool.pubtool] and ~/.pypirc (SPEC section 5, issue 4).

Parsing is pure (text in, IndexConfig out), so most of this module is tables of
(file text, expected indexes) and (file text, words the error must contain).
``find_index`` reads files: its precedence rows write them into the isolated cwd
and HOME that conftest gives every test.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
import pytest

from publisher.config import IndexConfig, find_index, parse_pubtool_toml, parse_pypirc, parse_pyproject
from publisher.errors import ConfigError, ExitCode
from publisher.urls import KNOWN_INDEXES

SOURCE = "/project/pubtool.toml"
PYPROJECT = "/project/pyproject.toml"
PYPIRC = "/home/user/.pypirc"
SECRET = "s3cr3t-%-not-for-output"

PYPI_UPLOAD, PYPI_SIMPLE = KNOWN_INDEXES["pypi"]
TESTPYPI_UPLOAD, TESTPYPI_SIMPLE = KNOWN_INDEXES["testpypi"]


def index(name: str, source: str, check_url=None, publish_url=None, username=None, password=None) -> IndexConfig:
    return IndexConfig(name, source, check_url, publish_url, username, password)


def as_tuples(indexes: dict[str, IndexConfig]) -> dict[str, tuple]:
    """name -> every field, the password included (IndexConfig's repr hides it, == does not)."""
    return {
        name: (item.name, item.source, item.check_url, item.publish_url, item.username, item.password)
        for name, item in indexes.items()
    }


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def expect(*items: IndexConfig) -> dict[str, tuple]:
    return as_tuples({item.name: item for item in items})


# -- pubtool.toml -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", expect(), id="empty-file"),
        pytest.param("index = []\n", expect(), id="empty-array"),
        pytest.param(
            """
            [[index]]
            name = "internal"
            url = "https://pkgs.example.com/root/dev/+simple/"
            publish-url = "https://pkgs.example.com/root/dev/"
            username = "ci-bot"
            """,
            expect(
                index(
                    "internal",
                    SOURCE,
                    check_url="https://pkgs.example.com/root/dev/+simple/",
                    publish_url="https://pkgs.example.com/root/dev/",
                    username="ci-bot",
                )
            ),
            id="spec-example",
        ),
        pytest.param(
            '[[index]]\nname = "check-only"\nurl = "https://pkgs.example.com/simple/"\n',
            expect(index("check-only", SOURCE, check_url="https://pkgs.example.com/simple/")),
            id="url-only",
        ),
        pytest.param(
            '[[index]]\nname = "upload-only"\npublish-url = "https://upload.example.org/legacy/"\n',
            expect(index("upload-only", SOURCE, publish_url="https://upload.example.org/legacy/")),
            id="publish-url-only",
        ),
        pytest.param(
            """
            [[index]]
            name = "a"
            url = "https://a.example.com/simple/"
            [[index]]
            name = "b"
            publish-url = "https://b.example.org/legacy/"
            username = "bob"
            """,
            expect(
                index("a", SOURCE, check_url="https://a.example.com/simple/"),
                index("b", SOURCE, publish_url="https://b.example.org/legacy/", username="bob"),
            ),
            id="two-indexes",
        ),
        pytest.param(
            'index = [{ name = "inline", publish-url = "https://pkgs.example.com/" }]\n',
            expect(index("inline", SOURCE, publish_url="https://pkgs.example.com/")),
            id="inline-tables",
        ),
    ],
)
def test_parse_pubtool_toml(text, expected):
    assert as_tuples(parse_pubtool_toml(dedent(text), SOURCE)) == expected


# -- pyproject.toml -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", expect(), id="empty-file"),
        pytest.param('[project]\nname = "demo"\nversion = "1.0"\n', expect(), id="no-tool-table"),
        pytest.param('[tool.black]\nline-length = 100\n', expect(), id="other-tools-only"),
        pytest.param("[tool.pubtool]\n", expect(), id="empty-pubtool-table"),
        pytest.param(
            """
            [project]
            name = "demo"

            [[tool.pubtool.index]]
            name = "internal"
            url = "https://pkgs.example.com/simple/"
            publish-url = "https://pkgs.example.com/legacy/"
            username = "ci-bot"

            [tool.ruff]
            line-length = 100
            """,
            expect(
                index(
                    "internal",
                    PYPROJECT,
                    check_url="https://pkgs.example.com/simple/",
                    publish_url="https://pkgs.example.com/legacy/",
                    username="ci-bot",
                )
            ),
            id="index-among-other-tables",
        ),
    ],
)
def test_parse_pyproject(text, expected):
    assert as_tuples(parse_pyproject(dedent(text), PYPROJECT)) == expected


# -- .pypirc (twine's format) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", expect(), id="empty-file"),
        pytest.param("[distutils]\nindex-servers =\n    pypi\n", expect(), id="distutils-only"),
        pytest.param(
            "[pypi]\nusername = __token__\npassword = pypi-AgEtoken\n",
            expect(
                index("pypi", PYPIRC, check_url=PYPI_SIMPLE, publish_url=PYPI_UPLOAD, username="__token__", password="pypi-AgEtoken")
            ),
            id="pypi-gets-known-urls",
        ),
        pytest.param(
            "[testpypi]\nusername = __token__\npassword = pypi-test\n",
            expect(
                index("testpypi", PYPIRC, check_url=TESTPYPI_SIMPLE, publish_url=TESTPYPI_UPLOAD, username="__token__", password="pypi-test")
            ),
            id="testpypi-gets-known-urls",
        ),
        pytest.param(
            f"[anything]\nrepository = {PYPI_UPLOAD}\nusername = alice\n",
            expect(index("anything", PYPIRC, check_url=PYPI_SIMPLE, publish_url=PYPI_UPLOAD, username="alice")),
            id="pypi-upload-url-under-another-name",
        ),
        pytest.param(
            "[pypi]\nrepository = https://mirror.example.com/legacy/\nusername = alice\n",
            expect(index("pypi", PYPIRC, publish_url="https://mirror.example.com/legacy/", username="alice")),
            id="pypi-section-with-own-repository-has-no-check-url",
        ),
        pytest.param(
            """
            [distutils]
            index-servers =
                pypi
                internal

            [pypi]
            username = __token__
            password = pypi-tok

            [internal]
            repository = https://pkgs.example.com/root/dev/
            username = ci-bot
            password = p%ss;word#1
            """,
            expect(
                index("pypi", PYPIRC, check_url=PYPI_SIMPLE, publish_url=PYPI_UPLOAD, username="__token__", password="pypi-tok"),
                # RawConfigParser, as twine: "%" is not interpolation, ";" and "#" inside a value stay.
                index("internal", PYPIRC, publish_url="https://pkgs.example.com/root/dev/", username="ci-bot", password="p%ss;word#1"),
            ),
            id="twine-file-with-distutils",
        ),
        pytest.param(
            "[internal]\nrepository = https://pkgs.example.com/legacy/\n",
            expect(index("internal", PYPIRC, publish_url="https://pkgs.example.com/legacy/")),
            id="no-credentials",
        ),
    ],
)
def test_parse_pypirc(text, expected):
    assert as_tuples(parse_pypirc(dedent(text), PYPIRC)) == expected


def test_index_config_repr_hides_the_password():
    (parsed,) = parse_pypirc(f"[internal]\nrepository = https://pkgs.example.com/\npassword = {SECRET}\n", PYPIRC).values()
    assert parsed.password == SECRET
    assert SECRET not in repr(parsed)


# -- errors -------------------------------------------------------------------------------

VALID = '[[index]]\nname = "ok"\nurl = "https://pkgs.example.com/simple/"\n'


@pytest.mark.parametrize(
    ("parse", "source", "text", "words"),
    [
        # unknown keys name the key and the file
        pytest.param(parse_pubtool_toml, SOURCE, VALID + 'password = "x"\n', ["'password'"], id="toml-password-key"),
        pytest.param(
            parse_pubtool_toml, SOURCE, VALID + '[[index]]\nname = "b"\nurl = "https://b.example.com/"\npublish_url = "x"\n',
            ["'publish_url'", "#2"], id="toml-unknown-key-second-table",
        ),
        pytest.param(parse_pubtool_toml, SOURCE, 'indexes = []\n', ["'indexes'"], id="toml-unknown-top-level"),
        pytest.param(
            parse_pyproject, PYPROJECT, '[[tool.pubtool.index]]\nname = "a"\nurl = "https://a.example.com/"\ncheck-url = "x"\n',
            ["'check-url'"], id="pyproject-unknown-index-key",
        ),
        pytest.param(parse_pyproject, PYPROJECT, "[tool.pubtool]\nretries = 3\n", ["'retries'", "[tool.pubtool]"], id="pyproject-unknown-key"),
        # bad TOML names the file and the line
        pytest.param(parse_pubtool_toml, SOURCE, '[[index]]\nname = "a"\nurl = "https://a.example.com/\n', ["line 3"], id="toml-unterminated-string"),
        pytest.param(parse_pubtool_toml, SOURCE, '[[index]\nname = "a"\n', ["line 1"], id="toml-bad-header"),
        pytest.param(parse_pubtool_toml, SOURCE, VALID + 'name = "again"\n', ["line 4"], id="toml-key-twice"),
        pytest.param(parse_pyproject, PYPROJECT, '[project]\nname = demo\n', ["line 2"], id="pyproject-bad-toml"),
        # the shape of the tables
        pytest.param(parse_pubtool_toml, SOURCE, 'index = "internal"\n', ["[[index]]"], id="index-is-a-string"),
        pytest.param(parse_pubtool_toml, SOURCE, '[index]\nname = "a"\n', ["[[index]]"], id="index-is-one-table"),
        pytest.param(parse_pubtool_toml, SOURCE, "index = [1, 2]\n", ["[[index]]"], id="index-array-of-numbers"),
        pytest.param(parse_pyproject, PYPROJECT, '[tool.pubtool]\nindex = "x"\n', ["tool.pubtool.index"], id="pyproject-index-not-tables"),
        # duplicate and missing names
        pytest.param(parse_pubtool_toml, SOURCE, VALID + VALID, ["'ok'", "twice"], id="duplicate-name"),
        pytest.param(
            parse_pyproject, PYPROJECT, VALID.replace("[[index]]", "[[tool.pubtool.index]]") * 2, ["'ok'", "twice"],
            id="pyproject-duplicate-name",
        ),
        pytest.param(parse_pubtool_toml, SOURCE, '[[index]]\nurl = "https://a.example.com/simple/"\n', ["'name'"], id="missing-name"),
        # values must be non-empty strings
        pytest.param(parse_pubtool_toml, SOURCE, '[[index]]\nname = "a"\nurl = "https://a.example.com/"\nusername = 3\n', ["'username'", "string"], id="int-username"),
        pytest.param(parse_pubtool_toml, SOURCE, '[[index]]\nname = "a"\nurl = true\n', ["'url'", "string"], id="bool-url"),
        pytest.param(parse_pubtool_toml, SOURCE, '[[index]]\nname = ["a"]\nurl = "https://a.example.com/"\n', ["'name'", "string"], id="list-name"),
        pytest.param(parse_pubtool_toml, SOURCE, '[[index]]\nname = ""\nurl = "https://a.example.com/"\n', ["'name'", "non-empty"], id="empty-name"),
        pytest.param(parse_pubtool_toml, SOURCE, '[[index]]\nname = "a"\npublish-url = ""\n', ["'publish-url'", "non-empty"], id="empty-publish-url"),
        # neither URL
        pytest.param(parse_pubtool_toml, SOURCE, '[[index]]\nname = "a"\nusername = "bob"\n', ["'a'", "'url'", "'publish-url'"], id="no-url"),
        # .pypirc
        pytest.param(parse_pypirc, PYPIRC, "[internal]\nusername = bob\n", ["[internal]", "'repository'"], id="pypirc-no-repository"),
        pytest.param(
            parse_pypirc, PYPIRC, "[distutils]\nindex-servers = internal\n[internal]\nusername = bob\n", ["[internal]", "'repository'"],
            id="pypirc-listed-without-repository",
        ),
        pytest.param(parse_pypirc, PYPIRC, "username = bob\n", ["invalid .pypirc"], id="pypirc-no-section-header"),
        pytest.param(parse_pypirc, PYPIRC, "[a]\nrepository = https://a.example.com/\n[a]\n", ["invalid .pypirc"], id="pypirc-section-twice"),
    ],
)
def test_config_errors_name_the_file_and_the_problem(parse, source, text, words):
    with pytest.raises(ConfigError) as caught:
        parse(text, source)
    message = str(caught.value)
    assert message.startswith(f"{source}: "), message
    for word in words:
        assert word in message, (word, message)
    assert caught.value.exit_code == ExitCode.USAGE
    assert "\n" not in message  # one error line


@pytest.mark.parametrize(
    ("parse", "source", "text"),
    [
        pytest.param(parse_pubtool_toml, SOURCE, f'[[index]]\nname = "a"\nurl = "https://a.example.com/"\npassword = "{SECRET}"\n', id="toml-password-key"),
        pytest.param(parse_pubtool_toml, SOURCE, f'[[index]]\nname = "a"\nurl = "https://a.example.com/"\nusername = "{SECRET}\n', id="toml-bad-line"),
        pytest.param(parse_pypirc, PYPIRC, f"password = {SECRET}\n[a]\nrepository = https://a.example.com/\n", id="pypirc-before-section"),
        pytest.param(parse_pypirc, PYPIRC, f"[a]\nrepository = https://a.example.com/\npassword = {SECRET}\npassword = {SECRET}\n", id="pypirc-option-twice"),
        pytest.param(parse_pypirc, PYPIRC, f"[a]\npassword = {SECRET}\n", id="pypirc-no-repository"),
    ],
)
def test_config_errors_never_quote_a_password(parse, source, text):
    with pytest.raises(ConfigError) as caught:
        parse(text, source)
    assert SECRET not in f"{caught.value} {caught.value.hint}"


def test_unknown_key_hint_lists_the_known_keys():
    with pytest.raises(ConfigError) as caught:
        parse_pubtool_toml(VALID + 'token = "x"\n', SOURCE)
    for key in ("name", "url", "publish-url", "username"):
        assert key in caught.value.hint


# -- find_index: which file wins ----------------------------------------------------------


def write_sources(cwd: Path, home: Path, defined_in: tuple[str, ...], name: str = "internal") -> None:
    """Define index ``name`` in each file of ``defined_in``, each with its own publish URL."""
    if "pubtool.toml" in defined_in:
        (cwd / "pubtool.toml").write_text(
            f'[[index]]\nname = "{name}"\npublish-url = "https://toml.example.com/legacy/"\n'
            'url = "https://toml.example.com/simple/"\n'
        )
    if "pyproject.toml" in defined_in:
        (cwd / "pyproject.toml").write_text(
            f'[project]\nname = "demo"\n\n[[tool.pubtool.index]]\nname = "{name}"\n'
            'publish-url = "https://pyproject.example.com/legacy/"\n'
        )
    if ".pypirc" in defined_in:
        (home / ".pypirc").write_text(
            f"[distutils]\nindex-servers = {name}\n\n[{name}]\nrepository = https://pypirc.example.com/legacy/\n"
            "username = bob\npassword = pw\n"
        )


@pytest.mark.parametrize(
    ("defined_in", "winner", "publish_url"),
    [
        (("pubtool.toml", "pyproject.toml", ".pypirc"), "pubtool.toml", "https://toml.example.com/legacy/"),
        (("pubtool.toml", ".pypirc"), "pubtool.toml", "https://toml.example.com/legacy/"),
        (("pubtool.toml", "pyproject.toml"), "pubtool.toml", "https://toml.example.com/legacy/"),
        (("pyproject.toml", ".pypirc"), "pyproject.toml", "https://pyproject.example.com/legacy/"),
        (("pubtool.toml",), "pubtool.toml", "https://toml.example.com/legacy/"),
        (("pyproject.toml",), "pyproject.toml", "https://pyproject.example.com/legacy/"),
        ((".pypirc",), ".pypirc", "https://pypirc.example.com/legacy/"),
    ],
)
def test_find_index_precedence(isolated_environment, monkeypatch, defined_in, winner, publish_url):
    monkeypatch.delenv("PYPIRC", raising=False)
    cwd, home = Path.cwd(), isolated_environment
    write_sources(cwd, home, defined_in)
    found = find_index("internal")
    assert found.publish_url == publish_url
    assert Path(found.source).name == winner
    assert Path(found.source).parent == (home if winner == ".pypirc" else cwd)


def test_find_index_takes_cwd_and_home_arguments(tmp_path):
    cwd, home = tmp_path / "project", tmp_path / "home"
    cwd.mkdir()
    home.mkdir()
    write_sources(cwd, home, ("pyproject.toml", ".pypirc"))
    assert find_index("internal", cwd=cwd, home=home).source == str(cwd / "pyproject.toml")
    (cwd / "pyproject.toml").unlink()
    assert find_index("internal", cwd=cwd, home=home).source == str(home / ".pypirc")


def test_find_index_missing_name_lists_the_known_names_of_every_file(isolated_environment, monkeypatch):
    monkeypatch.delenv("PYPIRC", raising=False)
    cwd, home = Path.cwd(), isolated_environment
    write_sources(cwd, home, ("pubtool.toml",), name="from-toml")
    write_sources(cwd, home, ("pyproject.toml",), name="from-pyproject")
    write_sources(cwd, home, (".pypirc",), name="from-pypirc")
    with pytest.raises(ConfigError) as caught:
        find_index("internal")
    message = str(caught.value)
    assert "'internal'" in message
    for name in ("from-toml", "from-pyproject", "from-pypirc"):
        assert name in message
    for path in (cwd / "pubtool.toml", cwd / "pyproject.toml", home / ".pypirc"):
        assert str(path) in caught.value.hint
    assert caught.value.exit_code == ExitCode.USAGE


def test_find_index_without_any_file(monkeypatch):
    monkeypatch.delenv("PYPIRC", raising=False)
    with pytest.raises(ConfigError) as caught:
        find_index("internal")
    assert "'internal'" in str(caught.value) and "none" in str(caught.value)


@pytest.mark.parametrize(
    ("broken", "text", "words"),
    [
        ("pubtool.toml", 'unknown = 1\n', ["pubtool.toml", "'unknown'"]),
        ("pubtool.toml", '[[index]\n', ["pubtool.toml", "line 1"]),
        ("pyproject.toml", '[tool.pubtool]\nextra = 1\n', ["pyproject.toml", "'extra'"]),
    ],
)
def test_find_index_a_broken_earlier_file_is_an_error(isolated_environment, monkeypatch, broken, text, words):
    """A mistake in a file that is read is reported, not skipped in favour of a later file."""
    monkeypatch.delenv("PYPIRC", raising=False)
    write_sources(Path.cwd(), isolated_environment, (".pypirc",))
    (Path.cwd() / broken).write_text(text)
    with pytest.raises(ConfigError) as caught:
        find_index("internal")
    for word in words:
        assert word in str(caught.value)


@pytest.mark.parametrize(
    ("pypirc_env", "expected_url"),
    [
        pytest.param(None, "https://home.example.com/legacy/", id="default-home-pypirc"),
        pytest.param("elsewhere", "https://elsewhere.example.org/legacy/", id="PYPIRC-overrides"),
        pytest.param("", "https://home.example.com/legacy/", id="empty-PYPIRC-ignored"),
    ],
)
def test_find_index_pypirc_env_var(isolated_environment, tmp_path, monkeypatch, pypirc_env, expected_url):
    (isolated_environment / ".pypirc").write_text("[internal]\nrepository = https://home.example.com/legacy/\n")
    other = tmp_path / "other-pypirc"
    other.write_text("[internal]\nrepository = https://elsewhere.example.org/legacy/\n")
    if pypirc_env is None:
        monkeypatch.delenv("PYPIRC", raising=False)
    else:
        monkeypatch.setenv("PYPIRC", str(other) if pypirc_env == "elsewhere" else "")
    found = find_index("internal")
    assert found.publish_url == expected_url


def test_find_index_pypirc_env_var_to_a_missing_file(isolated_environment, tmp_path, monkeypatch):
    """$PYPIRC names the file to read: ~/.pypirc is then not read at all."""
    (isolated_environment / ".pypirc").write_text("[internal]\nrepository = https://home.example.com/legacy/\n")
    monkeypatch.setenv("PYPIRC", str(tmp_path / "missing"))
    with pytest.raises(ConfigError) as caught:
        find_index("internal")
    assert str(tmp_path / "missing") in caught.value.hint


# -- shapes that must not crash, and twine's .pypirc as twine reads it --------------------


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("[tool]\npubtool = 3\n", id="pubtool-is-a-number"),
        pytest.param('[tool]\npubtool = "internal"\n', id="pubtool-is-a-string"),
        pytest.param("[tool]\npubtool = []\n", id="pubtool-is-an-array"),
        pytest.param('tool = "x"\n', id="tool-is-a-string"),
    ],
)
def test_parse_pyproject_odd_shapes_are_config_errors_not_crashes(text):
    """A pyproject.toml read for --index is a user's file: a bad shape is exit 2, never a traceback."""
    try:
        parsed = parse_pyproject(text, PYPROJECT)
    except ConfigError as error:
        assert str(error).startswith(f"{PYPROJECT}: ")
    else:
        assert parsed == {} and "pubtool" not in text  # only an odd [tool] may be ignored


TWINE_PYPIRC = """\
[distutils]
index-servers =
    internal

[server-login]
username = old-style-user
password = old-style-password

[internal]
repository = https://pkgs.example.com/legacy/
username = ci-bot

[not-listed]
username = someone
"""


def test_parse_pypirc_reads_the_sections_twine_reads():
    """twine uses only the sections named by index-servers; [server-login] is distutils' defaults."""
    assert as_tuples(parse_pypirc(TWINE_PYPIRC, PYPIRC)) == expect(
        index("internal", PYPIRC, publish_url="https://pkgs.example.com/legacy/", username="ci-bot")
    )
