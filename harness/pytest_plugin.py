"""pytest fixtures for keeping OCR accuracy honest in your own test suite.

Installed with ocr-harness (entry point ``pytest11``), so any project can write::

    def test_invoices_stay_readable(ocr_harness_run):
        result = ocr_harness_run("tests/scans", backend="tesseract", pipeline="binarize(method=otsu)")
        assert result.cer() < 0.03, result.describe()

pytest loads this module for every test run, so it imports nothing heavy at module
level: the harness, pandas and the engines load only when a fixture is used.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import pandas as pd

    from harness.check import CheckResult
    from harness.run_folder import RunData


class RunResult:
    """A finished run: its folder and its tables, with helpers to read one group's figures.

    ``backend`` and ``pipeline`` select the group; either may be omitted when the run
    has only one value for it.
    """

    def __init__(self, data: RunData) -> None:
        self.data = data

    @property
    def path(self) -> Path:
        return self.data.path

    @property
    def summary(self) -> pd.DataFrame:
        return self.data.summary

    @property
    def samples(self) -> pd.DataFrame:
        return self.data.samples

    @property
    def report(self) -> Path:
        from harness.run_folder import REPORT_FILE

        return self.path / REPORT_FILE

    def row(self, backend: str | None = None, pipeline: str | None = None) -> pd.Series:
        """The summary row of one backend x pipeline group."""
        frame = self.summary
        if backend is not None:
            frame = frame[frame["backend"] == backend]
        if pipeline is not None:
            from harness.pipeline import parse_pipeline

            frame = frame[frame["pipeline"] == str(parse_pipeline(pipeline))]
        if len(frame) != 1:
            groups = ", ".join(f"{b} · {p}" for b, p in self.data.groups())
            wanted = f"backend={backend!r}, pipeline={pipeline!r}"
            raise LookupError(f"{wanted} matches {len(frame)} groups of this run; groups: {groups}")
        return frame.iloc[0]

    def cer(self, backend: str | None = None, pipeline: str | None = None) -> float:
        """Micro CER of one group (total edits / total reference characters)."""
        return self._accuracy("micro_cer", backend, pipeline)

    def wer(self, backend: str | None = None, pipeline: str | None = None) -> float:
        """Micro WER of one group."""
        return self._accuracy("micro_wer", backend, pipeline)

    def pages_per_s(self, backend: str | None = None, pipeline: str | None = None) -> float:
        return float(self.row(backend, pipeline)["pages_per_s"])

    def failed(self, backend: str | None = None, pipeline: str | None = None) -> int:
        return int(self.row(backend, pipeline)["failed"])

    def check(
        self,
        *,
        backend: str | None = None,
        baseline: str | Path | None = None,
        allow_config_change: bool = False,
        **limits: Any,
    ) -> list[CheckResult]:
        """Run the CI gate's checks (``max_cer="2%"``, ``min_pages_per_s=1``, ...); returns every result."""
        from harness.check import load_baseline, run_checks
        from harness.thresholds import Thresholds

        cli = Thresholds.model_validate(limits)
        loaded = load_baseline(baseline) if baseline is not None else None
        return run_checks(
            self.data,
            cli=cli,
            baseline=loaded,
            backends=[backend] if backend else None,
            allow_config_change=allow_config_change,
        )

    def assert_check(self, **kwargs: Any) -> None:
        """Like :meth:`check`, but fails the test with every failed check's message."""
        failed = [r for r in self.check(**kwargs) if r.status == "fail"]
        if failed:
            lines = "\n".join(f"  {r.group}: {r.name}: {r.message}" for r in failed)
            raise AssertionError(f"OCR checks failed (run folder {self.path}):\n{lines}")

    def describe(self) -> str:
        """One line per group: CER, WER and speed, for assertion messages."""
        lines = [f"run folder {self.path}"]
        for _, row in self.summary.iterrows():
            lines.append(
                f"  {row['backend']} · {row['pipeline']}: CER {row.get('micro_cer', float('nan')):.2%}, "
                f"WER {row.get('micro_wer', float('nan')):.2%}, "
                f"{row.get('pages_per_s', float('nan')):.3g} pages/s, "
                f"{int(row.get('failed', 0))} failed"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"RunResult({self.path})"

    def _accuracy(self, column: str, backend: str | None, pipeline: str | None) -> float:
        row = self.row(backend, pipeline)
        if not bool(row.get("comparable", True)):
            raise AssertionError(
                f"{row['backend']} · {row['pipeline']}: accuracy is not comparable (truncated output)"
            )
        if int(row.get("scored", 1)) == 0:
            raise AssertionError(f"{row['backend']} · {row['pipeline']}: no page was scored ({self.path})")
        return float(row[column])


RunFunction = Callable[..., RunResult]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ocr-harness")
    group.addoption(
        "--ocr-harness-output",
        metavar="DIR",
        default=None,
        help="keep run folders made by the ocr_harness_run fixture under DIR "
        "(default: pytest's temporary folder)",
    )


@pytest.fixture(scope="session")
def ocr_harness_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> RunFunction:
    """Run OCR on a dataset or suite and return a :class:`RunResult`.

    ``ocr_harness_run(source, backend="rapidocr", pipeline="none", options=None,
    normalisation=None, jobs=None, serial=False, plugins=())``: ``source`` is a dataset
    folder/manifest or a suite ``.toml`` file (then backend/pipeline come from the suite).
    ``backend`` and ``pipeline`` may be lists. ``options`` maps backend option names to
    values (``{"psm": 7}``), for every backend given. Identical calls within one pytest
    session share one run.
    """
    output = request.config.getoption("--ocr-harness-output")
    base = Path(output) if output else tmp_path_factory.mktemp("ocr-harness")
    cache: dict[str, RunResult] = {}

    def run(
        source: str | Path,
        *,
        backend: str | Sequence[str] | None = None,
        pipeline: str | Sequence[str] | None = None,
        options: dict[str, Any] | None = None,
        normalisation: str | None = None,
        jobs: int | None = None,
        serial: bool = False,
        plugins: Sequence[str] = (),
    ) -> RunResult:
        key = repr(
            (
                str(source),
                backend,
                pipeline,
                sorted((options or {}).items()),
                normalisation,
                jobs,
                serial,
                plugins,
            )
        )
        if key not in cache:
            cache[key] = _run(
                base, Path(source), backend, pipeline, options, normalisation, jobs, serial, plugins
            )
        return cache[key]

    return run


def _run(
    base: Path,
    source: Path,
    backend: str | Sequence[str] | None,
    pipeline: str | Sequence[str] | None,
    options: dict[str, Any] | None,
    normalisation: str | None,
    jobs: int | None,
    serial: bool,
    plugins: Sequence[str],
) -> RunResult:
    from harness.defaults import DEFAULT_BACKEND
    from harness.plugins import get_registry
    from harness.report import write_reports
    from harness.run_folder import load_run
    from harness.runner import run_suite
    from harness.suite import load_suite, suite_from_args

    registry = get_registry(tuple(plugins))
    run_settings: dict[str, Any] = {"output": str(base), "serial": serial}
    if jobs is not None:
        run_settings["jobs"] = jobs
    if source.suffix == ".toml":
        if backend is not None or pipeline is not None or options or normalisation:
            raise TypeError("with a suite file, backends, pipelines and normalisation come from the suite")
        suite = load_suite(source, registry, overrides=run_settings)
    else:
        backends = [backend] if isinstance(backend, str) else list(backend or [DEFAULT_BACKEND])
        pipelines = [pipeline] if isinstance(pipeline, str) else list(pipeline or ["none"])
        option_flags = [
            f"{name}.{key}={value}" for name in backends for key, value in (options or {}).items()
        ]
        suite = suite_from_args(
            [str(source)],
            registry,
            backends=backends,
            pipelines=pipelines,
            options=option_flags,
            run=run_settings,
            metrics={"normalisation": normalisation} if normalisation else None,
        )
    log = io.StringIO()
    outcome = run_suite(suite, log=log, live=False)
    write_reports(outcome.run_dir, log=log)
    if outcome.interrupted:
        raise KeyboardInterrupt
    return RunResult(load_run(outcome.run_dir))
