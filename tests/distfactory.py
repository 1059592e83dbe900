"""Build small valid (or deliberately broken) wheels and sdists without a build backend."""

from __future__ import annotations

import io
import os
import tarfile
import zipfile
from pathlib import Path
from typing import Optional

from packaging.utils import canonicalize_name


def metadata_text(
    name: str,
    version: str,
    *,
    metadata_version: str = "2.1",
    extra: str = "",
    omit: tuple[str, ...] = (),
) -> str:
    lines = [f"Metadata-Version: {metadata_version}", f"Name: {name}", f"Version: {version}",
             "Summary: A test package", "Requires-Dist: requests>=2", "Requires-Dist: rich",
             "Classifier: Programming Language :: Python :: 3", "Classifier: License :: OSI Approved :: MIT License",
             "Requires-Python: >=3.9"]
    lines = [line for line in lines if line.split(":", 1)[0] not in omit]
    return "\n".join(lines) + "\n" + extra + "\nThe long description.\n"


def _wheel_stem(name: str) -> str:
    return canonicalize_name(name).replace("-", "_")


def make_wheel(
    directory: Path,
    name: str = "demo-pkg",
    version: str = "1.0",
    *,
    payload: bytes = b"",
    payload_size: int = 0,
    metadata: Optional[str] = None,
    filename: Optional[str] = None,
    tag: str = "py3-none-any",
) -> Path:
    """A wheel with METADATA, WHEEL and RECORD; ``payload`` (or random ``payload_size`` bytes) as a data file."""
    stem = _wheel_stem(name)
    path = Path(directory) / (filename or f"{stem}-{version}-{tag}.whl")
    dist_info = f"{stem}-{version}.dist-info"
    body = payload or (os.urandom(payload_size) if payload_size else b"")
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr(f"{stem}/__init__.py", "VALUE = 1\n")
        if body:
            archive.writestr(f"{stem}/payload.bin", body)
        archive.writestr(f"{dist_info}/METADATA", metadata if metadata is not None else metadata_text(name, version))
        archive.writestr(f"{dist_info}/WHEEL", f"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: {tag}\n")
        archive.writestr(f"{dist_info}/RECORD", "")
    return path


def make_sdist(
    directory: Path,
    name: str = "demo-pkg",
    version: str = "1.0",
    *,
    payload: bytes = b"",
    metadata: Optional[str] = None,
    filename: Optional[str] = None,
) -> Path:
    """A .tar.gz sdist with PKG-INFO at its top directory."""
    stem = _wheel_stem(name)
    path = Path(directory) / (filename or f"{stem}-{version}.tar.gz")
    top = f"{stem}-{version}"
    members = {
        f"{top}/PKG-INFO": (metadata if metadata is not None else metadata_text(name, version)).encode(),
        f"{top}/pyproject.toml": b"[project]\nname = 'x'\n",
    }
    if payload:
        members[f"{top}/payload.bin"] = payload
    with tarfile.open(path, "w:gz") as archive:
        for member_name, data in members.items():
            info = tarfile.TarInfo(member_name)
            info.size = len(data)
            info.mtime = 0
            archive.addfile(info, io.BytesIO(data))
    return path
