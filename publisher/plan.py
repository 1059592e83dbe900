"""Decide, per file, what a run does: the heart of pubtool, and pure.

Local distributions x the index's listing -> an action and a reason per file.
A failed check is never "no files": that decision is made by the caller, who
raises instead of passing an empty listing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Mapping, Optional, Sequence

from packaging.utils import NormalizedName

from publisher.distributions.collect import FileKind
from publisher.distributions.validate import Distribution
from publisher.simple_index import ProjectListing, RemoteFile

# Preferred algorithms for comparing with an index that lists no sha256, strongest first.
FALLBACK_ALGORITHMS = ("sha512", "sha384", "blake2b", "sha224", "sha1", "md5")


class Decision(Enum):
    UPLOAD = "upload"
    SKIP = "skip"
    CONFLICT = "conflict"
    VERIFY_BY_DOWNLOAD = "verify-by-download"
    VERIFY_WITH_ALGORITHM = "verify-with-algorithm"


@dataclass(frozen=True)
class PlannedFile:
    dist: Distribution
    decision: Decision
    reason: str
    remote: Optional[RemoteFile] = None
    algorithm: str = "sha256"  # what to compare with when verifying


def order_for_upload(distributions: Sequence[Distribution]) -> list[Distribution]:
    """Each sdist after the wheels of its own release; otherwise the given order (pure)."""
    last_wheel_index: dict[tuple, int] = {}
    for index, dist in enumerate(distributions):
        if dist.kind is FileKind.WHEEL:
            last_wheel_index[dist.release] = index
    ordered: list[Distribution] = []
    waiting: dict[int, list[Distribution]] = {}
    for index, dist in enumerate(distributions):
        last = last_wheel_index.get(dist.release, -1)
        if dist.kind is FileKind.SDIST and last > index:
            waiting.setdefault(last, []).append(dist)
            continue
        ordered.append(dist)
        ordered.extend(waiting.pop(index, ()))
    return ordered


def plan_file(dist: Distribution, listing: Optional[ProjectListing]) -> PlannedFile:
    """What to do with one file given its project's listing (None: no check URL)."""
    if listing is None:
        return PlannedFile(dist, Decision.UPLOAD, "no check URL")
    remote = listing.files.get(dist.filename)
    if remote is None:
        reason = "new project" if not listing.exists else "not on the index"
        return PlannedFile(dist, Decision.UPLOAD, reason)
    if "sha256" in remote.hashes:
        return compare_digest(dist, remote, "sha256", dist.hashes.sha256)
    algorithm = next((a for a in FALLBACK_ALGORITHMS if a in remote.hashes), None)
    if algorithm is not None:
        reason = f"the index lists only {algorithm}"
        return PlannedFile(dist, Decision.VERIFY_WITH_ALGORITHM, reason, remote, algorithm)
    reason = "the index lists the file without a usable hash; downloading it to compare"
    return PlannedFile(dist, Decision.VERIFY_BY_DOWNLOAD, reason, remote, "sha256")


def compare_digest(dist: Distribution, remote: RemoteFile, algorithm: str, local_digest: str) -> PlannedFile:
    """Skip when the index has the same bytes, conflict otherwise."""
    return _compare(dist, remote, algorithm, local_digest, remote.hashes[algorithm])


def compare_downloaded(dist: Distribution, remote: RemoteFile, remote_sha256: str) -> PlannedFile:
    """Compare with the sha256 of the bytes the index served."""
    return _compare(dist, remote, "sha256", dist.hashes.sha256, remote_sha256)


def _compare(dist: Distribution, remote: RemoteFile, algorithm: str, local: str, remote_digest: str) -> PlannedFile:
    if local.lower() == remote_digest.lower():
        return PlannedFile(dist, Decision.SKIP, "already on the index", remote, algorithm)
    reason = f"a different file of this name is on the index: local {algorithm} {local}, index {remote_digest}"
    return PlannedFile(dist, Decision.CONFLICT, reason, remote, algorithm)


def plan_uploads(
    distributions: Sequence[Distribution],
    listings: Optional[Mapping[NormalizedName, ProjectListing]],
) -> list[PlannedFile]:
    """Plan every file, in upload order. ``listings`` is None when there is no check URL."""
    return [
        plan_file(dist, None if listings is None else listings[dist.project])
        for dist in order_for_upload(distributions)
    ]


def upload_dependencies(uploads: Sequence[Distribution]) -> dict[str, set[str]]:
    """For parallel uploads: each sdist waits for the wheels of its own release (pure)."""
    wheels: dict[tuple, set[str]] = {}
    for dist in uploads:
        if dist.kind is FileKind.WHEEL:
            wheels.setdefault(dist.release, set()).add(dist.filename)
    return {
        dist.filename: set(wheels.get(dist.release, ())) if dist.kind is FileKind.SDIST else set()
        for dist in uploads
    }
