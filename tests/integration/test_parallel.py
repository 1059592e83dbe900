"""--jobs N: parallel uploads against the scripted server, which records what arrived and when."""

from __future__ import annotations

import threading
import time

from tests.distfactory import make_sdist, make_wheel
from tests.integration.helpers import run
from tests.servers.scripted import Reply


def _release(dist_dir, wheels: int):
    for i in range(wheels):
        make_wheel(dist_dir, filename=f"demo_pkg-1.0-{i}-py3-none-any.whl")
    return make_sdist(dist_dir)


class Concurrency:
    """A POST handler that answers after a pause and remembers how many were in flight at once."""

    def __init__(self, delay: float = 0.2, fail: str = "") -> None:
        self.delay = delay
        self.fail = fail
        self.active = 0
        self.peak = 0
        self.lock = threading.Lock()

    def __call__(self, request) -> Reply:
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        time.sleep(self.delay)
        with self.lock:
            self.active -= 1
        if self.fail and self.fail.encode() in request.body:
            return Reply(400, "Invalid distribution")
        return Reply(200)


def _posted(server) -> list[str]:
    return [r.body.split(b'filename="')[1].split(b'"')[0].decode() for r in server.matching("POST")]


def test_uploads_run_in_parallel_and_the_sdist_waits_for_its_wheels(cli, scripted, dist_dir):
    sdist = _release(dist_dir, wheels=6)
    handler = Concurrency()
    scripted.on("POST", "/legacy/", handler)

    outcome = run(cli, "upload", "--publish-url", f"{scripted.url}/legacy/", "--jobs", "3", "--json", sdist, dist_dir / "*.whl")

    assert outcome.exit_code == 0, outcome.stderr
    assert handler.peak == 3
    posted = _posted(scripted)
    assert sorted(posted) == sorted(f.name for f in dist_dir.iterdir())
    assert posted[-1] == sdist.name  # started only after every wheel of its release finished
    assert {f["action"] for f in outcome.report["files"]} == {"uploaded"}


def test_jobs_1_is_strictly_one_at_a_time(cli, scripted, dist_dir):
    _release(dist_dir, wheels=3)
    handler = Concurrency(delay=0.05)
    scripted.on("POST", "/legacy/", handler)

    outcome = run(cli, "upload", "--publish-url", f"{scripted.url}/legacy/", "--jobs", "1", dist_dir / "*")

    assert outcome.exit_code == 0, outcome.stderr
    assert handler.peak == 1


def test_a_failure_stops_new_uploads_and_the_report_names_every_file(cli, scripted, dist_dir):
    sdist = _release(dist_dir, wheels=4)
    handler = Concurrency(delay=0.1, fail="demo_pkg-1.0-0-py3-none-any.whl")
    scripted.on("POST", "/legacy/", handler)

    outcome = run(cli, "upload", "--publish-url", f"{scripted.url}/legacy/", "--jobs", "2", "--json", dist_dir / "*")

    assert outcome.exit_code == 1
    actions = {f["filename"]: f["action"] for f in outcome.report["files"]}
    assert actions["demo_pkg-1.0-0-py3-none-any.whl"] == "failed"
    assert actions[sdist.name] == "not-attempted"
    assert sdist.name not in _posted(scripted)
    # the one in flight with the failure finished; nothing new started after it
    assert len(_posted(scripted)) <= 3
    assert set(actions.values()) <= {"failed", "uploaded", "not-attempted"}


def test_jobs_must_be_at_least_one(cli, scripted, dist_dir):
    _release(dist_dir, wheels=1)

    outcome = run(cli, "upload", "--publish-url", f"{scripted.url}/legacy/", "--jobs", "0", dist_dir / "*")

    assert outcome.exit_code == 2
    assert "--jobs" in outcome.stderr
    assert scripted.count() == 0


def test_one_check_request_per_project_even_in_parallel(cli, scripted, dist_dir):
    for name in ("alpha", "beta", "gamma"):
        make_wheel(dist_dir, name=name)
    scripted.on("GET", "/simple/*", Reply(404))
    scripted.on("POST", "/legacy/", Reply(200))

    outcome = run(
        cli, "upload", "--publish-url", f"{scripted.url}/legacy/", "--check-url", f"{scripted.url}/simple/",
        "--jobs", "4", dist_dir / "*",
    )  # fmt: skip

    assert outcome.exit_code == 0, outcome.stderr
    assert sorted(r.path for r in scripted.matching("GET")) == ["/simple/alpha/", "/simple/beta/", "/simple/gamma/"]
    assert scripted.count("POST") == 3
