"""The run of SPEC section 3, step by step: collect, validate, hash, check, upload, reconcile.

``run`` never prints and never raises a PubtoolError: it records the error in the
Report it returns, so ``--json`` is printed on failure too.
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Optional, Sequence

from packaging.utils import NormalizedName

from publisher.credentials import Purpose, RealmAuth
from publisher.distributions.collect import collect_distributions
from publisher.distributions.hashing import digest_file
from publisher.distributions.validate import Distribution, find_duplicate_filenames, read_distribution
from publisher.errors import (
    AlreadyExistsError,
    CheckUrlAuthError,
    ConflictError,
    InputProblems,
    Interrupted,
    NetworkError,
    PubtoolError,
)
from publisher.plan import (
    Decision,
    PlannedFile,
    compare_digest,
    compare_downloaded,
    plan_file,
    plan_uploads,
    upload_dependencies,
)
from publisher.report import Action, FileReport, Report, Reporter
from publisher.settings import Settings
from publisher.simple_index import ProjectListing, check_root_for, download_digest, fetch_project_listing
from publisher.trusted_publishing import TokenMinter
from publisher.urls import ensure_trailing_slash, redact


def prepare_distributions(
    paths: Sequence[str], reporter: Reporter, report: Report, *, attestations: bool = False
) -> list[Distribution]:
    """Collect, validate and hash; raise InputProblems listing every problem (SPEC steps 1-3)."""
    reporter.phase("Validate and hash")
    collection = collect_distributions(paths)
    for notice in collection.notices:
        reporter.notice(notice)
    problems = list(collection.problems)
    distributions: list[Distribution] = []
    for candidate, (dist, reasons) in zip(collection.candidates, read_all(collection.candidates)):
        if dist is None:
            problems.extend((str(candidate.path), reason) for reason in reasons)
        else:
            distributions.append(dist)
    distributions, duplicate_problems = find_duplicate_filenames(distributions)
    problems.extend(duplicate_problems)
    if attestations:
        for dist in distributions:
            problems.extend((str(dist.path), reason) for reason in attestation_problems(dist))
    report.files = [_file_report(dist) for dist in distributions]
    if problems:
        for what, reason in problems:
            report.files.append(FileReport(path=what, filename=os.path.basename(what), action=Action.FAILED, reason=reason))
        hint = "nothing was sent to the index; fix the input (or rebuild the files) and run again"
        raise InputProblems(problems, hint=hint)
    return distributions


def read_all(candidates: Sequence) -> list:
    """Validate and hash several files at once: hashlib and zlib release the GIL, so threads
    keep the disk busy. Results come back in the given order."""
    if len(candidates) < 2:
        return [read_distribution(candidate) for candidate in candidates]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(4, len(candidates)), thread_name_prefix="hash") as pool:
        return list(pool.map(read_distribution, candidates))


def attestation_problems(dist: Distribution) -> list[str]:
    """With --attestations every distribution needs its <file>.publish.attestation, as JSON (PEP 740)."""
    if not dist.attestations:
        return [f"no attestation: {dist.filename}.publish.attestation is missing (--attestations)"]
    reasons = []
    for path in dist.attestations:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            reasons.append(f"attestation {path.name} is not valid JSON ({exc})")
            continue
        if not isinstance(data, dict):
            reasons.append(f"attestation {path.name} is not a JSON object")
    return reasons


def _file_report(dist: Distribution) -> FileReport:
    return FileReport(
        path=str(dist.path),
        filename=dist.filename,
        project=dist.name,
        version=str(dist.version),
        size=dist.size,
        sha256=dist.hashes.sha256,
    )


class Publisher:
    """One publishing run over one HTTP session."""

    def __init__(self, settings: Settings, reporter: Reporter, report: Report) -> None:
        from publisher.http import make_session

        self.settings = settings
        self.reporter = reporter
        self.report = report
        self.auth = auth = RealmAuth()
        auth.add(settings.publish_url, settings.upload_credentials, Purpose.UPLOAD)
        if settings.check_url:
            auth.add(settings.check_url, settings.check_credentials, Purpose.READ)
        self.session = make_session(
            retries=settings.retries, auth=auth, log_request=reporter.request, pool_size=max(8, settings.jobs)
        )
        self.check_root: Optional[str] = None
        self.in_flight: set[str] = set()  # filenames whose upload started
        self._lock = threading.Lock()
        self.minter: Optional[TokenMinter] = None
        self._reports = {item.filename: item for item in report.files}

    # -- check ---------------------------------------------------------------

    def fetch_listings(self, distributions: Sequence[Distribution]) -> Optional[dict[NormalizedName, ProjectListing]]:
        """One request per project; None when there is no check URL (or the lenient flag let it go)."""
        if not self.settings.check_url:
            return None
        self.reporter.phase("Check the index")
        projects = list(dict.fromkeys(dist.project for dist in distributions))
        self.check_root = check_root_for(self.settings.check_url, set(projects))
        if self.check_root != ensure_trailing_slash(self.settings.check_url):
            self.reporter.notice(f"the check URL names a project; using its parent {redact(self.check_root)}")
        try:
            listings = self.fetch_listings_concurrently(projects)
        except CheckUrlAuthError as error:
            if not self.settings.allow_check_auth_failure:
                raise
            self.warn(f"{error.answer}: uploading without the check (--allow-check-auth-failure)")
            self.check_root = None
            return None
        return listings

    def fetch_listings_concurrently(self, projects: Sequence[NormalizedName]) -> dict[NormalizedName, ProjectListing]:
        """One request per project, several at once; the first error in project order is raised."""
        if len(projects) == 1:
            return {projects[0]: self.fetch_listing(projects[0])}
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(8, len(projects)), thread_name_prefix="check") as pool:
            futures = [pool.submit(self.fetch_listing, project) for project in projects]
        return {project: future.result() for project, future in zip(projects, futures)}

    def fetch_listing(self, project: NormalizedName) -> ProjectListing:
        assert self.check_root is not None
        return fetch_project_listing(self.session, self.check_root, project, timeout=self.settings.timeout)

    def verify(self, planned: PlannedFile) -> PlannedFile:
        """Settle a file the index lists without a sha256: hash locally with its algorithm, or download."""
        if planned.remote is None:
            return planned
        if planned.decision is Decision.VERIFY_WITH_ALGORITHM:
            local = digest_file(planned.dist.path, planned.algorithm)
            return compare_digest(planned.dist, planned.remote, planned.algorithm, local)
        if planned.decision is Decision.VERIFY_BY_DOWNLOAD:
            remote_sha256 = download_digest(
                self.session, planned.remote, "sha256", timeout=self.settings.timeout, check_root=self.check_root
            )
            return compare_downloaded(planned.dist, planned.remote, remote_sha256)
        return planned

    # -- upload --------------------------------------------------------------

    def check(self, distributions: Sequence[Distribution]) -> list[PlannedFile]:
        """Plan every file; a file link that refuses us counts as a check-URL refusal too."""
        listings = self.fetch_listings(distributions)
        try:
            return [self.verify(planned) for planned in plan_uploads(distributions, listings)]
        except CheckUrlAuthError as error:
            if not self.settings.allow_check_auth_failure:
                raise
            self.warn(f"{error.answer}: uploading without the check (--allow-check-auth-failure)")
            self.check_root = None
            return plan_uploads(distributions, None)

    def publish(self, distributions: Sequence[Distribution]) -> None:
        plan = self.check(distributions)
        self.report.files = [self._reports[planned.dist.filename] for planned in plan]
        conflicts = [planned for planned in plan if planned.decision is Decision.CONFLICT]
        if conflicts:
            for planned in plan:
                if planned.decision in (Decision.CONFLICT, Decision.SKIP):
                    action = Action.CONFLICT if planned.decision is Decision.CONFLICT else Action.SKIPPED
                    self.mark(planned.dist, action, planned.reason)
            raise conflict_error(conflicts, before_upload=True)
        self.reporter.phase("Upload")
        to_upload = [planned for planned in plan if planned.decision is not Decision.SKIP]
        if to_upload and not self.settings.dry_run and self.settings.use_trusted_publishing:
            self.minter = TokenMinter(
                self.session, self.settings.publish_url, self.settings.ci_identity, timeout=self.settings.timeout
            )
        uploads = []
        for planned in plan:
            if planned.decision is Decision.SKIP:
                self.mark(planned.dist, Action.SKIPPED, planned.reason)
            elif self.settings.dry_run:
                self.mark(planned.dist, Action.WOULD_UPLOAD, planned.reason)
            else:
                uploads.append(planned.dist)
        self.reporter.uploads_starting(len(uploads), sum(dist.size for dist in uploads))
        if self.settings.jobs <= 1:
            for dist in uploads:
                self.upload(dist)
        else:
            self.upload_in_parallel(uploads)

    def upload_in_parallel(self, uploads: Sequence[Distribution]) -> None:
        """``--jobs N``: up to N uploads at once over one connection pool, each sdist after the
        wheels of its release. A failure stops new uploads; those in flight finish (and are
        reported), and so do they on Ctrl-C/SIGTERM."""
        from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

        waits_for = upload_dependencies(uploads)
        pending = list(uploads)
        running: dict[Future, Distribution] = {}
        succeeded: set[str] = set()
        first_error: Optional[PubtoolError] = None
        pool = ThreadPoolExecutor(max_workers=self.settings.jobs, thread_name_prefix="upload")
        try:
            while pending or running:
                if first_error is None:
                    for dist in list(pending):
                        if len(running) >= self.settings.jobs:
                            break
                        if waits_for[dist.filename] <= succeeded:
                            pending.remove(dist)
                            running[pool.submit(self.upload, dist)] = dist
                if not running:
                    break
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    dist = running.pop(future)
                    try:
                        future.result()
                        succeeded.add(dist.filename)
                    except PubtoolError as error:
                        first_error = first_error or error
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        if first_error is not None:
            raise first_error

    def upload(self, dist: Distribution) -> None:
        from publisher.upload import UploadStatus, upload_file

        if self.minter is not None:  # a fresh token before the current one runs out
            with self._lock:
                self.auth.replace(self.settings.publish_url, self.minter.credentials(), Purpose.UPLOAD)
        self.reporter.upload_started(dist.filename, dist.size)
        self.in_flight.add(dist.filename)
        started = time.monotonic()
        try:
            result = upload_file(
                self.session,
                self.settings.publish_url,
                dist,
                timeout=self.settings.timeout,
                retries=self.settings.retries,
                on_progress=lambda sent: self.reporter.upload_progress(dist.filename, sent),
                landed_meanwhile=lambda: self.landed_meanwhile(dist),
                with_attestations=self.settings.attestations,
            )
        except NetworkError as error:
            self.mark(dist, Action.FAILED, error.message, time.monotonic() - started)
            raise
        seconds = time.monotonic() - started
        if result.status is UploadStatus.UPLOADED:
            self.mark(dist, Action.UPLOADED, None, seconds)
            return
        if result.status is UploadStatus.LANDED_EARLIER:
            self.mark(dist, Action.SKIPPED, "an attempt that failed had reached the index (same sha256)", seconds)
            return
        if result.status is UploadStatus.IDENTICAL_EXISTS:
            self.mark(dist, Action.SKIPPED, f"already on the index (the index says: {result.message})", seconds)
            return
        self.reconcile(dist, result.http_status, result.message, seconds)

    def landed_meanwhile(self, dist: Distribution) -> Optional[bool]:
        """After a failed attempt: is the file on the index now? None: cannot tell (no check URL)."""
        if self.check_root is None:
            return None
        try:
            planned = self.verify(plan_file(dist, self.fetch_listing(dist.project)))
        except NetworkError as error:
            msg = f"{error.message}; whether {dist.filename} landed is unknown: it may or may not be on the index"
            raise NetworkError(msg, hint="run the same command again once the index answers: files already on it are skipped") from error
        if planned.decision is Decision.CONFLICT:
            self.mark(dist, Action.CONFLICT, planned.reason)
            raise conflict_error([planned], before_upload=False)
        return planned.decision is Decision.SKIP

    def reconcile(self, dist: Distribution, status: int, message: str, seconds: float) -> None:
        """The index says the file exists (SPEC step 6): verify against the check URL, or obey --skip-existing."""
        if self.check_root is not None:
            listing = self.fetch_listing(dist.project)
            planned = self.verify(plan_file(dist, listing))
            if planned.decision is Decision.SKIP:
                self.mark(dist, Action.SKIPPED, "already on the index (an earlier attempt landed)", seconds)
                return
            if planned.decision is Decision.CONFLICT:
                self.mark(dist, Action.CONFLICT, planned.reason, seconds)
                raise conflict_error([planned], before_upload=False)
            # Listed as existing by the upload endpoint but not by the check URL.
        if self.settings.skip_existing:
            unverified = "" if self.check_root else ", content not verified"
            if not self.check_root:
                self.warn(f"{dist.filename} already exists on the index: skipped without comparing its content")
            self.mark(dist, Action.SKIPPED, f"already exists (HTTP {status}){unverified}", seconds)
            return
        msg = f"{dist.filename} already exists on the index (HTTP {status}: {message})"
        self.mark(dist, Action.FAILED, msg, seconds)
        if self.check_root is not None:
            hint = "the check URL does not list it; check that --check-url is the simple index of this upload URL"
        else:
            hint = "pass --check-url to verify the existing file and skip it, or --skip-existing to skip it unverified"
        raise AlreadyExistsError(msg, hint=hint)

    # -- bookkeeping ---------------------------------------------------------

    def report_for(self, dist: Distribution) -> FileReport:
        return self._reports[dist.filename]

    def mark(self, dist: Distribution, action: Action, reason: Optional[str], seconds: Optional[float] = None) -> None:
        item = self.report_for(dist)
        item.action = action
        item.reason = reason
        item.seconds = seconds
        if action in (Action.UPLOADED, Action.SKIPPED, Action.WOULD_UPLOAD, Action.FAILED):
            self.reporter.upload_finished(item)

    def warn(self, message: str) -> None:
        self.report.warnings.append(message)
        self.reporter.warning(message)


def conflict_error(conflicts: Sequence[PlannedFile], *, before_upload: bool) -> ConflictError:
    names = ", ".join(planned.dist.filename for planned in conflicts)
    tail = "; nothing was uploaded" if before_upload else ""
    noun = "file differs" if len(conflicts) == 1 else "files differ"
    msg = f"{len(conflicts)} {noun} from the one already on the index: {names}{tail}"
    details = [(planned.dist.filename, planned.reason) for planned in conflicts]
    hint = "a published file can never be replaced: bump the version (or upload exactly the published file)"
    return ConflictError(msg, hint=hint, details=details)


def run(settings: Settings, reporter: Reporter) -> Report:
    """Publish ``settings.paths``; return the Report (its ``error`` is set on failure)."""
    report = Report(
        publish_url=redact(settings.publish_url),
        check_url=redact(settings.check_url) if settings.check_url else None,
        dry_run=settings.dry_run,
    )
    publisher: Optional[Publisher] = None
    try:
        distributions = prepare_distributions(settings.paths, reporter, report, attestations=settings.attestations)
        publisher = Publisher(settings, reporter, report)
        publisher.publish(distributions)
    except PubtoolError as error:
        report.error = error
    except KeyboardInterrupt:
        report.error = interrupted(report, publisher)
    return report


def interrupted(report: Report, publisher: Optional[Publisher]) -> Interrupted:
    """Ctrl-C or SIGTERM: say exactly which files are on the index and which may be."""
    for item in report.files:
        if publisher is not None and item.filename in publisher.in_flight and item.action is Action.NOT_ATTEMPTED:
            item.action = Action.FAILED
            item.reason = "interrupted during its upload: it may or may not be on the index"
    done = sum(item.action in (Action.UPLOADED, Action.SKIPPED) for item in report.files)
    msg = f"interrupted: {done} of {len(report.files)} files are on the index; the table above says which"
    hint = "run the same command again with --check-url: files already on the index are skipped, not re-sent"
    return Interrupted(msg, hint=hint)
