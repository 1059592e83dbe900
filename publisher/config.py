"""Named indexes (SPEC section 5): pubtool.toml, [tool.pubtool] in pyproject.toml, ~/.pypirc.

Parsing is pure (text in, IndexConfig out); ``find_index`` reads the files.

    [[index]]
    name = "internal"
    url = "https://pkgs.example.com/root/dev/+simple/"   # Simple API root: the check URL
    publish-url = "https://pkgs.example.com/root/dev/"
    username = "ci-bot"                                  # password from env, keyring or netrc
"""

from __future__ import annotations

import configparser
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from publisher.errors import ConfigError
from publisher.urls import KNOWN_INDEXES, redact

INDEX_KEYS = ("name", "url", "publish-url", "username")


@dataclass(frozen=True)
class IndexConfig:
    name: str
    source: str  # the file it came from
    check_url: Optional[str] = None
    publish_url: Optional[str] = None
    username: Optional[str] = None
    password: Optional[str] = field(default=None, repr=False)  # only .pypirc stores one


def _load_toml(text: str, source: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.9/3.10
        import tomli as tomllib
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:  # its message ends with "(at line N, column M)"
        raise ConfigError(f"{source}: invalid TOML: {exc}", hint="fix the file's syntax") from exc


def parse_index_tables(tables: Any, source: str, where: str) -> dict[str, IndexConfig]:
    """Check a list of ``[[index]]`` tables and turn them into IndexConfigs (pure)."""
    if not isinstance(tables, list) or not all(isinstance(table, dict) for table in tables):
        raise ConfigError(f"{source}: {where} must be an array of tables ([[{where}]])")
    indexes: dict[str, IndexConfig] = {}
    for position, table in enumerate(tables, start=1):
        unknown = sorted(set(table) - set(INDEX_KEYS))
        if unknown:
            msg = f"{source}: unknown key {unknown[0]!r} in {where} #{position}"
            raise ConfigError(msg, hint=f"known keys: {', '.join(INDEX_KEYS)} (passwords belong in env, keyring or netrc)")
        for key, value in table.items():
            if not isinstance(value, str) or not value:
                raise ConfigError(f"{source}: {key!r} in {where} #{position} must be a non-empty string")
        if "name" not in table:
            raise ConfigError(f"{source}: {where} #{position} has no 'name'")
        if "url" not in table and "publish-url" not in table:
            raise ConfigError(f"{source}: index {table['name']!r} has neither 'url' nor 'publish-url'")
        name = table["name"]
        if name in indexes:
            raise ConfigError(f"{source}: index {name!r} is defined twice")
        indexes[name] = IndexConfig(
            name=name,
            source=source,
            check_url=table.get("url"),
            publish_url=table.get("publish-url"),
            username=table.get("username"),
        )
    return indexes


def parse_pubtool_toml(text: str, source: str) -> dict[str, IndexConfig]:
    data = _load_toml(text, source)
    unknown = sorted(set(data) - {"index"})
    if unknown:
        raise ConfigError(f"{source}: unknown key {unknown[0]!r}", hint="pubtool.toml holds [[index]] tables only")
    return parse_index_tables(data.get("index", []), source, "index")


def parse_pyproject(text: str, source: str) -> dict[str, IndexConfig]:
    tool = _load_toml(text, source).get("tool", {})
    section = tool.get("pubtool") if isinstance(tool, dict) else None
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise ConfigError(f"{source}: [tool.pubtool] must be a table, not {type(section).__name__}")
    unknown = sorted(set(section) - {"index"})
    if unknown:
        msg = f"{source}: unknown key {unknown[0]!r} in [tool.pubtool]"
        raise ConfigError(msg, hint="[tool.pubtool] holds [[tool.pubtool.index]] tables only")
    return parse_index_tables(section.get("index", []), source, "tool.pubtool.index")


def parse_pypirc(text: str, source: str) -> dict[str, IndexConfig]:
    """twine's format: sections with repository, username, password (pure)."""
    parser = configparser.RawConfigParser()
    try:
        parser.read_string(text, source)
    except configparser.Error as exc:
        first_line = str(exc).splitlines()[0]
        raise ConfigError(f"{source}: invalid .pypirc: {first_line}") from exc
    indexes: dict[str, IndexConfig] = {}
    listed = parser.get("distutils", "index-servers", fallback=None)
    servers = set(listed.split()) if listed is not None else None
    for name in parser.sections():
        # twine ignores [server-login] and sections that index-servers does not list
        if name in ("distutils", "server-login") or (servers is not None and name not in servers):
            continue
        section = parser[name]
        known = KNOWN_INDEXES.get(name)
        publish_url = section.get("repository") or (known[0] if known else None)
        if not publish_url:
            raise ConfigError(f"{source}: [{name}] has no 'repository' URL")
        check_url = next((simple for upload, simple in KNOWN_INDEXES.values() if upload == publish_url), None)
        indexes[name] = IndexConfig(
            name=name,
            source=source,
            check_url=check_url,
            publish_url=publish_url,
            username=section.get("username"),
            password=section.get("password"),
        )
    return indexes


def config_files(cwd: Path, home: Path) -> list[tuple[Path, Any]]:
    """The files ``--index`` looks in, in order, with their parsers."""
    pypirc = Path(os.environ["PYPIRC"]) if os.environ.get("PYPIRC") else home / ".pypirc"
    return [
        (cwd / "pubtool.toml", parse_pubtool_toml),
        (cwd / "pyproject.toml", parse_pyproject),
        (pypirc, parse_pypirc),
    ]


def find_index(name: str, *, cwd: Optional[Path] = None, home: Optional[Path] = None) -> IndexConfig:
    """The named index from the first file that defines it; ConfigError listing the known names."""
    cwd = cwd or Path.cwd()
    home = home or Path(os.path.expanduser("~"))
    known: dict[str, str] = {}
    looked: list[str] = []
    for path, parse in config_files(cwd, home):
        looked.append(str(path))
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read the file ({exc})") from exc
        indexes = parse(text, str(path))
        if name in indexes:
            return indexes[name]
        for other in indexes:
            known.setdefault(other, str(path))
    names = ", ".join(sorted(known)) if known else "none"
    msg = f"--index: no index named {name!r} (known: {names})"
    raise ConfigError(msg, hint=f"indexes are read from {', '.join(looked)}")


def describe(index: IndexConfig) -> str:
    """One line for --verbose: which index, from which file, which URLs (redacted)."""
    urls = ", ".join(redact(url) for url in (index.publish_url, index.check_url) if url)
    return f"index {index.name!r} from {index.source}: {urls}"
