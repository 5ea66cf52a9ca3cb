"""Suites: TOML and ad hoc, grid expansion, and config errors found before any OCR."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from echo_backend import make_echo_dataset

from harness.errors import ConfigError
from harness.plugins import get_registry
from harness.suite import expand_grid, load_suite, suite_from_args

PLUGINS = ("echo_backend",)


@pytest.fixture
def registry():
    return get_registry(PLUGINS)


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    return make_echo_dataset(
        tmp_path / "scans",
        {"line_en_1": ("hello world", "hello world"), "line_en_2": ("good bye", "good buy")},
    )


def write_suite(folder: Path, body: str, name: str = "suite.toml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


# --- grid -------------------------------------------------------------------------------------


def test_grid_expands_to_the_cartesian_product_in_written_order():
    pipelines = expand_grid(
        {"downscale.max_side": [1000, 1600, 2400], "binarize.method": ["none", "otsu", "sauvola"]}
    )
    assert len(pipelines) == 9
    assert pipelines[0] == "downscale(max_side=1000)|binarize(method=none)"
    assert pipelines[1] == "downscale(max_side=1000)|binarize(method=otsu)"
    assert pipelines[-1] == "downscale(max_side=2400)|binarize(method=sauvola)"
    assert len(set(pipelines)) == 9


def test_grid_parameters_of_one_step_stay_in_one_step():
    pipelines = expand_grid(
        {"binarize.method": ["sauvola"], "downscale.max_side": [900], "binarize.window": [15, 31]}
    )
    assert pipelines == [
        "binarize(method=sauvola,window=15)|downscale(max_side=900)",
        "binarize(method=sauvola,window=31)|downscale(max_side=900)",
    ]


def test_grid_boolean_key_includes_or_leaves_out_a_step():
    assert expand_grid({"grayscale": [True, False], "downscale.max_side": [800]}) == [
        "grayscale|downscale(max_side=800)",
        "downscale(max_side=800)",
    ]
    with pytest.raises(ConfigError, match='grid."grayscale": a key without a parameter takes'):
        expand_grid({"grayscale": ["yes"]})
    with pytest.raises(ConfigError, match='grid."downscale.max_side": give a non-empty list'):
        expand_grid({"downscale.max_side": []})


def test_suite_merges_pipelines_and_grid_without_duplicates(tmp_path, registry, dataset):
    path = write_suite(
        tmp_path,
        """
        name = "grid-test"
        pipelines = ["none", "suffix(text=a)"]

        [[datasets]]
        path = "scans"

        [[backends]]
        name = "echo"

        [grid]
        "suffix.text" = ["a", "b"]
        """,
    )
    suite = load_suite(path, registry)
    assert suite.name == "grid-test"
    assert suite.pipelines == ["none", "suffix(text=a)", "suffix(text=b)"]
    assert [entry.dataset.name for entry in suite.datasets] == ["scans"]
    assert suite.profile.id == "nfc-ws@1"
    assert suite.failure_policy == "exclude"
    config = suite.resolved_config()
    assert config["pipelines"] == suite.pipelines
    assert config["datasets"][0]["path"] == str(dataset.resolve())


def test_backend_thresholds_take_the_units_check_takes(tmp_path, registry, dataset):
    from harness.check import suite_limits

    path = write_suite(
        tmp_path,
        """
        [[datasets]]
        path = "scans"

        [[backends]]
        name = "echo"
        thresholds = { max_cer = "3%", max_cer_increase = "0.5pp", max_slowdown = 0.1 }

        [check]
        max_cer = "5%"
        max_wer = "12.5%"
        """,
    )
    suite = load_suite(path, registry)
    thresholds = suite.backends[0].thresholds
    assert thresholds.max_cer == pytest.approx(0.03)
    assert thresholds.max_cer_increase == pytest.approx(0.005)
    assert thresholds.max_slowdown == pytest.approx(0.1)
    # run.json keeps them resolved, and the gate reads them back as the same limits.
    check, per_backend, _ = suite_limits({"config": suite.resolved_config()})
    assert per_backend["echo"].max_cer == pytest.approx(0.03)
    assert per_backend["echo"].max_cer_increase == pytest.approx(0.005)
    assert check.max_cer == pytest.approx(0.05) and check.max_wer == pytest.approx(0.125)

    bad = write_suite(
        tmp_path,
        """
        [[datasets]]
        path = "scans"

        [[backends]]
        name = "echo"
        thresholds = { max_cer = "3 percent", max_failed = "none" }

        [check]
        max_cer = "5 percent"
        """,
        name="bad.toml",
    )
    with pytest.raises(ConfigError) as caught:
        load_suite(bad, registry)
    message = str(caught.value)
    assert "backends[0].thresholds.max_cer: cannot read '3 percent' as a number" in message
    assert "backends[0].thresholds.max_failed:" in message
    assert "check.max_cer: cannot read '5 percent' as a number" in message


def test_defaults_and_thresholds_are_kept(tmp_path, registry, dataset):
    path = write_suite(
        tmp_path,
        """
        [[datasets]]
        path = "scans"

        [[backends]]
        name = "echo"
        options = { truncate_to = 4 }
        thresholds = { max_cer = 0.05, min_pages_per_s = 2 }

        [metrics]
        normalisation = ["historical", "casefold"]
        failure_policy = "count_as_cer_1"

        [check]
        baseline = "reports/baseline"
        """,
        name="my-suite.toml",
    )
    suite = load_suite(path, registry)
    assert suite.name == "my-suite"
    assert suite.pipelines == ["none"]
    assert suite.backends[0].thresholds.max_cer == 0.05
    assert suite.backends[0].spec.options_dict == {"truncate_to": 4}
    assert suite.backends[0].resolved_options == {
        "truncate_to": 4,
        "delay": 0.0,
        "language_load": 0.0,
        "misread": 0,
    }
    assert suite.profile.id == "casefold+historical@1"
    assert suite.failure_policy == "count_as_cer_1"
    assert suite.check == {"baseline": "reports/baseline"}
    assert suite.run.timeout > 0 and suite.run.output == "reports"


# --- errors ------------------------------------------------------------------------------------


def test_every_config_error_is_reported_at_once_with_its_key_path(tmp_path, registry, dataset):
    path = write_suite(
        tmp_path,
        """
        name = "broken"
        pipline = ["none"]
        pipelines = ["none", "sufix(text=a)", "suffix(txt=a)"]

        [[datasets]]
        path = "scans"

        [[datasets]]
        path = "no-such-folder"

        [[backends]]
        name = "echo"
        optons = {}

        [[backends]]
        name = "echo"
        label = "second"
        options = { truncate_too = 3 }

        [[backends]]
        name = "ecoh"

        [[backends]]
        name = "echo"
        label = "vietnamese"
        language = "vi"

        [[backends]]
        name = "unavailable"

        [[backends]]
        name = "echo"
        label = "strict"
        thresholds = { max_cer = -1 }

        [metrics]
        failure_policy = "ignore"

        [run]
        timeout = 0
        jbos = 2
        """,
    )
    with pytest.raises(ConfigError) as caught:
        load_suite(path, registry)
    message = str(caught.value)
    expected = [
        "pipline: unknown key (did you mean 'pipelines'?)",
        "backends[0].optons: unknown key (did you mean 'options'?)",
        "backends[1].options.truncate_too: unknown key (did you mean 'truncate_to'?)",
        "backends[2].name: unknown backend 'ecoh' (did you mean 'echo'?)",
        "backends[3].language: backend 'echo' cannot read Vietnamese ('vi')",
        "backends[4].name: backend 'unavailable' cannot run here: its runtime is not installed "
        "(fix: install the runtime)",
        "backends[5].thresholds.max_cer: must be a non-negative number, got -1",
        "datasets[1].path:",
        "no-such-folder",
        "pipelines[1]: unknown preprocessing step 'sufix'",
        "pipelines[2]: bad parameters for step 'suffix'",
        "metrics.failure_policy:",
        "run.timeout: Input should be greater than 0",
        "run.jbos: unknown key (did you mean 'jobs'?)",
    ]
    for fragment in expected:
        assert fragment in message, fragment
    assert message.startswith(f"{path}: ")
    assert "found before any OCR started" in message


def test_not_toml_and_missing_sections(tmp_path, registry):
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_suite(write_suite(tmp_path, "name = \n", name="bad.toml"), registry)
    with pytest.raises(ConfigError) as caught:
        load_suite(write_suite(tmp_path, 'name = "x"\n', name="empty.toml"), registry)
    assert "datasets: required key is missing" in str(caught.value)
    assert "backends: required key is missing" in str(caught.value)
    with pytest.raises(ConfigError, match="no such suite file"):
        load_suite(tmp_path / "nope.toml", registry)


def test_a_backend_twice_needs_distinct_options_or_labels(tmp_path, registry, dataset):
    body = """
        [[datasets]]
        path = "scans"

        [[backends]]
        name = "echo"

        [[backends]]
        name = "echo"
        {extra}
        """
    suite = load_suite(write_suite(tmp_path, body.format(extra="options = { truncate_to = 3 }")), registry)
    assert [backend.label for backend in suite.backends] == ["echo", "echo(truncate_to=3)"]
    with pytest.raises(ConfigError, match=r"backends\[1\]: backends\[0\] already runs as 'echo'"):
        load_suite(write_suite(tmp_path, body.format(extra="")), registry)


def test_dataset_language_override_a_backend_cannot_read_is_a_config_error(tmp_path, registry, dataset):
    path = write_suite(
        tmp_path,
        """
        [[datasets]]
        path = "scans"
        language = "vi"

        [[backends]]
        name = "echo"
        """,
    )
    with pytest.raises(ConfigError, match=r"datasets\[0\].language: backend 'echo' cannot read Vietnamese"):
        load_suite(path, registry)


# --- ad hoc -------------------------------------------------------------------------------------


def test_ad_hoc_flags_build_the_same_suite(tmp_path, registry, dataset, monkeypatch):
    monkeypatch.chdir(tmp_path)
    suite = suite_from_args(
        ["scans"],
        registry,
        backends=["echo"],
        pipelines=["none", "suffix(text=x)"],
        options=["echo.truncate_to=5"],
        run={"jobs": 2, "timeout": 30},
    )
    assert suite.name == "scans"
    assert suite.pipelines == ["none", "suffix(text=x)"]
    assert suite.backends[0].spec.options_dict == {"truncate_to": 5}
    assert (suite.run.jobs, suite.run.timeout) == (2, 30)


def test_option_flags_mean_the_same_in_run_and_extract(tmp_path, registry, dataset, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # The backend may be left out with one backend, as `extract --option KEY=VALUE` does.
    one = suite_from_args(["scans"], registry, backends=["echo"], options=["truncate_to=5", "delay=0.5"])
    assert one.backends[0].spec.options_dict == {"truncate_to": 5, "delay": 0.5}
    with pytest.raises(ConfigError, match="this command runs 2 backends"):
        suite_from_args(["scans"], registry, backends=["echo", "echo-b"], options=["truncate_to=5"])


def test_ad_hoc_errors_name_the_flag(tmp_path, registry, dataset, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="--option 'tesseract.psm=6': backend 'tesseract' is not one of"):
        suite_from_args(["scans"], registry, backends=["echo"], options=["tesseract.psm=6"])
    with pytest.raises(ConfigError, match="BACKEND.KEY=VALUE"):
        suite_from_args(["scans"], registry, backends=["echo"], options=["psm"])
    with pytest.raises(ConfigError) as caught:
        suite_from_args(["scans"], registry, backends=["echo"], options=["echo.truncat=1"])
    assert "backends[0].options.truncat: unknown key (did you mean 'truncate_to'?)" in str(caught.value)


# --- the suites shipped in suites/ ----------------------------------------------------------------

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("name", "backends", "pipelines"),
    [("quickstart", ["rapidocr"], 1), ("preprocessing-grid", ["tesseract", "rapidocr"], 9)],
)
def test_shipped_suites_are_valid(name, backends, pipelines):
    suite = load_suite(REPO / "suites" / f"{name}.toml", get_registry())
    assert suite.name == name
    assert [backend.name for backend in suite.backends] == backends
    assert len(suite.pipelines) == pipelines
    assert suite.datasets[0].path == (REPO / "datasets" / "sample").resolve()
