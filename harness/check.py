"""The CI gate: thresholds on a run folder, and regressions against a baseline.

Thresholds come from three places, the first that sets a key wins: the command
line (every group), the backend's ``thresholds`` in the suite (that backend's
groups), and the suite's ``[check]`` table (every group). run.json holds the
resolved suite, so a run folder carries its own thresholds.

Accuracy thresholds use the group's micro CER/WER. A group with truncated output
(not comparable) or without any scored page fails its accuracy checks: a gate must
not pass on figures that mean nothing. Against a baseline run folder, an accuracy
regression counts only when it is larger than allowed *and* its paired bootstrap
interval excludes zero; a baseline given only as a summary CSV has no pages to
pair, so point estimates are compared and the message says so. Speed is compared
as a ratio of pages per second. Baseline checks without a baseline, and groups the
baseline lacks, are reported as skipped.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from harness.errors import ConfigError
from harness.stats import finite_or_none

if TYPE_CHECKING:
    import pandas as pd

    from harness.report.run_data import RunData

Status = Literal["pass", "fail", "skip"]

_QUANTITY = re.compile(r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(%|pp)?\s*$")


def parse_quantity(value: Any, *, key: str) -> float:
    """A rate or ratio as a fraction: ``0.05``, ``"5%"`` and ``"5pp"`` are all 0.05.

    ``pp`` (percentage points) is the natural unit of a CER increase; ``%`` of a slowdown.
    Raises ConfigError naming ``key``.
    """
    try:
        return _quantity(value)
    except ValueError as error:
        raise ConfigError(f"{key}: {error}") from None


def _quantity(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"expected a number such as 0.02, '2%' or '0.5pp', got {value!r}")
    if isinstance(value, int | float):
        number = float(value)
    else:
        match = _QUANTITY.match(str(value))
        if not match:
            raise ValueError(
                f"cannot read {value!r} as a number: write a fraction (0.02), a percentage ('2%') "
                "or percentage points ('0.5pp')"
            )
        number = float(match.group(1)) / (100 if match.group(2) else 1)
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"must be a non-negative number, got {value!r}")
    return number


def _optional_quantity(value: Any) -> float | None:
    return None if value is None else _quantity(value)  # a ValueError: pydantic adds the key path


#: A rate or ratio limit as written in a suite: 0.05, "5%" or "5pp".
Quantity = Annotated[float | None, BeforeValidator(_optional_quantity)]


class Thresholds(BaseModel):
    """Limits on a group's results: a backend's ``thresholds`` in the suite, and part of ``[check]``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_cer: Quantity = Field(None, description="highest micro CER allowed (0.05, '5%')")
    max_wer: Quantity = Field(None, description="highest micro WER allowed")
    min_pages_per_s: float | None = Field(None, gt=0, description="lowest throughput allowed")
    max_failed: int | None = Field(None, ge=0, description="most failed jobs allowed per group")
    max_cer_increase: Quantity = Field(None, description="largest CER rise over the baseline ('0.5pp')")
    max_wer_increase: Quantity = Field(None, description="largest WER rise over the baseline")
    max_slowdown: Quantity = Field(None, description="largest drop in pages/s against the baseline ('10%')")


class CheckConfig(Thresholds):
    """The suite's ``[check]`` table (also the shape of command-line thresholds)."""

    baseline: str | None = Field(None, description="run folder or summary.csv to compare with")


@dataclass(frozen=True)
class Limits:
    """The thresholds that apply to one group (None: not checked)."""

    max_cer: float | None = None
    max_wer: float | None = None
    min_pages_per_s: float | None = None
    max_failed: int | None = None
    max_cer_increase: float | None = None
    max_wer_increase: float | None = None
    max_slowdown: float | None = None

    def merged_over(self, other: Limits) -> Limits:
        """These limits, falling back to ``other`` for keys not set here."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return Limits(**{k: v if v is not None else getattr(other, k) for k, v in values.items()})

    @classmethod
    def of(cls, data: dict[str, Any] | BaseModel | None) -> Limits:
        if data is None:
            return cls()
        values = data.model_dump() if isinstance(data, BaseModel) else dict(data)
        return cls(**{f.name: values.get(f.name) for f in fields(cls)})

    def any(self) -> bool:
        return any(getattr(self, f.name) is not None for f in fields(self))


@dataclass(frozen=True)
class CheckResult:
    """One check of one group: what was measured, against what, and the verdict."""

    backend: str
    pipeline: str
    name: str
    status: Status
    message: str

    @property
    def group(self) -> str:
        return f"{self.backend} · {self.pipeline}"


@dataclass
class Baseline:
    """What a run is checked against: a run folder (pages to pair) or a summary CSV."""

    path: Path
    summary: pd.DataFrame
    run: RunData | None = None
    notes: list[str] = field(default_factory=list)


def load_baseline(path: str | Path) -> Baseline:
    from harness.errors import InputError
    from harness.report.run_data import load_run, read_table

    path = Path(path)
    if path.is_dir():
        run = load_run(path)
        return Baseline(path, run.summary, run)
    if path.is_file():
        summary = read_table(path)
        missing = {"backend", "pipeline"} - set(summary.columns)
        if missing:
            raise InputError(f"{path}: not a summary.csv (no {', '.join(sorted(missing))} column)")
        return Baseline(path, summary)
    raise InputError(f"{path}: no such baseline run folder or summary CSV")


def suite_limits(info: dict[str, Any]) -> tuple[Limits, dict[str, Limits], str | None]:
    """From run.json: the ``[check]`` limits, per-backend limits, and the baseline path if set."""
    config = info.get("config") or {}
    raw_check = config.get("check") or {}
    try:
        check = CheckConfig.model_validate(raw_check)
    except ValueError as error:  # pydantic's ValidationError: a run folder from another version
        raise ConfigError(f"run.json config.check: {error}") from None
    baseline = check.baseline
    if baseline and config.get("source") and not Path(baseline).is_absolute():
        baseline = str(Path(config["source"]).parent / baseline)  # relative to the suite file
    per_backend: dict[str, Limits] = {}
    for backend in config.get("backends") or []:
        if not isinstance(backend, dict) or not backend.get("thresholds"):
            continue
        thresholds = Thresholds.model_validate(
            {k: v for k, v in backend["thresholds"].items() if v is not None}
        )
        per_backend[str(backend.get("label") or backend.get("name"))] = Limits.of(thresholds)
    return Limits.of(check), per_backend, baseline


def run_checks(
    run: RunData,
    *,
    cli: Limits | None = None,
    baseline: Baseline | None = None,
    backends: list[str] | None = None,
    seed: int = 0,
) -> list[CheckResult]:
    """Every check that applies to every selected group, in summary order."""
    suite_check, per_backend, _ = suite_limits(run.info)
    cli = cli or Limits()
    summary = run.summary
    if backends:
        unknown = sorted(set(backends) - set(summary["backend"]))
        if unknown:
            raise ConfigError(
                f"{run.path}: no backend {', '.join(map(repr, unknown))} in this run; "
                f"backends: {', '.join(sorted(set(summary['backend'])))}"
            )
        summary = summary[summary["backend"].isin(backends)]
    results: list[CheckResult] = []
    any_limits = False
    for _, row in summary.iterrows():
        backend = str(row["backend"])
        limits = cli.merged_over(per_backend.get(backend, Limits())).merged_over(suite_check)
        any_limits = any_limits or limits.any()
        results += _group_checks(run, row, limits, baseline, seed)
    if not any_limits:
        raise ConfigError(
            "no thresholds to check: the run's suite sets none and none were given",
            fix="pass e.g. --max-cer 5% or --baseline RUN --max-cer-increase 0.5pp, or add a [check] table",
        )
    return results


def _group_checks(
    run: RunData, row: pd.Series, limits: Limits, baseline: Baseline | None, seed: int
) -> list[CheckResult]:
    backend, pipeline = str(row["backend"]), str(row["pipeline"])
    results: list[CheckResult] = []

    def add(name: str, status: Status, message: str) -> None:
        results.append(CheckResult(backend, pipeline, name, status, message))

    accuracy_problem = _accuracy_problem(row)
    for name, column, unit in (("max_cer", "micro_cer", "CER"), ("max_wer", "micro_wer", "WER")):
        limit = getattr(limits, name)
        if limit is None:
            continue
        if accuracy_problem:
            add(name, "fail", f"{unit} cannot be checked: {accuracy_problem}")
            continue
        value = finite_or_none(row.get(column))
        if value is None:
            add(name, "fail", f"{unit} is missing from summary.csv")
            continue
        interval = _interval(row, column)
        ok = value <= limit
        add(name, "pass" if ok else "fail",
            f"{unit} {_pct(value)}{interval} {'≤' if ok else '>'} max {_pct(limit)}")  # fmt: skip
    if limits.min_pages_per_s is not None:
        value = finite_or_none(row.get("pages_per_s"))
        if value is None:
            add("min_pages_per_s", "fail", "pages/s is missing from summary.csv")
        else:
            ok = value >= limits.min_pages_per_s
            add("min_pages_per_s", "pass" if ok else "fail",
                f"{value:.3g} pages/s {'≥' if ok else '<'} min {limits.min_pages_per_s:.3g}")  # fmt: skip
    if limits.max_failed is not None:
        failed = int(finite_or_none(row.get("failed")) or 0)
        ok = failed <= limits.max_failed
        failures = str(row.get("failures") or "").strip()
        detail = f" ({failures})" if failures not in ("", "{}") else ""
        add("max_failed", "pass" if ok else "fail",
            f"{failed} failed job(s){detail} {'≤' if ok else '>'} max {limits.max_failed}")  # fmt: skip
    wants_baseline = any(
        v is not None for v in (limits.max_cer_increase, limits.max_wer_increase, limits.max_slowdown)
    )
    if not wants_baseline:
        return results
    if baseline is None:
        # Suites set these for CI, where a baseline is given; a local check without one skips them, visibly.
        for name in ("max_cer_increase", "max_wer_increase", "max_slowdown"):
            if getattr(limits, name) is not None:
                add(
                    name,
                    "skip",
                    "no baseline given (--baseline RUN_OR_SUMMARY_CSV, or check.baseline in the suite)",
                )
        return results
    base_rows = baseline.summary[
        (baseline.summary["backend"] == backend) & (baseline.summary["pipeline"] == pipeline)
    ]
    if base_rows.empty:
        for name in ("max_cer_increase", "max_wer_increase", "max_slowdown"):
            if getattr(limits, name) is not None:
                add(name, "skip", f"the baseline {baseline.path} has no {backend} · {pipeline} group")
        return results
    base = base_rows.iloc[0]
    paired = None
    if baseline.run is not None and (
        limits.max_cer_increase is not None or limits.max_wer_increase is not None
    ):
        from harness.compare import compare_groups, group_rows

        group = (backend, pipeline)
        paired = compare_groups(
            group_rows(baseline.run.samples, group), group_rows(run.samples, group), group, group,
            seed=seed, details=False,
        )  # fmt: skip
    for name, column, unit in (
        ("max_cer_increase", "micro_cer", "CER"),
        ("max_wer_increase", "micro_wer", "WER"),
    ):
        limit = getattr(limits, name)
        if limit is None:
            continue
        problem = accuracy_problem or (
            f"baseline: {_accuracy_problem(base)}" if _accuracy_problem(base) else None
        )
        if problem:
            add(name, "fail", f"{unit} cannot be compared with the baseline: {problem}")
            continue
        if paired is not None:
            diff = paired.cer if unit == "CER" else paired.wer
            if diff is None or paired.pairs == 0:
                add(name, "fail", f"no page was scored in both this run and the baseline {baseline.path}")
                continue
            regressed = diff.diff > limit and diff.low > 0
            span = f"{_pp(diff.diff)} [{_pp(diff.low)}, {_pp(diff.high)}] over {paired.pairs} paired pages"
            if regressed:
                message = (
                    f"{unit} rose {span} vs baseline: more than the allowed {_pp(limit)} and significant"
                )
            elif diff.diff > limit:
                message = (
                    f"{unit} changed {span} vs baseline: above the allowed {_pp(limit)} "
                    "but not significant (the interval includes 0)"
                )
            else:
                message = f"{unit} changed {span} vs baseline, allowed {_pp(limit)}"
            add(name, "fail" if regressed else "pass", message)
            continue
        value, base_value = finite_or_none(row.get(column)), finite_or_none(base.get(column))
        if value is None or base_value is None:
            add(name, "fail", f"{unit} is missing from summary.csv of the run or the baseline")
            continue
        rise = value - base_value
        ok = rise <= limit
        add(name, "pass" if ok else "fail",
            f"{unit} {_pct(base_value)} → {_pct(value)} ({_pp(rise)}) vs baseline, allowed {_pp(limit)}; "
            "point estimates only: the baseline is a summary CSV without pages to pair")  # fmt: skip
    if limits.max_slowdown is not None:
        value, base_value = finite_or_none(row.get("pages_per_s")), finite_or_none(base.get("pages_per_s"))
        if not value or not base_value:
            add("max_slowdown", "fail", "pages/s is missing or zero in the run or the baseline")
        else:
            ratio = value / base_value
            slowdown = 1 - ratio
            ok = slowdown <= limits.max_slowdown
            if abs(slowdown) < 0.0005:
                change = "the same speed"
            else:
                change = f"{slowdown * 100:.1f}% slower" if slowdown > 0 else f"{-slowdown * 100:.1f}% faster"
            add("max_slowdown", "pass" if ok else "fail",
                f"{value:.3g} pages/s vs baseline {base_value:.3g}: {ratio:.2f}x ({change}), "
                f"allowed {limits.max_slowdown * 100:.1f}% slower")  # fmt: skip
    return results


def _accuracy_problem(row: Any) -> str | None:
    comparable = row.get("comparable", True)
    if isinstance(comparable, str):
        comparable = comparable.strip().lower() in ("true", "1")
    if not comparable:
        return "not comparable (the engine returned truncated output, e.g. an evaluation licence)"
    scored = finite_or_none(row.get("scored"))
    if scored is not None and scored == 0:
        return "no scored pages (every job failed or had no ground truth)"
    return None


def _interval(row: Any, column: str) -> str:
    low, high = finite_or_none(row.get(f"{column}_low")), finite_or_none(row.get(f"{column}_high"))
    return f" [{_pct(low)}, {_pct(high)}]" if low is not None and high is not None else ""


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.2f}%"


def _pp(value: float) -> str:
    return f"{value * 100:+.2f}pp"


def summarise(results: list[CheckResult]) -> str:
    failed = sum(r.status == "fail" for r in results)
    skipped = sum(r.status == "skip" for r in results)
    verdict = "FAILED" if failed else "passed"
    extra = f", {skipped} skipped" if skipped else ""
    return f"check {verdict}: {failed} of {len(results)} checks failed{extra}"


def format_results(results: list[CheckResult]) -> str:
    width = max((len(r.group) for r in results), default=0)
    lines = [f"{r.status.upper():4}  {r.group.ljust(width)}  {r.name}: {r.message}" for r in results]
    return "\n".join(lines + [summarise(results)])
