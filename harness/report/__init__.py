"""Reports read from run folders: tables, Markdown, HTML and charts.

:func:`write_reports` (re)writes samples.csv, summary.csv, summary.md and, when
the HTML writer is installed, report.html, from the run folder's results.jsonl
and run.json alone, so ``ocr-harness report RUN_DIR`` can redo it at any time.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from harness.errors import OcrHarnessError, ReportError
from harness.files import write_text_atomic
from harness.run_folder import (
    REPORT_FILE,
    RESULTS_FILE,
    SAMPLES_FILE,
    SUMMARY_FILE,
    SUMMARY_MD_FILE,
    iter_run_results,
    read_run_info,
    require_results,
)


@dataclass
class Reports:
    """What write_reports wrote, and the summary table to show in the terminal."""

    run_dir: Path
    files: list[Path] = field(default_factory=list)
    table: str = ""
    notes: list[str] = field(default_factory=list)


def write_reports(run_dir: str | Path, *, html: bool = True, log: TextIO | None = None) -> Reports:
    """Score the stored results and write every report file of the run folder.

    The one place reports are written: the CLI, the pytest plugin and the API
    call it after :func:`harness.runner.run_suite`, and ``ocr-harness report``
    calls it on any run folder.
    """
    from harness.metrics import resolve_profile
    from harness.report.markdown import (
        common_samples_sentence,
        summary_markdown,
        summary_notes,
        summary_table,
    )
    from harness.report.tables import later_rounds_frame, samples_frame, summary_frame, write_csv

    run_dir = require_results(run_dir)
    log = log if log is not None else sys.stderr
    info = read_run_info(run_dir)
    # Profiles are rebuilt by name: scores always follow this version's rules, and say so.
    profile = resolve_profile(info.normalisation_name)
    if info.normalisation_id not in (None, profile.id):
        print(f"note: {run_dir.name} was scored with {info.normalisation_id}; re-scoring with {profile.id}",
              file=log)  # fmt: skip
        info.normalisation = profile.settings()
    policy = info.failure_policy or "exclude"
    backends, pipelines = info.backend_labels, info.pipelines
    samples = samples_frame(iter_run_results(run_dir), profile, backends=backends, pipelines=pipelines)
    summary = summary_frame(
        samples,
        failure_policy=policy,
        backends=backends,
        pipelines=pipelines,
        later_rounds=later_rounds_frame(iter_run_results(run_dir), profile),
    )
    reports = Reports(run_dir)
    lead = common_samples_sentence(summary)
    reports.table = f"{lead}\n\n{summary_table(summary)}" if lead else summary_table(summary)
    reports.notes = summary_notes(summary, info)
    failures: list[str] = []
    # Each file on its own: one that cannot be written never keeps the others from being written.
    parts: list[tuple[str, Callable[[], Path | None]]] = [
        (SAMPLES_FILE, lambda: write_csv(samples, run_dir / SAMPLES_FILE)),
        (SUMMARY_FILE, lambda: write_csv(summary, run_dir / SUMMARY_FILE)),
        (
            SUMMARY_MD_FILE,
            lambda: write_text_atomic(run_dir / SUMMARY_MD_FILE, summary_markdown(summary, info)),
        ),
    ]
    if html:
        parts.append((REPORT_FILE, lambda: _write_html(run_dir)))
    for name, write in parts:
        try:
            written = write()
        except OcrHarnessError as error:
            failures.append(str(error))
        except Exception as error:  # a bug in one reporter: say so, keep the other files
            failures.append(f"{run_dir / name}: not written: {type(error).__name__}: {error}")
            traceback.print_exc(file=log)
        else:
            if written is not None:
                reports.files.append(written)
    if failures:
        raise ReportError(
            "; ".join(failures) + f" (the run's results are complete in {run_dir / RESULTS_FILE})",
            reports=reports,
            fix=f"fix the cause, then rewrite the reports with 'ocr-harness report {run_dir}'",
        )
    return reports


def _write_html(run_dir: Path) -> Path | None:
    try:
        from harness.report.html import write_html_report
    except ModuleNotFoundError as error:
        if error.name == "harness.report.html":  # not installed: CSV and Markdown only
            return None
        raise
    return write_html_report(run_dir)
