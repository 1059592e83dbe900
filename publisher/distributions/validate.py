"""Read and check each distribution before any request (SPEC section 3, step 2).

Every problem in every file is gathered, then reported once, as packaging's
``_ErrorCollector`` does.
"""

from __future__ import annotations

import tarfile
import threading
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional, Sequence, Union

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from publisher.distributions.collect import Candidate, FileKind, classify
from publisher.distributions.hashing import FileHashes, hash_file

# Core metadata versions this tool knows how to send (PEP 241 ... PEP 639).
KNOWN_METADATA_VERSIONS = frozenset({"1.0", "1.1", "1.2", "2.0", "2.1", "2.2", "2.3", "2.4"})

MetadataValue = Union[str, tuple[str, ...]]

# warnings.catch_warnings swaps process-wide state: files are read in parallel threads
# (hashing is the slow part), so the metadata reading itself takes turns.
_WARNINGS_LOCK = threading.Lock()


@dataclass(frozen=True)
class Distribution:
    """A validated, hashed distribution file, ready to plan and upload."""

    path: Path
    filename: str
    kind: FileKind
    project: NormalizedName
    version: Version
    metadata: Mapping[str, MetadataValue] = field(repr=False)  # pkginfo attribute -> value
    hashes: FileHashes
    pyversion: str  # the legacy API's "pyversion": a wheel's python tag(s), or "source"
    attestations: tuple[Path, ...] = ()

    @property
    def name(self) -> str:
        return str(self.metadata.get("name", self.project))

    @property
    def size(self) -> int:
        return self.hashes.size

    @property
    def release(self) -> tuple[NormalizedName, Version]:
        return self.project, self.version


@dataclass(frozen=True)
class ParsedFilename:
    project: NormalizedName
    version: Version
    pyversion: str


def parse_filename(filename: str, kind: FileKind) -> ParsedFilename:
    """Parse a wheel or sdist filename with packaging; raise ValueError with the reason."""
    if kind is FileKind.WHEEL:
        name, version, _build, tags = parse_wheel_filename(filename)
        pyversions = sorted({tag.interpreter for tag in tags})
        return ParsedFilename(name, version, ".".join(pyversions))
    name, version = parse_sdist_filename(filename)
    return ParsedFilename(name, version, "source")


def _read_metadata(path: Path, kind: FileKind) -> Mapping[str, MetadataValue]:
    """Read core metadata with pkginfo; raise ValueError with a plain reason."""
    import pkginfo  # deferred: only needed once files are validated

    reader = pkginfo.Wheel if kind is FileKind.WHEEL else pkginfo.SDist
    # pkginfo warns (unknown Metadata-Version, missing fields) while reading and while
    # listing fields; we report those ourselves, so no Python warning reaches the user.
    with _WARNINGS_LOCK, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            info = reader(str(path))
        except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
            raise ValueError(f"cannot read the archive ({exc})") from exc
        except ValueError as exc:
            raise ValueError(f"cannot read metadata ({exc})") from exc
        if not getattr(info, "metadata_version", None):
            reasons = "; ".join(str(w.message) for w in caught) or "no metadata found"
            raise ValueError(f"cannot read metadata ({reasons})")
        header_attrs = info._getHeaderAttrs()  # noqa: SLF001 - pkginfo's field table
        if not header_attrs:
            # A Metadata-Version older than pkginfo's newest but unknown to it: pkginfo read no
            # field at all. Read them with the newest layout so only the real problem is reported.
            from pkginfo.distribution import HEADER_ATTRS

            declared = info.metadata_version
            info.metadata_version = max(HEADER_ATTRS, key=lambda v: tuple(int(p) for p in v.split(".")))
            info.parse(info.read())
            header_attrs = info._getHeaderAttrs()  # noqa: SLF001
            info.metadata_version = declared
        values: dict[str, MetadataValue] = {}
        for _header, attribute, multiple in header_attrs:
            value = getattr(info, attribute, None)
            if multiple:
                values[attribute] = tuple(str(item) for item in (value or ()))
            elif value is not None:
                values[attribute] = str(value)
    return values


def check_metadata(metadata: Mapping[str, MetadataValue], parsed: ParsedFilename) -> list[str]:
    """Reasons the metadata disagrees with itself or with the filename (pure)."""
    reasons: list[str] = []
    metadata_version = metadata.get("metadata_version")
    if metadata_version not in KNOWN_METADATA_VERSIONS:
        known = ", ".join(sorted(KNOWN_METADATA_VERSIONS))
        reasons.append(f"unknown Metadata-Version {metadata_version!r} (known: {known})")
    name = metadata.get("name")
    if not name:
        reasons.append("metadata has no Name")
    elif canonicalize_name(str(name)) != parsed.project:
        reasons.append(f"metadata Name {name!r} does not match the filename's project {parsed.project!r}")
    version = metadata.get("version")
    if not version:
        reasons.append("metadata has no Version")
    else:
        try:
            parsed_version = Version(str(version))
        except InvalidVersion:
            reasons.append(f"metadata Version {version!r} is not a valid version (PEP 440)")
        else:
            if parsed_version != parsed.version:
                reasons.append(
                    f"metadata Version {version!r} does not match the filename's version {str(parsed.version)!r}"
                )
    return reasons


def read_distribution(candidate: Candidate) -> tuple[Optional[Distribution], list[str]]:
    """Validate one file; return the Distribution or the reasons it is unusable."""
    path = candidate.path
    kind = classify(path.name)
    try:
        if path.stat().st_size == 0:
            return None, ["file is empty (0 bytes)"]
        with open(path, "rb"):
            pass
    except OSError as exc:
        return None, [f"cannot read the file ({exc.strerror or exc})"]
    try:
        parsed = parse_filename(path.name, kind)
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion) as exc:
        return None, [f"invalid filename: {exc}"]
    try:
        metadata = _read_metadata(path, kind)
    except ValueError as exc:
        return None, [str(exc)]
    reasons = check_metadata(metadata, parsed)
    if reasons:
        return None, reasons
    hashes = hash_file(path)
    distribution = Distribution(
        path=path,
        filename=path.name,
        kind=kind,
        project=parsed.project,
        version=parsed.version,
        metadata=metadata,
        hashes=hashes,
        pyversion=parsed.pyversion,
        attestations=candidate.attestations,
    )
    return distribution, []


def find_duplicate_filenames(distributions: Sequence[Distribution]) -> tuple[list[Distribution], list[tuple[str, str]]]:
    """Drop copies of one file given under two paths; report same-name files whose content differs (pure)."""
    first_by_name: dict[str, Distribution] = {}
    kept: list[Distribution] = []
    problems: list[tuple[str, str]] = []
    for dist in distributions:
        first = first_by_name.get(dist.filename)
        if first is None:
            first_by_name[dist.filename] = dist
            kept.append(dist)
        elif first.hashes.sha256 != dist.hashes.sha256:
            reason = f"same filename as {str(first.path)!r} but different content"
            problems.append((str(dist.path), reason))
    return kept, problems
