"""publisher.distributions.collect: classify and group_candidates are pure; collect_distributions globs."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from publisher.distributions.collect import (
    Candidate,
    FileKind,
    FoundFile,
    classify,
    collect_distributions,
    group_candidates,
)


@pytest.mark.parametrize(
    ("filename", "kind"),
    [
        ("demo_pkg-1.0-py3-none-any.whl", FileKind.WHEEL),
        ("DEMO_PKG-1.0-PY3-NONE-ANY.WHL", FileKind.WHEEL),
        ("demo_pkg-1.0.tar.gz", FileKind.SDIST),
        ("demo_pkg-1.0.TAR.GZ", FileKind.SDIST),
        ("demo_pkg-1.0.zip", FileKind.SDIST),
        ("demo_pkg-1.0-py3-none-any.whl.publish.attestation", FileKind.ATTESTATION),
        ("demo_pkg-1.0.tar.gz.publish.attestation", FileKind.ATTESTATION),
        ("demo_pkg-1.0-py3-none-any.whl.asc", FileKind.SIGNATURE),
        ("demo_pkg-1.0.tar.gz.asc", FileKind.SIGNATURE),
        ("demo_pkg-1.0.tar.bz2", FileKind.OTHER),
        ("demo_pkg-1.0.tgz", FileKind.OTHER),
        ("demo_pkg-1.0-py3.9.egg", FileKind.OTHER),
        ("demo_pkg-1.0.tar", FileKind.OTHER),
        ("README.md", FileKind.OTHER),
        ("attestation", FileKind.OTHER),
        ("demo_pkg-1.0.whl.sig", FileKind.OTHER),
    ],
)
def test_classify(filename, kind):
    assert classify(filename) is kind


WHEEL = Path("dist/demo_pkg-1.0-py3-none-any.whl")
SDIST = Path("dist/demo_pkg-1.0.tar.gz")
WHEEL_ATT = Path("dist/demo_pkg-1.0-py3-none-any.whl.publish.attestation")
SDIST_ATT = Path("dist/demo_pkg-1.0.tar.gz.publish.attestation")
ORPHAN_ATT = Path("dist/gone-2.0.tar.gz.publish.attestation")
SIGNATURE = Path("dist/demo_pkg-1.0.tar.gz.asc")
README = Path("dist/README.md")


def found(path: Path, argument: str = "dist", explicit: bool = False) -> FoundFile:
    return FoundFile(path, argument, explicit)


def by_path(collection) -> dict[Path, tuple[Path, ...]]:
    return {candidate.path: candidate.attestations for candidate in collection.candidates}


@pytest.mark.parametrize(
    ("files", "candidates", "problems", "notice_words"),
    [
        pytest.param([found(WHEEL), found(SDIST)], [Candidate(WHEEL, "dist"), Candidate(SDIST, "dist")], [], [], id="two-dists"),
        pytest.param(
            [found(WHEEL), found(WHEEL_ATT)],
            [Candidate(WHEEL, "dist", (WHEEL_ATT,))],
            [],
            [],
            id="attestation-after-its-dist",
        ),
        pytest.param(
            [found(WHEEL_ATT), found(WHEEL)],
            [Candidate(WHEEL, "dist", (WHEEL_ATT,))],
            [],
            [],
            id="attestation-before-its-dist",
        ),
        pytest.param(
            [found(SDIST_ATT), found(WHEEL), found(SDIST), found(WHEEL_ATT)],
            [Candidate(WHEEL, "dist", (WHEEL_ATT,)), Candidate(SDIST, "dist", (SDIST_ATT,))],
            [],
            [],
            id="each-attestation-to-its-own-dist",
        ),
        pytest.param(
            [found(WHEEL), found(ORPHAN_ATT)],
            [Candidate(WHEEL, "dist")],
            [],
            [str(ORPHAN_ATT), "gone-2.0.tar.gz"],
            id="orphan-attestation-notice",
        ),
        pytest.param(
            [found(SDIST), found(SIGNATURE)],
            [Candidate(SDIST, "dist")],
            [],
            [str(SIGNATURE), "signature"],
            id="signature-notice",
        ),
        pytest.param(
            [found(SDIST), found(SIGNATURE, str(SIGNATURE), explicit=True)],
            [Candidate(SDIST, "dist")],
            [],
            [str(SIGNATURE)],
            id="explicit-signature-is-only-a-notice",
        ),
        pytest.param(
            [found(WHEEL), found(README)],
            [Candidate(WHEEL, "dist")],
            [],
            [str(README), "not a distribution"],
            id="other-file-in-directory-notice",
        ),
        pytest.param(
            [found(WHEEL), found(README, "dist/README.md", explicit=True)],
            [Candidate(WHEEL, "dist")],
            [("dist/README.md", "not a distribution")],
            [],
            id="explicit-other-file-problem",
        ),
        pytest.param(
            [found(WHEEL), found(WHEEL, str(WHEEL), explicit=True)],
            [Candidate(WHEEL, "dist")],
            [],
            [],
            id="same-path-twice",
        ),
        pytest.param(
            [found(WHEEL), found(Path("dist/../dist") / WHEEL.name, "dist/../dist"), found(Path("./dist") / WHEEL.name)],
            [Candidate(WHEEL, "dist")],
            [],
            [],
            id="same-path-spelled-differently",
        ),
        pytest.param(
            [found(Path("a/demo_pkg-1.0.tar.gz")), found(Path("b/demo_pkg-1.0.tar.gz"))],
            [Candidate(Path("a/demo_pkg-1.0.tar.gz"), "dist"), Candidate(Path("b/demo_pkg-1.0.tar.gz"), "dist")],
            [],
            [],
            id="same-name-two-directories-both-kept-for-validation",
        ),
        pytest.param(
            [found(Path("a/demo_pkg-1.0.tar.gz")), found(Path("b/demo_pkg-1.0.tar.gz.publish.attestation"))],
            [Candidate(Path("a/demo_pkg-1.0.tar.gz"), "dist")],
            [],
            ["b/demo_pkg-1.0.tar.gz.publish.attestation"],
            id="attestation-in-another-directory-is-not-attached",
        ),
        pytest.param([], [], [], [], id="nothing"),
    ],
)
def test_group_candidates(files, candidates, problems, notice_words):
    collection = group_candidates(files)
    assert collection.candidates == candidates
    assert [(what, reason.split(" (")[0]) for what, reason in collection.problems] == problems
    if notice_words:
        assert len(collection.notices) == 1
        for word in notice_words:
            assert word in collection.notices[0]
    else:
        assert collection.notices == []


def test_group_candidates_keeps_the_given_order():
    names = [f"pkg{i}-1.0.tar.gz" if i % 2 else f"pkg{i}-1.0-py3-none-any.whl" for i in range(12)]
    files = [found(Path("dist") / name) for name in names]
    assert [c.path.name for c in group_candidates(files).candidates] == names


@pytest.mark.parametrize("seed", range(20))
def test_group_candidates_shuffled_input(seed):
    """Whatever the order, every attestation lands on its dist and dists keep their relative order (uv's group_files)."""
    files = [found(WHEEL), found(SDIST), found(WHEEL_ATT), found(SDIST_ATT), found(SIGNATURE), found(ORPHAN_ATT)]
    random.Random(seed).shuffle(files)
    collection = group_candidates(files)
    assert by_path(collection) == {WHEEL: (WHEEL_ATT,), SDIST: (SDIST_ATT,)}
    assert [c.path for c in collection.candidates] == [f.path for f in files if f.path in (WHEEL, SDIST)]
    assert collection.problems == []
    assert len(collection.notices) == 2


# ---------------------------------------------------------------- on disk


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """dist/ with two dists, an attestation, a signature and a README; empty/ and docs/ without dists."""
    monkeypatch.chdir(tmp_path)
    dist = tmp_path / "dist"
    dist.mkdir()
    for name in (
        "demo_pkg-1.0-py3-none-any.whl",
        "demo_pkg-1.0.tar.gz",
        "demo_pkg-1.0-py3-none-any.whl.publish.attestation",
        "demo_pkg-1.0.tar.gz.asc",
        "README.md",
    ):
        (dist / name).write_bytes(b"x")
    (dist / "sub").mkdir()
    (dist / "sub" / "nested-1.0.tar.gz").write_bytes(b"x")
    (tmp_path / "empty").mkdir()
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_bytes(b"x")
    return tmp_path


@pytest.mark.parametrize(
    ("arguments", "names", "problems"),
    [
        pytest.param(["dist"], ["demo_pkg-1.0-py3-none-any.whl", "demo_pkg-1.0.tar.gz"], [], id="directory"),
        pytest.param(["dist/"], ["demo_pkg-1.0-py3-none-any.whl", "demo_pkg-1.0.tar.gz"], [], id="directory-slash"),
        pytest.param(["dist/*"], ["demo_pkg-1.0-py3-none-any.whl", "demo_pkg-1.0.tar.gz"], [], id="glob-star"),
        pytest.param(["dist/*.whl"], ["demo_pkg-1.0-py3-none-any.whl"], [], id="glob-wheels"),
        pytest.param(["dist/demo_pkg-1.0.tar.gz"], ["demo_pkg-1.0.tar.gz"], [], id="one-file"),
        pytest.param(["dist/*/*.tar.gz"], ["nested-1.0.tar.gz"], [], id="glob-into-subdirectory"),
        pytest.param(
            ["dist/*.tar.gz", "dist/demo_pkg-1.0.tar.gz"], ["demo_pkg-1.0.tar.gz"], [], id="same-file-twice"
        ),
        pytest.param(
            ["dist/*.whl", "dist/*.tar.gz"],
            ["demo_pkg-1.0-py3-none-any.whl", "demo_pkg-1.0.tar.gz"],
            [],
            id="given-order-wheels-first",
        ),
        pytest.param(
            ["dist/*.tar.gz", "dist/*.whl"],
            ["demo_pkg-1.0.tar.gz", "demo_pkg-1.0-py3-none-any.whl"],
            [],
            id="given-order-sdist-first",
        ),
        pytest.param(["missing.whl"], [], [("missing.whl", "no such file or directory")], id="missing-file"),
        pytest.param(["nowhere/"], [], [("nowhere/", "no such file or directory")], id="missing-directory"),
        pytest.param(["dist/*.egg"], [], [("dist/*.egg", "no file matches this pattern")], id="empty-glob"),
        pytest.param(["empty"], [], [("empty", "no distributions found here")], id="empty-directory"),
        pytest.param(["docs"], [], [("docs", "no distributions found here")], id="directory-without-dists"),
        pytest.param(["docs/*"], [], [("docs/*", "no distributions found here")], id="glob-without-dists"),
        pytest.param(
            ["docs/index.md"], [], [("docs/index.md", "not a distribution")], id="explicit-non-dist-once"
        ),
        pytest.param(
            ["dist/*.whl", "missing.tar.gz", "empty"],
            ["demo_pkg-1.0-py3-none-any.whl"],
            [("missing.tar.gz", "no such file or directory"), ("empty", "no distributions found here")],
            id="every-problem-reported",
        ),
    ],
)
def test_collect_distributions(tree, arguments, names, problems):
    collection = collect_distributions(arguments)
    assert [c.path.name for c in collection.candidates] == names
    got = [(what, reason) for what, reason in collection.problems]
    assert len(got) == len(problems), got
    for (what, reason), (want_what, want_reason) in zip(got, problems):
        assert what == want_what
        assert reason.startswith(want_reason), reason


def test_collect_distributions_attaches_attestations_and_notes_the_rest(tree):
    collection = collect_distributions(["dist"])
    attached = {c.path.name: [a.name for a in c.attestations] for c in collection.candidates}
    assert attached == {
        "demo_pkg-1.0-py3-none-any.whl": ["demo_pkg-1.0-py3-none-any.whl.publish.attestation"],
        "demo_pkg-1.0.tar.gz": [],
    }
    assert len(collection.notices) == 2
    assert any("demo_pkg-1.0.tar.gz.asc" in notice for notice in collection.notices)
    assert any("README.md" in notice for notice in collection.notices)


def test_collect_distributions_names_the_argument_it_came_from(tree):
    collection = collect_distributions(["dist/*.whl", str(tree / "dist" / "demo_pkg-1.0.tar.gz")])
    assert [c.argument for c in collection.candidates] == ["dist/*.whl", str(tree / "dist" / "demo_pkg-1.0.tar.gz")]


def test_group_candidates_same_path_relative_and_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    files = [found(tmp_path / WHEEL, str(tmp_path / "dist")), found(WHEEL, "dist")]
    assert group_candidates(files).candidates == [Candidate(tmp_path / WHEEL, str(tmp_path / "dist"))]


def test_collect_distributions_literal_path_with_glob_characters(tree):
    weird = tree / "build[1]"
    weird.mkdir()
    (weird / "demo_pkg-2.0.tar.gz").write_bytes(b"x")
    collection = collect_distributions(["build[1]"])
    assert [c.path.name for c in collection.candidates] == ["demo_pkg-2.0.tar.gz"]
    assert collection.problems == []
