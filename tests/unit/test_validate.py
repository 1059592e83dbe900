"""publisher.distributions.validate: filenames, metadata, whole files, duplicates."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
import zipfile
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from publisher.distributions.collect import Candidate, FileKind
from publisher.distributions.hashing import FileHashes
from publisher.distributions.validate import (
    Distribution,
    ParsedFilename,
    check_metadata,
    find_duplicate_filenames,
    parse_filename,
    read_distribution,
)
from tests.distfactory import make_sdist, make_wheel, metadata_text


@pytest.mark.parametrize(
    ("filename", "kind", "project", "version", "pyversion"),
    [
        ("demo_pkg-1.0-py3-none-any.whl", FileKind.WHEEL, "demo-pkg", "1.0", "py3"),
        ("Demo_Pkg-2.0rc1-py3-none-any.whl", FileKind.WHEEL, "demo-pkg", "2.0rc1", "py3"),
        ("demo_pkg-1.0-1-py3-none-any.whl", FileKind.WHEEL, "demo-pkg", "1.0", "py3"),
        ("demo_pkg-1.0-2build-py3-none-any.whl", FileKind.WHEEL, "demo-pkg", "1.0", "py3"),
        ("demo_pkg-1.0-py2.py3-none-any.whl", FileKind.WHEEL, "demo-pkg", "1.0", "py2.py3"),
        (
            "demo_pkg-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            FileKind.WHEEL,
            "demo-pkg",
            "1.0",
            "cp311",
        ),
        ("demo_pkg-1.0-12-cp312-abi3-win_amd64.whl", FileKind.WHEEL, "demo-pkg", "1.0", "cp312"),
        ("demo_pkg-1.0.post1.dev2-py3-none-any.whl", FileKind.WHEEL, "demo-pkg", "1.0.post1.dev2", "py3"),
        ("demo_pkg-1!2.0+local.1-py3-none-any.whl", FileKind.WHEEL, "demo-pkg", "1!2.0+local.1", "py3"),
        ("demo_pkg-1.0.tar.gz", FileKind.SDIST, "demo-pkg", "1.0", "source"),
        ("demo-pkg-1.0.tar.gz", FileKind.SDIST, "demo-pkg", "1.0", "source"),
        ("Demo.Pkg-1.0.post1.tar.gz", FileKind.SDIST, "demo-pkg", "1.0.post1", "source"),
        ("demo_pkg-1.0.zip", FileKind.SDIST, "demo-pkg", "1.0", "source"),
    ],
)
def test_parse_filename(filename, kind, project, version, pyversion):
    assert parse_filename(filename, kind) == ParsedFilename(project, Version(version), pyversion)


@pytest.mark.parametrize(
    ("filename", "kind"),
    [
        ("demo_pkg-1.0.whl", FileKind.WHEEL),
        ("demo_pkg-1.0-py3-none.whl", FileKind.WHEEL),
        ("demo_pkg-notaversion-py3-none-any.whl", FileKind.WHEEL),
        ("demo_pkg-1.0-build-py3-none-any.whl", FileKind.WHEEL),
        ("demo_pkg-1.0-1-2-py3-none-any.whl", FileKind.WHEEL),
        ("demo pkg-1.0-py3-none-any.whl", FileKind.WHEEL),
        ("demo_pkg.tar.gz", FileKind.SDIST),
        ("demo_pkg-notaversion.tar.gz", FileKind.SDIST),
        ("demo_pkg-1.0.tar.bz2", FileKind.SDIST),
        ("-1.0.tar.gz", FileKind.SDIST),
    ],
)
def test_parse_filename_invalid(filename, kind):
    with pytest.raises(ValueError, match="(?i)invalid"):
        parse_filename(filename, kind)


def meta(**fields):
    values = {"metadata_version": "2.1", "name": "demo-pkg", "version": "1.0"}
    values.update(fields)
    return {key: value for key, value in values.items() if value is not None}


DEMO_1_0 = ParsedFilename(canonicalize_name("demo-pkg"), Version("1.0"), "py3")


@pytest.mark.parametrize(
    ("metadata", "parsed", "expected"),
    [
        pytest.param(meta(), DEMO_1_0, [], id="ok"),
        *(
            pytest.param(meta(metadata_version=mv), DEMO_1_0, [], id=f"metadata-version-{mv}")
            for mv in ("1.0", "1.1", "1.2", "2.0", "2.1", "2.2", "2.3", "2.4")
        ),
        pytest.param(meta(metadata_version="3.0"), DEMO_1_0, ["unknown Metadata-Version '3.0'"], id="unknown-mv"),
        pytest.param(meta(metadata_version=None), DEMO_1_0, ["unknown Metadata-Version None"], id="no-mv"),
        pytest.param(meta(name=None), DEMO_1_0, ["metadata has no Name"], id="missing-name"),
        pytest.param(meta(name=""), DEMO_1_0, ["metadata has no Name"], id="empty-name"),
        pytest.param(meta(version=None), DEMO_1_0, ["metadata has no Version"], id="missing-version"),
        pytest.param(meta(name="Foo_Bar"), ParsedFilename("foo-bar", Version("1.0"), "py3"), [], id="name-normalised"),
        pytest.param(meta(name="foo.bar"), ParsedFilename("foo-bar", Version("1.0"), "py3"), [], id="name-dots"),
        pytest.param(meta(name="FOO--bar"), ParsedFilename("foo-bar", Version("1.0"), "py3"), [], id="name-runs"),
        pytest.param(
            meta(name="other"),
            DEMO_1_0,
            ["metadata Name 'other' does not match the filename's project 'demo-pkg'"],
            id="name-mismatch",
        ),
        pytest.param(meta(version="1.0.0"), DEMO_1_0, [], id="version-1.0.0-equals-1.0"),
        pytest.param(meta(version="v1.0"), DEMO_1_0, [], id="version-v-prefix"),
        pytest.param(meta(version="1.0"), ParsedFilename("demo-pkg", Version("1.0.0"), "py3"), [], id="filename-1.0.0"),
        pytest.param(
            meta(version="1.1"),
            DEMO_1_0,
            ["metadata Version '1.1' does not match the filename's version '1.0'"],
            id="version-mismatch",
        ),
        pytest.param(meta(version="1.0.post1"), DEMO_1_0, ["does not match the filename's version"], id="post"),
        pytest.param(meta(version="not a version"), DEMO_1_0, ["is not a valid version (PEP 440)"], id="invalid-version"),
        pytest.param(
            meta(metadata_version="9", name=None, version=None),
            DEMO_1_0,
            ["unknown Metadata-Version", "metadata has no Name", "metadata has no Version"],
            id="every-problem-reported",
        ),
    ],
)
def test_check_metadata(metadata, parsed, expected):
    reasons = check_metadata(metadata, parsed)
    assert len(reasons) == len(expected), reasons
    for reason, want in zip(reasons, expected):
        assert want in reason


# ---------------------------------------------------------------- whole files


def zip_sdist(directory: Path, name: str = "demo-pkg", version: str = "1.0") -> Path:
    stem = canonicalize_name(name).replace("-", "_")
    path = directory / f"{stem}-{version}.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{stem}-{version}/PKG-INFO", metadata_text(name, version))
        archive.writestr(f"{stem}-{version}/pyproject.toml", "[project]\n")
    return path


def wheel_without_metadata(directory: Path) -> Path:
    path = directory / "demo_pkg-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("demo_pkg/__init__.py", "")
    return path


def sdist_without_pkg_info(directory: Path) -> Path:
    path = directory / "demo_pkg-1.0.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo("demo_pkg-1.0/setup.py")
        info.size = 1
        archive.addfile(info, io.BytesIO(b"#"))
    return path


def truncated(path: Path) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def filled(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


GOOD = [
    pytest.param(lambda d: make_wheel(d), "demo-pkg", "1.0", FileKind.WHEEL, "py3", id="wheel"),
    pytest.param(
        lambda d: make_wheel(d, "Demo_Pkg", "2.0", tag="py2.py3-none-any"), "demo-pkg", "2.0", FileKind.WHEEL, "py2.py3",
        id="wheel-two-python-tags",
    ),
    pytest.param(lambda d: make_sdist(d), "demo-pkg", "1.0", FileKind.SDIST, "source", id="sdist"),
    pytest.param(lambda d: zip_sdist(d), "demo-pkg", "1.0", FileKind.SDIST, "source", id="zip-sdist"),
    pytest.param(
        lambda d: make_wheel(d, "demo-pkg", "1.0", metadata=metadata_text("Demo.Pkg", "1.0.0")),
        "demo-pkg", "1.0", FileKind.WHEEL, "py3",
        id="metadata-spelled-differently",
    ),
    pytest.param(
        lambda d: make_sdist(d, metadata=metadata_text("demo-pkg", "1.0", metadata_version="2.4")),
        "demo-pkg", "1.0", FileKind.SDIST, "source",
        id="metadata-2.4",
    ),
]


@pytest.mark.parametrize(("build", "project", "version", "kind", "pyversion"), GOOD)
def test_read_distribution_ok(tmp_path, build, project, version, kind, pyversion):
    path = build(tmp_path)
    attestation = Path(str(path) + ".publish.attestation")
    dist, reasons = read_distribution(Candidate(path, "dist/*", (attestation,)))
    assert reasons == []
    assert dist is not None
    assert (dist.project, dist.version, dist.kind, dist.pyversion) == (project, Version(version), kind, pyversion)
    assert dist.filename == path.name
    assert dist.path == path
    assert dist.attestations == (attestation,)
    data = path.read_bytes()
    assert dist.size == len(data)
    assert dist.hashes.sha256 == hashlib.sha256(data).hexdigest()
    assert dist.hashes.blake2_256 == hashlib.blake2b(data, digest_size=32).hexdigest()
    assert dist.metadata["version"] in (version, "1.0.0")
    assert dist.release == (project, Version(version))


def test_read_distribution_keeps_multi_valued_metadata(tmp_path):
    dist, _ = read_distribution(Candidate(make_wheel(tmp_path), "x"))
    assert dist.metadata["requires_dist"] == ("requests>=2", "rich")
    assert dist.metadata["classifiers"] == (
        "Programming Language :: Python :: 3",
        "License :: OSI Approved :: MIT License",
    )
    assert dist.metadata["requires_python"] == ">=3.9"
    assert dist.metadata["summary"] == "A test package"


BAD = [
    pytest.param(lambda d: filled(d / "demo_pkg-1.0-py3-none-any.whl", b""), "file is empty", id="empty-wheel"),
    pytest.param(lambda d: filled(d / "demo_pkg-1.0.tar.gz", b""), "file is empty", id="empty-sdist"),
    pytest.param(
        lambda d: filled(d / "demo_pkg-1.0-py3-none-any.whl", os.urandom(2048)), "cannot read", id="corrupt-zip"
    ),
    pytest.param(lambda d: filled(d / "demo_pkg-1.0.zip", b"PK\x03\x04" + os.urandom(200)), "cannot read", id="corrupt-zip-sdist"),
    pytest.param(lambda d: truncated(make_wheel(d, payload_size=20000)), "cannot read", id="truncated-wheel"),
    pytest.param(
        lambda d: truncated(make_sdist(d, payload=os.urandom(20000))), "cannot read the archive", id="truncated-tar-gz"
    ),
    pytest.param(
        lambda d: filled(d / "demo_pkg-1.0.tar.gz", gzip.compress(b"not a tar archive" * 100)),
        "cannot read",
        id="gzip-but-not-tar",
    ),
    pytest.param(lambda d: filled(d / "demo_pkg-1.0.tar.gz", os.urandom(300)), "cannot read", id="random-tar-gz"),
    pytest.param(lambda d: wheel_without_metadata(d), "cannot read metadata", id="wheel-without-METADATA"),
    pytest.param(lambda d: sdist_without_pkg_info(d), "cannot read metadata", id="sdist-without-PKG-INFO"),
    pytest.param(
        lambda d: make_wheel(d, filename="demo_pkg.whl"), "invalid filename", id="bad-wheel-filename"
    ),
    pytest.param(
        lambda d: make_sdist(d, filename="demo_pkg-latest.tar.gz"), "invalid filename", id="bad-sdist-filename"
    ),
    pytest.param(
        lambda d: make_wheel(d, metadata=metadata_text("other-pkg", "1.0")), "does not match the filename's project",
        id="name-mismatch",
    ),
    pytest.param(
        lambda d: make_sdist(d, metadata=metadata_text("demo-pkg", "1.1")), "does not match the filename's version",
        id="version-mismatch",
    ),
    pytest.param(
        lambda d: make_wheel(d, metadata=metadata_text("demo-pkg", "1.0", omit=("Name",))), "metadata has no Name",
        id="no-name",
    ),
    pytest.param(
        lambda d: make_sdist(d, metadata=metadata_text("demo-pkg", "1.0", omit=("Version",))),
        "metadata has no Version",
        id="no-version",
    ),
    pytest.param(
        lambda d: make_wheel(d, metadata=metadata_text("demo-pkg", "1.0", metadata_version="3.0")),
        "unknown Metadata-Version '3.0'",
        id="unknown-metadata-version",
    ),
]


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize(("build", "reason"), BAD)
def test_read_distribution_reasons(tmp_path, build, reason):
    dist, reasons = read_distribution(Candidate(build(tmp_path), "dist"))
    assert dist is None
    assert reasons
    assert any(reason in r for r in reasons), reasons


def test_read_distribution_missing_file(tmp_path):
    dist, reasons = read_distribution(Candidate(tmp_path / "demo_pkg-1.0.tar.gz", "dist"))
    assert dist is None
    assert reasons and reasons[0].startswith("cannot read the file")


# ---------------------------------------------------------------- duplicates


def dist(path: str, sha256: str) -> Distribution:
    return Distribution(
        path=Path(path),
        filename=Path(path).name,
        kind=FileKind.SDIST,
        project=canonicalize_name("demo-pkg"),
        version=Version("1.0"),
        metadata={},
        hashes=FileHashes(size=1, sha256=sha256, blake2_256="b" * 64),
        pyversion="source",
    )


A1 = dist("a/demo_pkg-1.0.tar.gz", "1" * 64)
B1 = dist("b/demo_pkg-1.0.tar.gz", "1" * 64)
B2 = dist("b/demo_pkg-1.0.tar.gz", "2" * 64)
C2 = dist("c/demo_pkg-1.0.tar.gz", "2" * 64)
OTHER = dist("a/demo_pkg-2.0.tar.gz", "2" * 64)


@pytest.mark.parametrize(
    ("given", "kept", "problems"),
    [
        pytest.param([A1, OTHER], [A1, OTHER], [], id="different-names"),
        pytest.param([A1, B1], [A1], [], id="same-content-twice"),
        pytest.param([A1, B2], [A1], [("b/demo_pkg-1.0.tar.gz", "a/demo_pkg-1.0.tar.gz")], id="different-content"),
        pytest.param(
            [A1, B2, C2],
            [A1],
            [("b/demo_pkg-1.0.tar.gz", "a/demo_pkg-1.0.tar.gz"), ("c/demo_pkg-1.0.tar.gz", "a/demo_pkg-1.0.tar.gz")],
            id="every-different-copy-reported",
        ),
        pytest.param([OTHER, A1, B1], [OTHER, A1], [], id="order-kept"),
        pytest.param([], [], [], id="nothing"),
    ],
)
def test_find_duplicate_filenames(given, kept, problems):
    got_kept, got_problems = find_duplicate_filenames(given)
    assert got_kept == kept
    assert len(got_problems) == len(problems)
    for (what, reason), (want_what, first) in zip(got_problems, problems):
        assert what == want_what
        assert first in reason
        assert "different content" in reason
