"""Planning a suite's jobs: one per sample x backend x pipeline, each with a stable key.

The key is a hash of the image bytes, page, pipeline, backend name, version and
options, and language, so the same job has the same key in every run. Jobs that
cannot run are planned too, to be recorded without running: samples whose files
are broken (``problem_type``) and samples in a language the backend cannot read
(``skip_reason``).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import GroundTruthError, ImageReadError, InputError
from harness.hashing import file_sha256
from harness.worker import Task

if TYPE_CHECKING:
    from harness.datasets import Sample
    from harness.suite import BackendEntry, Suite


@dataclass(frozen=True)
class Job:
    """One planned job. ``skip_reason`` or ``problem`` set: it is recorded without running."""

    key: str
    sample: Sample
    backend: BackendEntry
    pipeline: str
    language: str
    skip_reason: str | None = None
    problem_type: str | None = None

    @property
    def runnable(self) -> bool:
        return self.skip_reason is None and self.problem_type is None

    def task(self, *, max_pixels: int | None = None) -> Task:
        return Task(
            image=str(self.sample.image),
            backend=self.backend.spec,
            pipeline=self.pipeline,
            page=self.sample.page,
            language=self.language,
            max_pixels=max_pixels,
        )


def job_key(image_digest: str, page: int, pipeline: str, backend: BackendEntry, language: str) -> str:
    """The stable key of a job: equal inputs give equal keys, in any run."""
    payload = json.dumps(
        {
            "image": image_digest,
            "page": page,
            "pipeline": pipeline,
            "backend": backend.name,
            "version": backend.version,
            "options": backend.resolved_options,
            "language": language,
        },
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def plan_jobs(suite: Suite) -> list[Job]:
    """Every job of the suite, backend by backend, pipeline by pipeline, sample by sample."""
    digests: dict[Path, str] = {}
    jobs = []
    for backend in suite.backends:
        languages = set(backend.backend_class.languages())
        for pipeline in suite.pipelines:
            for entry in suite.datasets:
                for sample in entry.dataset.samples:
                    if sample.image not in digests:
                        digests[sample.image] = _image_digest(sample.image)
                    language = backend.language or sample.language
                    key = job_key(digests[sample.image], sample.page, pipeline, backend, language)
                    jobs.append(
                        Job(
                            key=key,
                            sample=sample,
                            backend=backend,
                            pipeline=pipeline,
                            language=language,
                            skip_reason=None if language in languages else _cannot_read(backend, language),
                            problem_type=_problem_type(sample),
                        )
                    )
    return jobs


def _image_digest(path: Path) -> str:
    try:
        return file_sha256(path)
    except OSError:
        return f"unreadable:{path}"


def _cannot_read(backend: BackendEntry, language: str) -> str:
    from harness.backends import LANGUAGES

    what = (
        f"{LANGUAGES[language]} ({language!r})" if language in LANGUAGES else f"unknown language {language!r}"
    )
    return f"backend {backend.name!r} cannot read {what}"


def _problem_type(sample: Sample) -> str | None:
    """The error class a broken sample's row gets (its files are never handed to an engine)."""
    if not sample.problem:
        return None
    if getattr(sample, "problem_type", None):
        return str(sample.problem_type)
    problem_file = getattr(sample, "problem_file", None)
    if problem_file is not None and Path(problem_file) == Path(sample.image):
        return ImageReadError.__name__
    if problem_file is not None:
        return GroundTruthError.__name__
    return InputError.__name__


def skip_warning(jobs: Iterable[Job]) -> str | None:
    """One line announcing the skipped jobs and why, or None."""
    reasons = Counter(job.skip_reason for job in jobs if job.skip_reason and job.problem_type is None)
    if not reasons:
        return None
    total = sum(reasons.values())
    details = "; ".join(
        f"{reason} ({count} job{'s' if count != 1 else ''})" for reason, count in reasons.items()
    )
    return f"warning: {total} job{'s' if total != 1 else ''} will be skipped, not run: {details}"
