"""publisher.distributions.hashing: one streaming pass, same digests as hashlib."""

from __future__ import annotations

import hashlib
import os

import pytest

from publisher.distributions.hashing import CHUNK_SIZE, FileHashes, digest_file, hash_file

SIZES = [0, 1, 63, 64, 65, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 2 * CHUNK_SIZE, 3 * CHUNK_SIZE + 7]


@pytest.mark.parametrize("size", SIZES)
def test_hash_file_matches_hashlib(tmp_path, size):
    data = os.urandom(size)
    path = tmp_path / "file.bin"
    path.write_bytes(data)
    assert hash_file(path) == FileHashes(
        size=size,
        sha256=hashlib.sha256(data).hexdigest(),
        blake2_256=hashlib.blake2b(data, digest_size=32).hexdigest(),
    )


@pytest.mark.parametrize(
    ("data", "sha256", "blake2_256"),
    [
        (
            b"",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8",
        ),
        (
            b"abc",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319",
        ),
    ],
)
def test_hash_file_known_vectors(tmp_path, data, sha256, blake2_256):
    path = tmp_path / "file.bin"
    path.write_bytes(data)
    assert hash_file(path) == FileHashes(len(data), sha256, blake2_256)


@pytest.mark.parametrize("algorithm", ["md5", "sha1", "sha224", "sha384", "sha512", "blake2b"])
@pytest.mark.parametrize("size", [0, 1, CHUNK_SIZE, CHUNK_SIZE + 1])
def test_digest_file_matches_hashlib(tmp_path, algorithm, size):
    data = os.urandom(size)
    path = tmp_path / "file.bin"
    path.write_bytes(data)
    assert digest_file(path, algorithm) == hashlib.new(algorithm, data).hexdigest()


def test_digest_file_md5_known_vector(tmp_path):
    path = tmp_path / "file.bin"
    path.write_bytes(b"abc")
    assert digest_file(path, "md5") == "900150983cd24fb0d6963f7d28e17f72"


def test_digest_file_unknown_algorithm(tmp_path):
    path = tmp_path / "file.bin"
    path.write_bytes(b"abc")
    with pytest.raises(ValueError):
        digest_file(path, "no-such-hash")
