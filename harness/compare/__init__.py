"""Comparing runs, or groups within one run, page by page.

Two sides are compared per backend x pipeline group. Samples are matched by
(dataset, sample id, page); only pages scored on both sides with comparable
(untruncated) output enter the accuracy figures. The CER and WER differences come
with a paired bootstrap interval over those pages (:func:`harness.stats.paired_bootstrap`),
so a difference is called significant only when the interval excludes zero.

Groups are paired by what they run (:mod:`harness.drift`): the backend's name and
the pipeline's steps with their parameters, never a display label. A group left
unpaired is paired with the other side's group of the same backend (or the same
pipeline) when that is the only one left, so two runs that differ only in a
preprocessing step compare directly; two runs of one group each are compared
whatever differs between them. Every other difference in a pair's configuration
(backend options, engine version, model hashes, normalisation, dataset
fingerprints) is listed key by key.
Selectors (``backend=...``, ``pipeline=...``) pick the rows of each side, which also
compares two pipelines or two backends within one run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from harness.align import Segment, align, confusions
from harness.drift import Difference, group_differences, group_identity, pair_by_identity, run_differences
from harness.errors import ConfigError
from harness.metrics import error_rate
from harness.run_folder import SAMPLE_KEY, RunData, group_label
from harness.stats import PairedDiff, finite_or_none, paired_bootstrap

SELECTOR_KEYS = ("backend", "pipeline")
#: Samples and confusions listed per direction.
TOP = 5


@dataclass(frozen=True)
class Selector:
    """Which rows of a run form one side: ``backend=...`` and/or ``pipeline=...``."""

    filters: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, items: Sequence[str] | None) -> Selector:
        from harness.pipeline import parse_pipeline

        filters = []
        for item in items or ():
            key, sep, value = item.partition("=")
            key = key.strip()
            if not sep or key not in SELECTOR_KEYS or not value.strip():
                raise ConfigError(
                    f"cannot read selector {item!r}",
                    fix="write backend=NAME or pipeline=PIPELINE, "
                    "e.g. --a pipeline=none --b 'pipeline=binarize'",
                )
            value = value.strip()
            if key == "pipeline":
                value = str(parse_pipeline(value))  # the canonical text samples.csv uses
            filters.append((key, value))
        return cls(tuple(filters))

    def apply(self, frame: pd.DataFrame) -> pd.DataFrame:
        for key, value in self.filters:
            frame = frame[frame[key] == value]
        return frame

    def __str__(self) -> str:
        return ", ".join(f"{key}={value}" for key, value in self.filters) or "all"


@dataclass(frozen=True)
class SampleChange:
    """One page's CER on both sides, with both outputs aligned to its ground truth."""

    dataset: str
    sample_id: str
    page: int
    cer_a: float
    cer_b: float
    segments_a: tuple[Segment, ...] = ()
    segments_b: tuple[Segment, ...] = ()

    @property
    def diff(self) -> float:
        return self.cer_b - self.cer_a


@dataclass(frozen=True)
class ConfusionChange:
    ref: str
    hyp: str
    count_a: int
    count_b: int

    @property
    def delta(self) -> int:
        return self.count_b - self.count_a


@dataclass
class GroupComparison:
    """Side A's group against side B's group over their shared pages."""

    group_a: tuple[str, str]
    group_b: tuple[str, str]
    pairs: int = 0
    only_a: int = 0
    only_b: int = 0
    failed: int = 0
    not_comparable: int = 0
    gt_differs: int = 0
    cer_a: float | None = None
    cer_b: float | None = None
    cer: PairedDiff | None = None
    macro_cer: PairedDiff | None = None
    wer_a: float | None = None
    wer_b: float | None = None
    wer: PairedDiff | None = None
    pages_per_s_a: float | None = None
    pages_per_s_b: float | None = None
    worse: list[SampleChange] = field(default_factory=list)
    better: list[SampleChange] = field(default_factory=list)
    introduced: list[ConfusionChange] = field(default_factory=list)
    fixed: list[ConfusionChange] = field(default_factory=list)
    #: configuration keys that differ between the two groups (same backend only)
    config_differences: list[Difference] = field(default_factory=list)
    #: order-independent micro rates over the same pages (harness.unordered)
    cer_unordered_a: float | None = None
    cer_unordered_b: float | None = None
    bow_wer_a: float | None = None
    bow_wer_b: float | None = None
    #: slowest and fastest timing round of each side (equal to pages_per_s after one round)
    pages_per_s_min_a: float | None = None
    pages_per_s_max_a: float | None = None
    pages_per_s_min_b: float | None = None
    pages_per_s_max_b: float | None = None
    rounds: int = 1

    @property
    def label_a(self) -> str:
        return group_label(*self.group_a)

    @property
    def label_b(self) -> str:
        return group_label(*self.group_b)

    @property
    def label(self) -> str:
        return self.label_a if self.group_a == self.group_b else f"{self.label_a} → {self.label_b}"

    @property
    def throughput_ratio(self) -> float | None:
        """B's pages/s over A's: above 1 means B is faster."""
        if not self.pages_per_s_a or self.pages_per_s_b is None:
            return None
        return self.pages_per_s_b / self.pages_per_s_a

    @property
    def throughput_ratio_range(self) -> tuple[float, float] | None:
        """The ratio's range over timing rounds: B's slowest over A's fastest, B's fastest over A's
        slowest. None after a single round (no spread to speak of)."""
        a_low, a_high = self.pages_per_s_min_a, self.pages_per_s_max_a
        b_low, b_high = self.pages_per_s_min_b, self.pages_per_s_max_b
        if self.rounds < 2 or not a_low or not a_high or b_low is None or b_high is None:
            return None
        return b_low / a_high, b_high / a_low

    @property
    def verdict(self) -> str:
        if self.cer is None:
            return "no comparable pages"
        if not self.cer.significant:
            return "no significant CER difference"
        return "B is more accurate" if self.cer.diff < 0 else "B is less accurate"


@dataclass
class Comparison:
    """Side A (a run, or a selection of one) against side B."""

    name_a: str
    name_b: str
    selector_a: Selector
    selector_b: Selector
    groups: list[GroupComparison]
    unpaired_a: list[tuple[str, str]] = field(default_factory=list)
    unpaired_b: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: run-wide configuration differences: normalisation, dataset fingerprints
    run_differences: list[Difference] = field(default_factory=list)


def compare_runs(
    run_a: RunData,
    run_b: RunData,
    *,
    selector_a: Selector | None = None,
    selector_b: Selector | None = None,
    top: int = TOP,
    seed: int = 0,
) -> Comparison:
    """Compare side A with side B group by group (both may be the same run with different selectors)."""
    selector_a = selector_a or Selector()
    selector_b = selector_b or Selector()
    samples_a = selector_a.apply(run_a.samples)
    samples_b = selector_b.apply(run_b.samples)
    name_a = run_a.name if not selector_a.filters else f"{run_a.name} [{selector_a}]"
    name_b = run_b.name if not selector_b.filters else f"{run_b.name} [{selector_b}]"
    if samples_a.empty or samples_b.empty:
        empty = name_a if samples_a.empty else name_b
        raise ConfigError(
            f"{empty}: no rows to compare",
            fix="check the selector: values must match the backend and pipeline columns of samples.csv",
        )
    groups_a = _groups(samples_a)
    groups_b = _groups(samples_b)
    pairs, unpaired_a, unpaired_b = pair_groups(groups_a, groups_b, run_a.info, run_b.info)
    comparison = Comparison(name_a, name_b, selector_a, selector_b, [], unpaired_a, unpaired_b)
    if run_a is not run_b:
        comparison.run_differences = run_differences(run_a.info, run_b.info)
    for group_a, group_b in pairs:
        comparison.groups.append(
            compare_groups(
                group_rows(samples_a, group_a),
                group_rows(samples_b, group_b),
                group_a,
                group_b,
                summary_a=run_a.summary,
                summary_b=run_b.summary,
                top=top,
                seed=seed,
            )
        )
        _add_order_free_and_spread(
            comparison.groups[-1],
            group_rows(samples_a, group_a),
            group_rows(samples_b, group_b),
            run_a.summary,
            run_b.summary,
        )
        if group_identity(group_a, run_a.info).backend == group_identity(group_b, run_b.info).backend:
            comparison.groups[-1].config_differences = group_differences(
                run_a.info, group_a, run_b.info, group_b
            )
    if not comparison.groups:
        comparison.notes.append("no backend x pipeline group could be paired between the two sides")
    return comparison


def pair_groups(
    groups_a: Sequence[tuple[str, str]],
    groups_b: Sequence[tuple[str, str]],
    info_a: Any = None,
    info_b: Any = None,
) -> tuple[list[tuple[tuple[str, str], tuple[str, str]]], list[tuple[str, str]], list[tuple[str, str]]]:
    """Pair groups: same backend name and pipeline first, then by the one field left to match."""
    from harness.plugins import get_registry

    steps = get_registry().steps()
    pairs, left_a, left_b = pair_by_identity(groups_a, info_a, groups_b, info_b, steps=steps)
    ids_a = {group: group_identity(group, info_a, steps) for group in left_a}
    ids_b = {group: group_identity(group, info_b, steps) for group in left_b}
    for field_name in ("backend", "pipeline"):  # same backend, other pipeline; then same pipeline
        for value in sorted({getattr(ids_a[g], field_name) for g in left_a}):
            side_a = [g for g in left_a if getattr(ids_a[g], field_name) == value]
            side_b = [g for g in left_b if getattr(ids_b[g], field_name) == value]
            if len(side_a) == 1 and len(side_b) == 1:
                pairs.append((side_a[0], side_b[0]))
                left_a.remove(side_a[0])
                left_b.remove(side_b[0])
    if len(groups_a) == 1 and len(groups_b) == 1 and not pairs:  # two one-group runs: compare them
        pairs.append((left_a[0], left_b[0]))
        left_a, left_b = [], []
    return pairs, left_a, left_b


@dataclass(frozen=True)
class PairedPages:
    """Two sides' rows of one group matched page by page."""

    both: pd.DataFrame
    only_a: int
    only_b: int

    @property
    def scored(self) -> pd.DataFrame:
        return self.both[(self.both["status_a"] == "ok") & (self.both["status_b"] == "ok")]

    @property
    def comparable(self) -> pd.DataFrame:
        """Pages scored on both sides with untruncated output: the pages every figure is over."""
        scored = self.scored
        return scored[scored["comparable_a"].astype(bool) & scored["comparable_b"].astype(bool)]


def pair_pages(rows_a: pd.DataFrame, rows_b: pd.DataFrame) -> PairedPages:
    merged = rows_a.merge(rows_b, on=list(SAMPLE_KEY), how="outer", suffixes=("_a", "_b"), indicator=True)
    return PairedPages(
        both=merged[merged["_merge"] == "both"],
        only_a=int((merged["_merge"] == "left_only").sum()),
        only_b=int((merged["_merge"] == "right_only").sum()),
    )


def compare_groups(
    rows_a: pd.DataFrame,
    rows_b: pd.DataFrame,
    group_a: tuple[str, str],
    group_b: tuple[str, str],
    *,
    summary_a: pd.DataFrame | None = None,
    summary_b: pd.DataFrame | None = None,
    top: int = TOP,
    seed: int = 0,
) -> GroupComparison:
    """Side A's rows of one group against side B's: the figures and the changed pages and confusions."""
    pages = pair_pages(rows_a, rows_b)
    result = group_figures(pages, group_a, group_b, summary_a=summary_a, summary_b=summary_b, seed=seed)
    add_group_details(result, pages, top=top)
    return result


def group_figures(
    pages: PairedPages,
    group_a: tuple[str, str],
    group_b: tuple[str, str],
    *,
    summary_a: pd.DataFrame | None = None,
    summary_b: pd.DataFrame | None = None,
    seed: int = 0,
) -> GroupComparison:
    """The paired figures of one group: page counts, micro and macro rates with bootstrap intervals, speed."""
    result = GroupComparison(group_a, group_b)
    result.pages_per_s_a = _summary_value(summary_a, group_a, "pages_per_s")
    result.pages_per_s_b = _summary_value(summary_b, group_b, "pages_per_s")
    result.only_a, result.only_b = pages.only_a, pages.only_b
    both, scored, comparable = pages.both, pages.scored, pages.comparable
    result.failed = int(((both["status_a"] == "error") | (both["status_b"] == "error")).sum())
    result.not_comparable = len(scored) - len(comparable)
    result.gt_differs = int((comparable["ground_truth_a"] != comparable["ground_truth_b"]).sum())
    result.pairs = len(comparable)
    if comparable.empty:
        return result

    def column(name: str) -> Any:
        return comparable[name].astype(float).to_numpy()

    def micro(errors: str, length: str) -> tuple[PairedDiff, float, float]:
        """The paired micro-rate difference, and each side's rate."""
        diff = paired_bootstrap(
            column(f"{errors}_a"),
            column(f"{errors}_b"),
            weights=column(f"{length}_a"),
            weights_b=column(f"{length}_b"),
            statistic="ratio",
            seed=seed,
        )
        rate_a = error_rate(column(f"{errors}_a").sum(), column(f"{length}_a").sum())
        rate_b = error_rate(column(f"{errors}_b").sum(), column(f"{length}_b").sum())
        return diff, rate_a, rate_b

    result.cer, result.cer_a, result.cer_b = micro("char_errors", "ref_chars")
    result.macro_cer = paired_bootstrap(column("cer_a"), column("cer_b"), seed=seed)
    if {"word_errors_a", "ref_words_a"} <= set(comparable.columns):
        result.wer, result.wer_a, result.wer_b = micro("word_errors", "ref_words")
    return result


def add_group_details(result: GroupComparison, pages: PairedPages, *, top: int = TOP) -> None:
    """The pages that changed most each way, and the confusions introduced and fixed."""
    confusions_a: Counter[tuple[str, str]] = Counter()
    confusions_b: Counter[tuple[str, str]] = Counter()
    changes = []
    for _, row in pages.comparable.iterrows():
        alignment_a = align(str(row["ground_truth_a"]), str(row["text_a"]))
        alignment_b = align(str(row["ground_truth_b"]), str(row["text_b"]))
        confusions_a.update(confusions(alignment_a))
        confusions_b.update(confusions(alignment_b))
        changes.append(
            SampleChange(
                str(row["dataset"]),
                str(row["sample_id"]),
                int(row["page"]),
                float(row["cer_a"]),
                float(row["cer_b"]),
                alignment_a.segments,
                alignment_b.segments,
            )
        )
    changes.sort(key=lambda change: change.diff)
    result.worse = [c for c in reversed(changes) if c.diff > 0][:top]
    result.better = [c for c in changes if c.diff < 0][:top]
    deltas = [
        ConfusionChange(ref, hyp, confusions_a[(ref, hyp)], confusions_b[(ref, hyp)])
        for ref, hyp in set(confusions_a) | set(confusions_b)
    ]
    deltas.sort(key=lambda change: (change.delta, change.ref, change.hyp))
    result.fixed = [c for c in deltas if c.delta < 0][:top]
    result.introduced = sorted((c for c in deltas if c.delta > 0), key=lambda c: (-c.delta, c.ref, c.hyp))[
        :top
    ]


def _add_order_free_and_spread(
    result: GroupComparison,
    rows_a: pd.DataFrame,
    rows_b: pd.DataFrame,
    summary_a: pd.DataFrame | None,
    summary_b: pd.DataFrame | None,
) -> None:
    """Order-free rates over the pages both sides scored comparably, and each side's speed spread."""

    for side, summary, group in (("a", summary_a, result.group_a), ("b", summary_b, result.group_b)):
        for bound in ("min", "max"):
            value = _summary_value(summary, group, f"pages_per_s_{bound}")
            fallback = getattr(result, f"pages_per_s_{side}")
            setattr(result, f"pages_per_s_{bound}_{side}", value if value is not None else fallback)
    rounds = [
        _summary_value(summary_a, result.group_a, "rounds"),
        _summary_value(summary_b, result.group_b, "rounds"),
    ]
    result.rounds = int(min(r or 1 for r in rounds))
    needed = {"bow_errors", "unordered_char_errors"}
    if not (needed <= set(rows_a.columns) and needed <= set(rows_b.columns)):
        return  # a run folder from before these measures
    both = pair_pages(rows_a, rows_b).comparable
    if both.empty:
        return
    for side in ("a", "b"):
        unordered, chars = both[f"unordered_char_errors_{side}"].sum(), both[f"ref_chars_{side}"].sum()
        bow, words = both[f"bow_errors_{side}"].sum(), both[f"ref_words_{side}"].sum()
        setattr(result, f"cer_unordered_{side}", error_rate(int(unordered), int(chars)))
        setattr(result, f"bow_wer_{side}", error_rate(int(bow), int(words)))


def _groups(samples: pd.DataFrame) -> list[tuple[str, str]]:
    return [tuple(g) for g in samples[["backend", "pipeline"]].drop_duplicates().itertuples(index=False)]  # type: ignore[misc]


def group_rows(samples: pd.DataFrame, group: tuple[str, str]) -> pd.DataFrame:
    rows = samples[(samples["backend"] == group[0]) & (samples["pipeline"] == group[1])]
    # A resumed run may list a retried job twice; the last row counts.
    return rows.drop_duplicates(subset=list(SAMPLE_KEY), keep="last")


def _summary_value(summary: pd.DataFrame | None, group: tuple[str, str], column: str) -> float | None:
    if summary is None or column not in summary.columns:
        return None
    match = summary[(summary["backend"] == group[0]) & (summary["pipeline"] == group[1])]
    if match.empty:
        return None
    return finite_or_none(match.iloc[0][column])
