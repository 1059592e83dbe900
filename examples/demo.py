"""`make demo`: publish the example project to a real local pypiserver, then retry it.

Steps (each prints the command and what pubtool said):
  1. build examples/hello-pubtool into a wheel and an sdist;
  2. start pypiserver on a free 127.0.0.1 port, htpasswd auth for uploads and reads;
  3. upload both files;                                          -> exit 0
  4. show the server's simple page listing them;
  5. the retried job: same command with --check-url               -> exit 0, nothing re-sent
  6. a check URL without read credentials (another realm)         -> exit 3 with the hint
  7. the same with --allow-check-auth-failure --skip-existing     -> exit 0, with warnings
  8. a rebuilt sdist with the same name but different content     -> exit 4, nothing sent
The server is stopped at the end, whatever happens.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers.pypiserver import PypiServer  # noqa: E402

PASSWORD = "demo-secret-password"
EXAMPLE = ROOT / "examples" / "hello-pubtool"
PUBTOOL = str(Path(sys.executable).with_name("pubtool"))


def heading(text: str) -> None:
    print(f"\n\033[1m== {text}\033[0m" if sys.stdout.isatty() else f"\n== {text}", flush=True)


def pubtool(*args: str, expect: int) -> None:
    shown = " ".join(shlex.quote(a if a != PASSWORD else "***") for a in args)
    print(f"$ pubtool {shown}", flush=True)
    env = {**os.environ, "CI": "1"}
    code = subprocess.run([PUBTOOL, *args], env=env).returncode
    verdict = "as expected" if code == expect else f"EXPECTED {expect}"
    print(f"[exit code {code}: {verdict}]", flush=True)
    if code != expect:
        raise SystemExit(f"demo failed: pubtool exited {code}, expected {expect}")


def build(source: Path, outdir: Path) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(outdir), str(source)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        print(done.stdout, done.stderr, sep="\n")
        raise SystemExit("demo failed: could not build the example project")
    return sorted(str(p) for p in outdir.iterdir())


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="pubtool-demo-"))
    try:
        heading("1. build the example project")
        source = work / "hello-pubtool"
        shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "dist", "*.egg-info"))
        files = build(source, work / "dist")
        for path in files:
            print(f"built {Path(path).name} ({Path(path).stat().st_size} bytes)")

        with PypiServer(PASSWORD, authenticate="update,download,list", username="demo") as server:
            heading(f"2. pypiserver is listening on {server.url} (auth for uploads and reads)")
            upload = ["upload", "--publish-url", server.url, "-u", "demo", "-p", PASSWORD]

            heading("3. publish")
            pubtool(*upload, str(work / "dist" / "*"), expect=0)

            heading("4. the server's simple page")
            request = urllib.request.Request(server.simple_url + "hello-pubtool/")
            request.add_unredirected_header("Authorization", "Basic " + _basic("demo", PASSWORD))
            page = urllib.request.urlopen(request, timeout=10).read().decode()
            for line in page.splitlines():
                if "<a " in line:
                    print("  " + line.strip())

            heading("5. the job is retried: with --check-url nothing is sent again")
            pubtool(*upload, "--check-url", server.simple_url, str(work / "dist" / "*"), expect=0)

            other_realm = f"http://localhost:{server.port}/simple/"
            heading(f"6. a check URL on another realm ({other_realm}) gets no credentials: 401")
            pubtool(*upload, "--check-url", other_realm, str(work / "dist" / "*"), expect=3)

            heading("7. the lenient behaviour, asked for explicitly")
            pubtool(
                *upload, "--check-url", other_realm, "--allow-check-auth-failure", "--skip-existing",
                str(work / "dist" / "*"), expect=0,
            )

            heading("8. a rebuilt sdist with the same name but different content")
            (source / "src" / "hello_pubtool" / "extra.py").write_text("CHANGED = True\n")
            rebuilt = build(source, work / "rebuilt")
            sdist = next(p for p in rebuilt if p.endswith(".tar.gz"))
            pubtool(*upload, "--check-url", server.simple_url, sdist, expect=4)
        heading("done: the server is stopped")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _basic(username: str, password: str) -> str:
    import base64

    return base64.b64encode(f"{username}:{password}".encode()).decode()


if __name__ == "__main__":
    main()
