"""Facts about a run for report.html: its header, failed jobs, and jobs not run."""

from __future__ import annotations

from typing import Any

from harness.run_folder import RunData
from harness.stats import finite_or_none

#: Samples named per reason in the "Not run" table.
NOT_RUN_NAMES = 12


def failures(run: RunData) -> list[dict[str, Any]]:
    """Jobs that ran and failed, one row each."""
    failed = run.samples[run.samples["status"] == "error"]
    return [
        {
            "sample_id": row["sample_id"],
            "dataset": row["dataset"],
            "page": row["page"],
            "image": row.get("image", ""),
            "backend": row["backend"],
            "pipeline": row["pipeline"],
            "error_type": row.get("error_type", ""),
            "error_message": row.get("error_message", ""),
        }
        for _, row in failed.head(1000).iterrows()
    ]


def not_run(run: RunData) -> list[dict[str, Any]]:
    """Jobs skipped before the run (e.g. a language the backend cannot read), one row per reason."""
    skipped = run.samples[run.samples["status"] == "skipped"]
    reasons = []
    for (backend, error_type, message), rows in skipped.groupby(
        ["backend", "error_type", "error_message"], sort=False
    ):
        pages = rows.drop_duplicates(["dataset", "sample_id", "page"])
        names = [
            f"{row['sample_id']} p{int(row['page']) + 1}" if int(row["page"]) else str(row["sample_id"])
            for _, row in pages.iterrows()
        ]
        reasons.append(
            {
                "backend": backend,
                "error_type": error_type,
                "error_message": message,
                "jobs": len(rows),
                "pipelines": list(dict.fromkeys(rows["pipeline"])),
                "samples": names[:NOT_RUN_NAMES],
                "more_samples": max(0, len(names) - NOT_RUN_NAMES),
            }
        )
    return reasons


def meta(run: RunData) -> dict[str, Any]:
    info = run.info
    harness, normalisation, environment = info.harness, info.normalisation, info.environment
    return {
        "suite": info.suite or run.name,
        "folder": run.name,
        "started": _timestamp(info.started),
        "finished": _timestamp(info.finished),
        "harness": " ".join(
            str(v) for v in (harness.get("version"), str(harness.get("commit") or "")[:12]) if v
        )
        + (" (uncommitted changes)" if harness.get("dirty") else ""),
        "normalisation": normalisation.get("id") or normalisation.get("name") or "",
        "failure_policy": info.failure_policy or "",
        "environment": {k: v for k, v in environment.items() if not isinstance(v, dict)},
        "thread_env": environment.get("env") if isinstance(environment.get("env"), dict) else {},
        "backends": {label: facts.model_dump(exclude_none=True) for label, facts in info.backends.items()},
        "datasets": {name: facts.model_dump(exclude_none=True) for name, facts in info.datasets.items()},
        "groups": len(run.groups()),
        "samples": int(run.samples[["dataset", "sample_id"]].drop_duplicates().shape[0]),
        "pages": int(run.samples[["dataset", "sample_id", "page"]].drop_duplicates().shape[0]),
        "jobs": int((run.samples["status"] != "skipped").sum()),
        "not_run": int((run.samples["status"] == "skipped").sum()),
    }


def _timestamp(value: Any) -> str:
    from datetime import UTC, datetime

    number = finite_or_none(value)
    if number is not None:
        return datetime.fromtimestamp(number, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return str(value or "")
