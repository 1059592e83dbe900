"""Turn the PATHS argument into distribution files (SPEC section 3, step 1).

``expand_paths`` touches the disk (globs, directories); ``classify`` and
``group_candidates`` are pure so they can be tested with tables.
"""

from __future__ import annotations

import dataclasses
import glob
import os
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Iterable, Sequence

ATTESTATION_SUFFIX = ".publish.attestation"
_GLOB_CHARS = frozenset("*?[")


class FileKind(Enum):
    WHEEL = "wheel"
    SDIST = "sdist"
    ATTESTATION = "attestation"
    SIGNATURE = "signature"
    OTHER = "other"


def classify(filename: str) -> FileKind:
    """What a file is, judged by its name alone."""
    lower = filename.lower()
    if lower.endswith(ATTESTATION_SUFFIX):
        return FileKind.ATTESTATION
    if lower.endswith(".asc"):
        return FileKind.SIGNATURE
    if lower.endswith(".whl"):
        return FileKind.WHEEL
    if lower.endswith((".tar.gz", ".zip")):
        return FileKind.SDIST
    return FileKind.OTHER


@dataclass(frozen=True)
class FoundFile:
    """A file that one PATHS argument produced."""

    path: Path
    argument: str
    explicit: bool  # named directly rather than found by a glob or in a directory


@dataclass(frozen=True)
class Candidate:
    """A distribution file to validate, with the attestations found next to it."""

    path: Path
    argument: str
    attestations: tuple[Path, ...] = ()


@dataclass
class Collection:
    candidates: list[Candidate] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (what, reason)
    notices: list[str] = field(default_factory=list)


def expand_paths(arguments: Sequence[str]) -> tuple[list[FoundFile], list[tuple[str, str]]]:
    """Expand files, directories and glob patterns; return found files and problems."""
    found: list[FoundFile] = []
    problems: list[tuple[str, str]] = []
    for argument in arguments:
        path = Path(argument)
        if any(char in argument for char in _GLOB_CHARS) and not path.exists():
            matches = sorted(glob.glob(argument))
            files = [Path(match) for match in matches if os.path.isfile(match)]
            if not files:
                problems.append((argument, "no file matches this pattern"))
            found.extend(FoundFile(file, argument, explicit=False) for file in files)
        elif path.is_dir():
            files = sorted(entry for entry in path.iterdir() if entry.is_file())
            found.extend(FoundFile(file, argument, explicit=False) for file in files)
        elif path.is_file():
            found.append(FoundFile(path, argument, explicit=True))
        elif path.exists():
            problems.append((argument, "not a regular file or directory"))
        else:
            problems.append((argument, "no such file or directory"))
    return found, problems


def group_candidates(found: Iterable[FoundFile]) -> Collection:
    """Keep distributions, attach attestations, drop duplicates of one path (pure)."""
    result = Collection()
    seen: set[Path] = set()
    attestations: dict[Path, list[Path]] = {}
    distributions: list[FoundFile] = []
    for item in found:
        key = Path(os.path.abspath(item.path))
        if key in seen:
            continue
        seen.add(key)
        kind = classify(item.path.name)
        if kind in (FileKind.WHEEL, FileKind.SDIST):
            distributions.append(item)
        elif kind is FileKind.ATTESTATION:
            target = key.with_name(item.path.name[: -len(ATTESTATION_SUFFIX)])
            attestations.setdefault(target, []).append(item.path)
        elif kind is FileKind.SIGNATURE:
            result.notices.append(f"ignoring {item.path}: signatures are not uploaded (indexes ignore them)")
        elif item.explicit:
            reason = "not a distribution (expected a .whl, .tar.gz or .zip file)"
            result.problems.append((item.argument, reason))
        else:
            result.notices.append(f"ignoring {item.path}: not a distribution")
    for item in distributions:
        key = Path(os.path.abspath(item.path))
        attached = tuple(attestations.pop(key, ()))
        result.candidates.append(Candidate(item.path, item.argument, attached))
    for target, orphans in attestations.items():
        for orphan in orphans:
            result.notices.append(f"ignoring {orphan}: no distribution {target.name} was given")
    return result


def collect_distributions(arguments: Sequence[str]) -> Collection:
    """Expand ``arguments`` and group what was found (SPEC section 3, step 1)."""
    found, problems = expand_paths(arguments)
    collection = group_candidates(found)
    collection.candidates = [_with_attestation_next_to_it(candidate) for candidate in collection.candidates]
    collection.problems[:0] = problems
    named = {what for what, _ in collection.problems}
    distribution_kinds = (FileKind.WHEEL, FileKind.SDIST)
    productive = {item.argument for item in found if classify(item.path.name) in distribution_kinds}
    # A shell expands `dist/*` into explicit names, .asc and attestations included: those
    # already got their notice (or were attached); they are no error when the run has distributions.
    companions = (FileKind.SIGNATURE, FileKind.ATTESTATION)
    companion_only = {item.argument for item in found if classify(item.path.name) in companions}
    for argument in dict.fromkeys(arguments):
        if argument in companion_only and collection.candidates:
            continue
        if argument not in productive and argument not in named:
            reason = "no distributions found here (expected .whl, .tar.gz or .zip files)"
            collection.problems.append((argument, reason))
    return collection


def _with_attestation_next_to_it(candidate: Candidate) -> Candidate:
    """A distribution named alone (``dist/x.whl``) still gets the ``x.whl.publish.attestation`` beside it."""
    if candidate.attestations:
        return candidate
    path = candidate.path.with_name(candidate.path.name + ATTESTATION_SUFFIX)
    return dataclasses.replace(candidate, attestations=(path,)) if path.is_file() else candidate
