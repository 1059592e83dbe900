"""publisher.plan: local distributions x the index's listing -> one decision per file (pure)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from publisher.distributions.collect import Candidate, FileKind
from publisher.distributions.hashing import FileHashes
from publisher.distributions.validate import Distribution, read_distribution
from publisher.plan import (
    upload_dependencies,
    Decision,
    compare_digest,
    compare_downloaded,
    order_for_upload,
    plan_file,
    plan_uploads,
)
from publisher.simple_index import ProjectListing, RemoteFile
from tests.distfactory import make_sdist, make_wheel

LOCAL_SHA = "1" * 64
OTHER_SHA = "f" * 64


def dist(filename: str, sha256: str = LOCAL_SHA) -> Distribution:
    """A Distribution built by hand from its filename (project, version and kind follow from it)."""
    kind = FileKind.WHEEL if filename.endswith(".whl") else FileKind.SDIST
    name, version = filename.split("-")[:2]
    if kind is FileKind.SDIST:
        version = version.removesuffix(".tar.gz").removesuffix(".zip")
    return Distribution(
        path=Path("dist") / filename,
        filename=filename,
        kind=kind,
        project=canonicalize_name(name),
        version=Version(version),
        metadata={"name": name, "version": version},
        hashes=FileHashes(size=10, sha256=sha256, blake2_256="2" * 64),
        pyversion="py3" if kind is FileKind.WHEEL else "source",
    )


def names(dists) -> list[str]:
    return [d.filename for d in dists]


A_SDIST = "a-1.0.tar.gz"
A_WHL = "a-1.0-py3-none-any.whl"
A_WHL_CP = "a-1.0-cp311-cp311-linux_x86_64.whl"
A2_SDIST = "a-2.0.tar.gz"
A2_WHL = "a-2.0-py3-none-any.whl"
B_SDIST = "b-1.0.tar.gz"
B_WHL = "b-1.0-py3-none-any.whl"
C_ZIP = "c-1.0.zip"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param([A_WHL, A_SDIST], [A_WHL, A_SDIST], id="already-in-order"),
        pytest.param([A_SDIST, A_WHL], [A_WHL, A_SDIST], id="sdist-first-moves-after-its-wheel"),
        pytest.param([A_SDIST, A_WHL, A_WHL_CP], [A_WHL, A_WHL_CP, A_SDIST], id="after-all-its-wheels"),
        pytest.param([A_WHL, A_SDIST, A_WHL_CP], [A_WHL, A_WHL_CP, A_SDIST], id="between-its-wheels"),
        pytest.param([A_SDIST, B_WHL], [A_SDIST, B_WHL], id="other-project-wheel-keeps-order"),
        pytest.param([A2_SDIST, A_WHL], [A2_SDIST, A_WHL], id="other-release-wheel-keeps-order"),
        pytest.param([A_SDIST, B_SDIST, C_ZIP], [A_SDIST, B_SDIST, C_ZIP], id="only-sdists"),
        pytest.param([C_ZIP, B_SDIST, A_SDIST], [C_ZIP, B_SDIST, A_SDIST], id="only-sdists-reversed"),
        pytest.param([B_WHL, A_WHL, A2_WHL], [B_WHL, A_WHL, A2_WHL], id="only-wheels"),
        pytest.param(
            [A_SDIST, B_SDIST, A_WHL, B_WHL], [A_WHL, A_SDIST, B_WHL, B_SDIST], id="interleaved-releases"
        ),
        pytest.param(
            [B_SDIST, A_SDIST, A_WHL, B_WHL], [A_WHL, A_SDIST, B_WHL, B_SDIST], id="interleaved-releases-crossed"
        ),
        pytest.param(
            [A2_SDIST, A_SDIST, A_WHL, A2_WHL], [A_WHL, A_SDIST, A2_WHL, A2_SDIST], id="two-releases-one-project"
        ),
        pytest.param([A_SDIST, B_SDIST, B_WHL], [A_SDIST, B_WHL, B_SDIST], id="unrelated-sdist-stays-first"),
        pytest.param([], [], id="nothing"),
    ],
)
def test_order_for_upload(given, expected):
    assert names(order_for_upload([dist(name) for name in given])) == expected


@pytest.mark.parametrize("seed", range(25))
def test_order_for_upload_shuffled(seed):
    """Any input order: same files, each sdist after its release's wheels, wheels in the given order."""
    given = [dist(n) for n in (A_SDIST, A_WHL, A_WHL_CP, A2_SDIST, A2_WHL, B_SDIST, B_WHL, C_ZIP)]
    random.Random(seed).shuffle(given)
    ordered = order_for_upload(given)
    assert sorted(names(ordered)) == sorted(names(given))
    position = {d.filename: i for i, d in enumerate(ordered)}
    for d in ordered:
        if d.kind is FileKind.SDIST:
            wheels = [w for w in ordered if w.kind is FileKind.WHEEL and w.release == d.release]
            assert all(position[w.filename] < position[d.filename] for w in wheels)
    assert [d for d in ordered if d.kind is FileKind.WHEEL] == [d for d in given if d.kind is FileKind.WHEEL]


def listing(*files: RemoteFile, exists: bool = True, project: str = "a") -> ProjectListing:
    return ProjectListing(
        canonicalize_name(project),
        f"https://pkgs.example.com/simple/{project}/",
        {f.filename: f for f in files},
        exists,
    )


def remote(filename: str = A_SDIST, **hashes: str) -> RemoteFile:
    return RemoteFile(filename, f"https://files.example.com/{filename}", hashes)


@pytest.mark.parametrize(
    ("the_listing", "decision", "reason_parts", "algorithm"),
    [
        pytest.param(None, Decision.UPLOAD, ["no check URL"], "sha256", id="no-listing"),
        pytest.param(listing(exists=False), Decision.UPLOAD, ["new project"], "sha256", id="404"),
        pytest.param(listing(), Decision.UPLOAD, ["not on the index"], "sha256", id="listed-nothing"),
        pytest.param(
            listing(remote(A_WHL, sha256=LOCAL_SHA), remote("a-1.0.zip", sha256=LOCAL_SHA)),
            Decision.UPLOAD,
            ["not on the index"],
            "sha256",
            id="only-other-files-listed",
        ),
        pytest.param(
            listing(remote("A-1.0.tar.gz", sha256=LOCAL_SHA)),
            Decision.UPLOAD,
            ["not on the index"],
            "sha256",
            id="other-spelling-is-another-file",
        ),
        pytest.param(
            listing(remote(sha256=LOCAL_SHA)), Decision.SKIP, ["already on the index"], "sha256", id="same-sha256"
        ),
        pytest.param(
            listing(remote(sha256=LOCAL_SHA, md5="9" * 32)),
            Decision.SKIP,
            ["already on the index"],
            "sha256",
            id="same-sha256-with-md5",
        ),
        pytest.param(
            listing(remote(sha256=OTHER_SHA)),
            Decision.CONFLICT,
            [LOCAL_SHA[:12], OTHER_SHA[:12], "different"],
            "sha256",
            id="different-sha256",
        ),
        pytest.param(
            listing(remote(sha256=OTHER_SHA, md5="9" * 32)),
            Decision.CONFLICT,
            [LOCAL_SHA[:12], OTHER_SHA[:12]],
            "sha256",
            id="sha256-wins-over-md5",
        ),
        pytest.param(
            listing(remote(md5="9" * 32)),
            Decision.VERIFY_WITH_ALGORITHM,
            ["md5"],
            "md5",
            id="only-md5",
        ),
        pytest.param(
            listing(remote(md5="9" * 32, sha512="8" * 128)),
            Decision.VERIFY_WITH_ALGORITHM,
            ["sha512"],
            "sha512",
            id="strongest-fallback",
        ),
        pytest.param(
            listing(remote(sha1="7" * 40)), Decision.VERIFY_WITH_ALGORITHM, ["sha1"], "sha1", id="only-sha1"
        ),
        pytest.param(
            listing(remote()), Decision.VERIFY_BY_DOWNLOAD, ["without a usable hash"], "sha256", id="no-hashes"
        ),
        pytest.param(
            listing(remote(whirlpool="6" * 128)),
            Decision.VERIFY_BY_DOWNLOAD,
            ["without a usable hash"],
            "sha256",
            id="unknown-algorithm-only",
        ),
    ],
)
def test_plan_file(the_listing, decision, reason_parts, algorithm):
    local = dist(A_SDIST)
    planned = plan_file(local, the_listing)
    assert planned.dist is local
    assert planned.decision is decision
    for part in reason_parts:
        assert part in planned.reason
    assert planned.algorithm == algorithm
    if decision in (Decision.UPLOAD,):
        assert planned.remote is None
    else:
        assert planned.remote == the_listing.files[A_SDIST]


@pytest.mark.parametrize(
    ("remote_hashes", "algorithm", "local_digest", "decision"),
    [
        ({"md5": "ab" * 16}, "md5", "ab" * 16, Decision.SKIP),
        ({"md5": "AB" * 16}, "md5", "ab" * 16, Decision.SKIP),
        ({"md5": "ab" * 16}, "md5", "AB" * 16, Decision.SKIP),
        ({"md5": "ab" * 16}, "md5", "cd" * 16, Decision.CONFLICT),
        ({"sha512": "0" * 128}, "sha512", "0" * 128, Decision.SKIP),
        ({"sha512": "0" * 128}, "sha512", "1" * 128, Decision.CONFLICT),
        ({"sha256": LOCAL_SHA, "md5": "ab" * 16}, "md5", "cd" * 16, Decision.CONFLICT),
    ],
)
def test_compare_digest(remote_hashes, algorithm, local_digest, decision):
    the_remote = RemoteFile(A_SDIST, "https://files.example.com/a-1.0.tar.gz", remote_hashes)
    planned = compare_digest(dist(A_SDIST), the_remote, algorithm, local_digest)
    assert planned.decision is decision
    assert planned.algorithm == algorithm
    assert planned.remote is the_remote
    if decision is Decision.CONFLICT:
        assert local_digest in planned.reason
        assert remote_hashes[algorithm] in planned.reason
        assert algorithm in planned.reason


@pytest.mark.parametrize(
    ("downloaded", "decision"),
    [(LOCAL_SHA, Decision.SKIP), (LOCAL_SHA.upper(), Decision.SKIP), (OTHER_SHA, Decision.CONFLICT)],
)
def test_compare_downloaded(downloaded, decision):
    planned = compare_downloaded(dist(A_SDIST), remote(), downloaded)
    assert planned.decision is decision
    assert planned.algorithm == "sha256"


def test_plan_uploads_without_check_url_uploads_everything_in_upload_order():
    given = [dist(n) for n in (A_SDIST, A_WHL, B_WHL)]
    plan = plan_uploads(given, None)
    assert [(p.dist.filename, p.decision, p.reason) for p in plan] == [
        (A_WHL, Decision.UPLOAD, "no check URL"),
        (A_SDIST, Decision.UPLOAD, "no check URL"),
        (B_WHL, Decision.UPLOAD, "no check URL"),
    ]


def test_plan_uploads_with_listings_per_project():
    given = [dist(A_SDIST), dist(A_WHL, OTHER_SHA), dist(B_WHL)]
    listings = {
        canonicalize_name("a"): listing(remote(A_SDIST, sha256=LOCAL_SHA), remote(A_WHL, sha256=LOCAL_SHA)),
        canonicalize_name("b"): listing(exists=False, project="b"),
    }
    plan = plan_uploads(given, listings)
    assert [(p.dist.filename, p.decision) for p in plan] == [
        (A_WHL, Decision.CONFLICT),
        (A_SDIST, Decision.SKIP),
        (B_WHL, Decision.UPLOAD),
    ]


def test_plan_uploads_empty():
    assert plan_uploads([], None) == []
    assert plan_uploads([], {}) == []


def test_plan_with_real_files(tmp_path):
    """Distributions read from disk plan the same way as hand-built ones."""
    wheel, _ = read_distribution(Candidate(make_wheel(tmp_path), "dist"))
    sdist, _ = read_distribution(Candidate(make_sdist(tmp_path), "dist"))
    listings = {
        canonicalize_name("demo-pkg"): listing(
            RemoteFile(sdist.filename, "https://x/" + sdist.filename, {"sha256": sdist.hashes.sha256}),
            RemoteFile(wheel.filename, "https://x/" + wheel.filename, {"sha256": "0" * 64}),
            project="demo-pkg",
        )
    }
    plan = plan_uploads([sdist, wheel], listings)
    assert [(p.dist.filename, p.decision) for p in plan] == [
        (wheel.filename, Decision.CONFLICT),
        (sdist.filename, Decision.SKIP),
    ]
    assert wheel.hashes.sha256 in plan[0].reason


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param(["a-1.0-py3-none-any.whl", "a-1.0.tar.gz"], {"a-1.0.tar.gz": {"a-1.0-py3-none-any.whl"}}, id="sdist-waits"),
        pytest.param(
            ["a-1.0-py3-none-any.whl", "a-1.0-cp311-cp311-linux_x86_64.whl", "a-1.0.tar.gz"],
            {"a-1.0.tar.gz": {"a-1.0-py3-none-any.whl", "a-1.0-cp311-cp311-linux_x86_64.whl"}},
            id="all-wheels-of-the-release",
        ),
        pytest.param(["a-1.0.tar.gz", "a-2.0-py3-none-any.whl"], {"a-1.0.tar.gz": set()}, id="other-release"),
        pytest.param(["a-1.0.tar.gz", "b-1.0-py3-none-any.whl"], {"a-1.0.tar.gz": set()}, id="other-project"),
        pytest.param(["a-1.0-py3-none-any.whl"], {}, id="wheels-wait-for-nothing"),
    ],
)
def test_upload_dependencies(given, expected):
    dependencies = upload_dependencies([dist(name) for name in given])
    assert {name: deps for name, deps in dependencies.items() if name.endswith(".tar.gz")} == expected
    assert all(not deps for name, deps in dependencies.items() if name.endswith(".whl"))
