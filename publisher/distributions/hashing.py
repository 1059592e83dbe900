"""Digests of a file in one streaming pass: the ones PyPI checks (sha256, blake2b-256)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

CHUNK_SIZE = 1024 * 1024


@dataclass(frozen=True)
class FileHashes:
    size: int
    sha256: str
    blake2_256: str


def hash_file(path: Path) -> FileHashes:
    """Read ``path`` once in 1 MiB chunks, feeding every digest from the same buffer."""
    sha256 = hashlib.sha256()
    blake2 = hashlib.blake2b(digest_size=32)
    size = 0
    with open(path, "rb") as stream:
        while chunk := stream.read(CHUNK_SIZE):
            sha256.update(chunk)
            blake2.update(chunk)
            size += len(chunk)
    return FileHashes(size=size, sha256=sha256.hexdigest(), blake2_256=blake2.hexdigest())


def digest_file(path: Path, algorithm: str) -> str:
    """Hex digest of ``path`` with another algorithm, for an index that lists only that one."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as stream:
        while chunk := stream.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()
