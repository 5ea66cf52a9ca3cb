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
as a ratio of pages per second; after several timing rounds a slowdown fails only
when it holds across rounds (this run's fastest round against the baseline's
slowest). Groups pair with the baseline's by what they run (:mod:`harness.drift`:
backend name and pipeline steps with parameters, never a label); any other
difference in a pair's configuration fails the ``config`` check unless
``allow_config_change``. Baseline checks without a baseline, and groups the
baseline lacks, are reported as skipped.

Each threshold is one ``check_*`` function of a :class:`Group`; the limits'
schema lives in :mod:`harness.thresholds`, which the suite imports without this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from harness.errors import ConfigError
from harness.run_folder import RunInfo
from harness.stats import finite_or_none
from harness.thresholds import BASELINE_LIMITS, CheckConfig, Thresholds

if TYPE_CHECKING:
    import pandas as pd

    from harness.compare import GroupComparison
    from harness.run_folder import RunData

Status = Literal["pass", "fail", "skip"]
RATES = {
    "cer": ("micro_cer", "CER"),
    "wer": ("micro_wer", "WER"),
    "cer_unordered": ("cer_unordered", "CER unordered"),
    "bow_wer": ("bow_wer", "BoW WER"),
}


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

    @property
    def info(self) -> RunInfo | None:
        return self.run.info if self.run is not None else None


def load_baseline(path: str | Path) -> Baseline:
    from harness.errors import InputError
    from harness.run_folder import load_run, read_table

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


def suite_limits(info: RunInfo | dict[str, Any]) -> tuple[Thresholds, dict[str, Thresholds], str | None]:
    """From run.json: the ``[check]`` limits, per-backend limits, and the baseline path if set."""
    info = RunInfo.of(info)
    try:
        check = CheckConfig.model_validate(info.config.check or {})
    except ValueError as error:  # pydantic's ValidationError: a run folder from another version
        raise ConfigError(f"run.json config.check: {error}") from None
    baseline = check.baseline
    if baseline and info.suite_file and not Path(baseline).is_absolute():
        baseline = str(info.suite_file.parent / baseline)  # relative to the suite file
    per_backend = {
        backend.report_name: Thresholds.limits_of(backend.thresholds)
        for backend in info.config.backends
        if backend.thresholds
    }
    return Thresholds.limits_of(check), per_backend, baseline


def run_checks(
    run: RunData,
    *,
    cli: Thresholds | None = None,
    baseline: Baseline | None = None,
    backends: list[str] | None = None,
    seed: int = 0,
    allow_config_change: bool = False,
) -> list[CheckResult]:
    """Every check that applies to every selected group, in summary order.

    ``allow_config_change`` turns configuration differences from the baseline into
    passes (still listed) instead of failures.
    """
    suite_check, per_backend, _ = suite_limits(run.info)
    cli = cli or Thresholds()
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
    counterparts = baseline_counterparts(run, baseline)
    for _, row in summary.iterrows():
        backend = str(row["backend"])
        limits = cli.merged_over(per_backend.get(backend, Thresholds())).merged_over(suite_check)
        any_limits = any_limits or limits.any()
        group = Group(run, row, limits, baseline, seed, allow_config_change)
        group.base_group = counterparts.get((backend, str(row["pipeline"])))
        results += group_checks(group)
    if not any_limits:
        raise ConfigError(
            "no thresholds to check: the run's suite sets none and none were given",
            fix="pass e.g. --max-cer 5% or --baseline RUN --max-cer-increase 0.5pp, or add a [check] table",
        )
    return results


@dataclass
class Group:
    """One backend x pipeline row of a run, with the limits and baseline it is checked against."""

    run: RunData
    row: pd.Series
    limits: Thresholds
    baseline: Baseline | None
    seed: int = 0
    allow_config_change: bool = False
    #: the baseline's group this one pairs with (harness.drift), None when it has none
    base_group: tuple[str, str] | None = None

    @property
    def backend(self) -> str:
        return str(self.row["backend"])

    @property
    def pipeline(self) -> str:
        return str(self.row["pipeline"])

    def result(self, name: str, status: Status, message: str) -> CheckResult:
        return CheckResult(self.backend, self.pipeline, name, status, message)

    def base_row(self) -> pd.Series | None:
        """The baseline's row of this group, if it has one."""
        if self.baseline is None or self.base_group is None:
            return None
        summary = self.baseline.summary
        backend, pipeline = self.base_group
        rows = summary[(summary["backend"] == backend) & (summary["pipeline"] == pipeline)]
        return None if rows.empty else rows.iloc[0]

    def paired(self) -> GroupComparison | None:
        """Paired figures over the pages this run and a baseline run folder share (None for a summary CSV)."""
        if self.baseline is None or self.baseline.run is None:
            return None
        from harness.compare import group_figures, group_rows, pair_pages

        group = (self.backend, self.pipeline)
        base_group = self.base_group or group
        pages = pair_pages(
            group_rows(self.baseline.run.samples, base_group), group_rows(self.run.samples, group)
        )
        return group_figures(pages, base_group, group, seed=self.seed)


def baseline_counterparts(run: RunData, baseline: Baseline | None) -> dict[tuple[str, str], tuple[str, str]]:
    """Each group of the run -> the baseline group running the same backend and pipeline."""
    if baseline is None:
        return {}
    from harness.drift import pair_by_identity
    from harness.plugins import get_registry

    pairs, _, _ = pair_by_identity(
        _groups_of(baseline.summary),
        baseline.info,
        _groups_of(run.summary),
        run.info,
        steps=get_registry().steps(),
    )
    return {group: base_group for base_group, group in pairs}


def _groups_of(summary: pd.DataFrame) -> list[tuple[str, str]]:
    return list(
        dict.fromkeys(zip(summary["backend"].astype(str), summary["pipeline"].astype(str), strict=False))
    )


def group_checks(group: Group) -> list[CheckResult]:
    """Every check the group's limits ask for, in a fixed order."""
    limits = group.limits
    results = [check_max_rate(group, rate) for rate in RATES if getattr(limits, f"max_{rate}") is not None]
    if limits.min_pages_per_s is not None:
        results.append(check_min_pages_per_s(group))
    if limits.max_failed is not None:
        results.append(check_max_failed(group))
    if not limits.wants_baseline():
        return results
    wanted = [name for name in BASELINE_LIMITS if getattr(limits, name) is not None]
    if group.baseline is None:
        # Suites set these for CI, where a baseline is given; a local check without one skips them, visibly.
        reason = "no baseline given (--baseline RUN_OR_SUMMARY_CSV, or check.baseline in the suite)"
        return results + [group.result(name, "skip", reason) for name in wanted]
    base = group.base_row()
    if base is None:
        reason = (
            f"the baseline {group.baseline.path} has no group running the same backend and pipeline as "
            f"{group.backend} · {group.pipeline}"
        )
        return results + [group.result(name, "skip", reason) for name in wanted]
    results.append(check_config(group))
    paired = (
        group.paired() if limits.max_cer_increase is not None or limits.max_wer_increase is not None else None
    )
    for rate in ("cer", "wer"):
        if getattr(limits, f"max_{rate}_increase") is not None:
            results.append(check_rate_increase(group, rate, base, paired))
    if limits.max_slowdown is not None:
        results.append(check_max_slowdown(group, base))
    return results


def check_max_rate(group: Group, rate: str) -> CheckResult:
    """``max_cer`` / ``max_wer``: the group's micro rate, with its interval, against the limit."""
    name, (column, unit) = f"max_{rate}", RATES[rate]
    limit: float = getattr(group.limits, name)
    problem = _accuracy_problem(group.row)
    if problem:
        return group.result(name, "fail", f"{unit} cannot be checked: {problem}")
    value = finite_or_none(group.row.get(column))
    if value is None:
        return group.result(name, "fail", f"{unit} is missing from summary.csv")
    ok = value <= limit
    interval = _interval(group.row, column)
    return group.result(name, "pass" if ok else "fail",
                        f"{unit} {_pct(value)}{interval} {'≤' if ok else '>'} max {_pct(limit)}")  # fmt: skip


def check_min_pages_per_s(group: Group) -> CheckResult:
    limit: float = group.limits.min_pages_per_s  # type: ignore[assignment]
    value = finite_or_none(group.row.get("pages_per_s"))
    if value is None:
        return group.result("min_pages_per_s", "fail", "pages/s is missing from summary.csv")
    ok = value >= limit
    return group.result("min_pages_per_s", "pass" if ok else "fail",
                        f"{value:.3g} pages/s {'≥' if ok else '<'} min {limit:.3g}")  # fmt: skip


def check_max_failed(group: Group) -> CheckResult:
    limit: int = group.limits.max_failed  # type: ignore[assignment]
    failed = int(finite_or_none(group.row.get("failed")) or 0)
    ok = failed <= limit
    failures = str(group.row.get("failures") or "").strip()
    detail = f" ({failures})" if failures not in ("", "{}") else ""
    return group.result("max_failed", "pass" if ok else "fail",
                        f"{failed} failed job(s){detail} {'≤' if ok else '>'} max {limit}")  # fmt: skip


def check_rate_increase(
    group: Group, rate: str, base: pd.Series, paired: GroupComparison | None
) -> CheckResult:
    """``max_cer_increase`` / ``max_wer_increase``: paired against a run folder, else point estimates."""
    name, (column, unit) = f"max_{rate}_increase", RATES[rate]
    limit: float = getattr(group.limits, name)
    base_problem = _accuracy_problem(base)
    problem = _accuracy_problem(group.row) or (f"baseline: {base_problem}" if base_problem else None)
    if problem:
        return group.result(name, "fail", f"{unit} cannot be compared with the baseline: {problem}")
    if paired is not None:
        return _paired_increase(group, name, unit, limit, paired)
    value, base_value = finite_or_none(group.row.get(column)), finite_or_none(base.get(column))
    if value is None or base_value is None:
        return group.result(name, "fail", f"{unit} is missing from summary.csv of the run or the baseline")
    rise = value - base_value
    ok = rise <= limit
    return group.result(name, "pass" if ok else "fail",
        f"{unit} {_pct(base_value)} → {_pct(value)} ({_pp(rise)}) vs baseline, allowed {_pp(limit)}; "
        "point estimates only: the baseline is a summary CSV without pages to pair")  # fmt: skip


def _paired_increase(
    group: Group, name: str, unit: str, limit: float, paired: GroupComparison
) -> CheckResult:
    # A regression counts only when larger than allowed *and* its interval excludes zero.
    diff = paired.cer if unit == "CER" else paired.wer
    if diff is None or paired.pairs == 0:
        assert group.baseline is not None
        return group.result(
            name, "fail", f"no page was scored in both this run and the baseline {group.baseline.path}"
        )
    regressed = diff.diff > limit and diff.low > 0
    span = f"{_pp(diff.diff)} [{_pp(diff.low)}, {_pp(diff.high)}] over {paired.pairs} paired pages"
    if regressed:
        message = f"{unit} rose {span} vs baseline: more than the allowed {_pp(limit)} and significant"
    elif diff.diff > limit:
        message = (
            f"{unit} changed {span} vs baseline: above the allowed {_pp(limit)} "
            "but not significant (the interval includes 0)"
        )
    else:
        message = f"{unit} changed {span} vs baseline, allowed {_pp(limit)}"
    return group.result(name, "fail" if regressed else "pass", message)


def check_config(group: Group) -> CheckResult:
    """``config``: everything but backend and pipeline matches the paired baseline group, key by key."""
    from harness.drift import group_differences, run_differences

    assert group.baseline is not None and group.base_group is not None
    if group.baseline.info is None:
        return group.result(
            "config", "skip", "the baseline is a summary CSV without run.json: configuration not compared"
        )
    found = run_differences(group.baseline.info, group.run.info) + group_differences(
        group.baseline.info, group.base_group, group.run.info, (group.backend, group.pipeline)
    )
    if not found:
        return group.result("config", "pass", "same configuration as the baseline")
    listed = "; ".join(str(difference) for difference in found)
    if group.allow_config_change:
        return group.result("config", "pass", f"differs from the baseline, allowed: {listed}")
    return group.result(
        "config",
        "fail",
        f"differs from the baseline: {listed} (pass --allow-config-change if this is intended)",
    )


def check_max_slowdown(group: Group, base: pd.Series) -> CheckResult:
    """``max_slowdown``: pages/s as a ratio to the baseline's; after several rounds, across rounds.

    The median ratio decides alone after one round. With rounds on both sides a
    slowdown fails only when even this run's fastest round is slower than allowed
    against the baseline's slowest round.
    """
    limit: float = group.limits.max_slowdown  # type: ignore[assignment]
    value, base_value = finite_or_none(group.row.get("pages_per_s")), finite_or_none(base.get("pages_per_s"))
    if not value or not base_value:
        return group.result("max_slowdown", "fail", "pages/s is missing or zero in the run or the baseline")
    ratio = value / base_value
    slowdown = 1 - ratio
    if abs(slowdown) < 0.0005:
        change = "the same speed"
    else:
        change = f"{slowdown * 100:.1f}% slower" if slowdown > 0 else f"{-slowdown * 100:.1f}% faster"
    fastest, base_slowest = _round_bound(group.row, "max"), _round_bound(base, "min")
    if fastest is None or base_slowest is None:
        return group.result("max_slowdown", "pass" if slowdown <= limit else "fail",
                            f"{value:.3g} pages/s vs baseline {base_value:.3g}: {ratio:.2f}x ({change}), "
                            f"allowed {limit * 100:.1f}% slower; single round, no spread")  # fmt: skip
    best_case = 1 - fastest / base_slowest
    failed = slowdown > limit and best_case > limit
    spread = (
        f"{value:.3g} pages/s ({_round_bound(group.row, 'min'):.3g}–{fastest:.3g} over "
        f"{int(group.row['rounds'])} rounds) vs baseline {base_value:.3g} ({base_slowest:.3g}–"
        f"{_round_bound(base, 'max'):.3g}): {ratio:.2f}x ({change}); fastest round vs the baseline's "
        f"slowest {fastest / base_slowest:.2f}x"
    )
    if slowdown > limit and not failed:
        verdict = f"; slower than allowed ({limit * 100:.1f}%) at the median but not in every round"
    else:
        verdict = f", allowed {limit * 100:.1f}% slower"
    return group.result("max_slowdown", "fail" if failed else "pass", spread + verdict)


def _round_bound(row: Any, bound: str) -> float | None:
    """The slowest (``min``) or fastest (``max``) round's pages/s, when the row had several rounds."""
    rounds = finite_or_none(row.get("rounds"))
    if rounds is None or rounds < 2:
        return None
    return finite_or_none(row.get(f"pages_per_s_{bound}"))


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
