"""The plugin system as a third party meets it: installed packages, --plugin modules, failures.

Third-party packages are made for each test as a module plus a ``.dist-info``
folder with ``entry_points.txt`` on a temporary path entry, which is exactly
what importlib.metadata reads for an installed distribution.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import tomllib
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from ocr_harness_plugins.backends.tesseract import TesseractBackend

from harness.backends import BackendSpec
from harness.pipeline import build_pipeline
from harness.plugins import DISABLE_ENV, PLUGINS_ENV, clear_registry_cache, get_registry
from harness.worker import Task, WorkerState, run_task

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "plugin-example"
LINE = "line_en_uw3_0709_010002"

LINE_BACKEND = """
from pydantic import Field

from harness.hookspecs import hookimpl
from ocr_harness_plugins.backends.tesseract import TesseractBackend, TesseractOptions


class LineOptions(TesseractOptions):
    psm: int = Field(default=7, description="page segmentation mode; 7 reads the image as one line")


class TesseractLineBackend(TesseractBackend):
    name = "tesseract-line"
    description = "Tesseract reading every image as a single text line"
    Options = LineOptions


@hookimpl
def register_backends(register):
    register(TesseractLineBackend)
"""

PAD_STEP = """
from pydantic import Field

from harness.hookspecs import hookimpl
from harness.pipeline import Step, StepParams


class PadParams(StepParams):
    border: int = Field(default=10, ge=0, description="white margin to add, in pixels")


class Pad(Step):
    name = "pad"
    description = "add a white margin"
    Params = PadParams

    def apply(self, image):
        from PIL import ImageOps

        return ImageOps.expand(image, border=self.params.border, fill="white")


@hookimpl
def register_preprocessors(register):
    register(Pad)
"""

TSV_FORMAT = """
from pathlib import Path

from harness.datasets import DatasetFormat, Sample
from harness.hookspecs import hookimpl


class TsvList(DatasetFormat):
    name = "tsv-list"
    description = "a .tsv file of image path, tab, transcription"

    @classmethod
    def detect(cls, path):
        return path.suffix == ".tsv"

    def samples(self, path, *, allow_outside_root=False):
        for number, row in enumerate(path.read_text(encoding="utf-8").splitlines()):
            image, _, text = row.partition("\\t")
            yield Sample(id=f"{path.stem}-{number}", image=Path(image), ground_truth=text)


@hookimpl
def register_dataset_formats(register):
    register(TsvList)
"""

BROKEN = """
raise RuntimeError("this plugin is broken on purpose")
"""

DUPLICATE = """
from harness.backends import Backend, Recognition
from harness.hookspecs import hookimpl


class Impostor(Backend):
    name = "tesseract"

    @classmethod
    def languages(cls):
        return {"en": "en"}

    def recognize(self, image, *, language):
        return Recognition(text="")


@hookimpl
def register_backends(register):
    register(Impostor)
"""


def write_dist(
    site: Path, name: str, version: str, entry_points: dict[str, str], modules: dict[str, str]
) -> None:
    """An installed distribution as importlib.metadata finds it: modules plus NAME-VERSION.dist-info."""
    site.mkdir(parents=True, exist_ok=True)
    for module, code in modules.items():
        (site / f"{module}.py").write_text(textwrap.dedent(code), encoding="utf-8")
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8"
    )
    points = "".join(f"{key} = {value}\n" for key, value in entry_points.items())
    (info / "entry_points.txt").write_text(f"[ocr_harness]\n{points}", encoding="utf-8")


def cli(*argv: str, path: list[Path] = (), env: dict[str, str] | None = None, cwd: Path | None = None):
    """Run ``ocr-harness ARGV`` in a fresh process with ``path`` prepended to PYTHONPATH."""
    environment = {k: v for k, v in os.environ.items() if k not in (PLUGINS_ENV, DISABLE_ENV)}
    environment["PYTHONPATH"] = os.pathsep.join([str(p) for p in path] + [environment.get("PYTHONPATH", "")])
    environment.update(env or {})
    code = f"import sys; from harness.cli import main; sys.exit(main({list(argv)!r}))"
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environment, cwd=cwd, timeout=300
    )


def listing(*argv: str, **kwargs) -> dict:
    done = cli(*argv, "plugins", "--json", **kwargs)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def by_name(items: list[dict]) -> dict[str, dict]:
    return {item["name"]: item for item in items}


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A path entry for throwaway distributions, active in this process for the test only."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    for variable in (PLUGINS_ENV, DISABLE_ENV):
        monkeypatch.delenv(variable, raising=False)
    before = set(sys.modules)
    clear_registry_cache()
    yield site
    clear_registry_cache()
    for module in set(sys.modules) - before:
        if module.startswith(("acme_", "broken_", "dup_", "ocr_harness_tesseract_cli")):
            del sys.modules[module]


def cer(reference: str, hypothesis: str) -> float:
    ref = " ".join(unicodedata.normalize("NFC", reference).split())
    hyp = " ".join(unicodedata.normalize("NFC", hypothesis).split())
    previous = list(range(len(hyp) + 1))
    for i, a in enumerate(ref, start=1):
        current = [i]
        for j, b in enumerate(hyp, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a != b)))
        previous = current
    return previous[-1] / max(1, len(ref))


# --- one test per hook (tests/test_hookspecs.py checks they exist) ----------


def test_hook_register_backends(site: Path, real_dev: Path) -> None:
    write_dist(site, "acme-ocr", "1.0", {"acme-line": "acme_line"}, {"acme_line": LINE_BACKEND})

    backend = by_name(listing(path=[site])["backends"])["tesseract-line"]
    assert backend["plugin"] == "acme-line"
    assert backend["source"] == "entry point (acme-ocr 1.0)"
    assert backend["available"] is True
    assert backend["languages"] == dict(sorted(TesseractBackend.languages().items()))
    assert by_name(backend["options"])["psm"]["default"] == 7

    state = WorkerState(threads=1)
    try:
        outcome = run_task(Task(str(real_dev / f"{LINE}.png"), BackendSpec.of("tesseract-line")), state)
    finally:
        state.close()
    assert outcome.ok, outcome.error_message
    assert cer((real_dev / f"{LINE}.gt.txt").read_text(encoding="utf-8"), outcome.text or "") < 0.05


def test_hook_register_preprocessors(site: Path, real_dev: Path) -> None:
    write_dist(site, "acme-steps", "2.0", {"acme-pad": "acme_pad"}, {"acme_pad": PAD_STEP})

    step = by_name(listing(path=[site])["preprocessors"])["pad"]
    assert step["source"] == "entry point (acme-steps 2.0)"
    assert step["params"] == [
        {
            "name": "border",
            "type": "int",
            "required": False,
            "default": 10,
            "description": "white margin to add, in pixels",
        }
    ]

    state = WorkerState(threads=1)
    try:
        task = Task(
            str(real_dev / f"{LINE}.png"), BackendSpec.of("tesseract"), pipeline="pad(border=25)|grayscale"
        )
        outcome = run_task(task, state)
    finally:
        state.close()
    assert outcome.ok, outcome.error_message
    assert outcome.image_size == (993 + 50, 45 + 50)


def test_hook_register_dataset_formats(site: Path, real_dev: Path, tmp_path: Path) -> None:
    write_dist(site, "acme-formats", "0.3", {"acme-tsv": "acme_tsv"}, {"acme_tsv": TSV_FORMAT})
    manifest = tmp_path / "lines.tsv"
    manifest.write_text(f"{real_dev / (LINE + '.png')}\tsome text\n", encoding="utf-8")

    registered = get_registry().formats()["tsv-list"]
    assert registered.detect(manifest)
    [sample] = list(registered().samples(manifest))
    assert sample.image == real_dev / f"{LINE}.png" and sample.ground_truth == "some text"

    dataset_format = by_name(listing(path=[site])["dataset_formats"])["tsv-list"]
    assert dataset_format["plugin"] == "acme-tsv"


# --- failures, duplicates, switches -------------------------------------------


def test_a_plugin_that_fails_to_import_is_listed_and_the_others_still_work(site: Path) -> None:
    write_dist(site, "acme-broken", "0.1", {"broken-thing": "broken_thing"}, {"broken_thing": BROKEN})
    write_dist(site, "acme-ocr", "1.0", {"acme-line": "acme_line"}, {"acme_line": LINE_BACKEND})

    data = listing(path=[site])
    [failure] = data["failures"]
    assert failure["plugin"] == "broken-thing"
    assert failure["source"] == "entry point (acme-broken 0.1)"
    assert failure["error"] == "RuntimeError: this plugin is broken on purpose"
    assert {"rapidocr", "tesseract", "tesseract-line"} <= set(by_name(data["backends"]))

    text = cli("plugins", path=[site]).stdout
    assert "Plugins that failed to load (1)" in text
    assert "RuntimeError: this plugin is broken on purpose" in text

    # An unknown backend's error points at the broken plugin as a likely cause.
    with pytest.raises(Exception, match="plugins that failed to load: broken-thing"):
        get_registry().backend("acme-missing")


def test_a_duplicate_backend_name_is_refused_naming_both_plugins(site: Path) -> None:
    (site / "dup_backend.py").write_text(DUPLICATE, encoding="utf-8")
    registry = get_registry(("dup_backend",))
    [failure] = registry.failures
    assert failure.plugin == "dup_backend" and failure.source == "--plugin"
    assert "named 'tesseract'" in failure.error
    assert "plugin 'tesseract' already registered that name" in failure.error
    assert registry.backend("tesseract") is TesseractBackend


def test_disable_plugins_environment_variable(site: Path) -> None:
    write_dist(site, "acme-broken", "0.1", {"broken-thing": "broken_thing"}, {"broken_thing": BROKEN})
    data = listing(path=[site], env={DISABLE_ENV: "rapidocr, broken-thing"})
    assert "rapidocr" not in by_name(data["backends"])
    assert "tesseract" in by_name(data["backends"])
    assert data["failures"] == []


def test_plugin_option_loads_a_module_from_the_current_folder(tmp_path: Path) -> None:
    (tmp_path / "acme_local.py").write_text(textwrap.dedent(LINE_BACKEND), encoding="utf-8")
    data = listing("--plugin", "acme_local", cwd=tmp_path)
    backend = by_name(data["backends"])["tesseract-line"]
    assert backend["plugin"] == "acme_local" and backend["source"] == "--plugin"
    # Without the option the module is not loaded.
    assert "tesseract-line" not in by_name(listing(cwd=tmp_path)["backends"])


def test_plugin_option_naming_a_missing_module_is_a_listed_failure(tmp_path: Path) -> None:
    data = listing("--plugin", "acme_nowhere", cwd=tmp_path)
    [failure] = data["failures"]
    assert failure["plugin"] == "acme_nowhere"
    assert "ModuleNotFoundError" in failure["error"]


def test_plugins_environment_variable_loads_modules(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (site / "acme_env.py").write_text(textwrap.dedent(PAD_STEP), encoding="utf-8")
    monkeypatch.setenv(PLUGINS_ENV, "acme_env")
    registry = get_registry()
    assert registry.preprocessors["pad"].source == PLUGINS_ENV
    assert [step.name for step in build_pipeline("pad(border=3)", registry.steps())] == ["pad"]


# --- the listing itself -------------------------------------------------------


def test_listing_shows_why_a_backend_cannot_run_and_the_fix(tmp_path: Path) -> None:
    empty = tmp_path / "tessdata"
    empty.mkdir()
    data = listing(env={"TESSDATA_PREFIX": str(empty)})
    tesseract = by_name(data["backends"])["tesseract"]
    assert tesseract["available"] is False
    assert str(empty) in tesseract["reason"]
    assert "apt-get install tesseract-ocr-eng" in tesseract["fix"]
    assert tesseract["languages"] == {}

    text = cli("plugins", env={"TESSDATA_PREFIX": str(empty)}).stdout
    assert (
        f"available: no: no Tesseract language data (*.traineddata) found in TESSDATA_PREFIX={empty}" in text
    )
    assert "fix: apt-get install tesseract-ocr-eng" in text


def test_listing_covers_every_built_in_with_options_and_languages() -> None:
    data = listing()
    backends = by_name(data["backends"])
    rapidocr = backends["rapidocr"]
    assert rapidocr["available"] is True and rapidocr["version"][0].isdigit()
    assert "en" in rapidocr["languages"] and "vi" not in rapidocr["languages"]
    assert by_name(rapidocr["options"])["use_cls"] == {
        "name": "use_cls",
        "type": "bool",
        "required": False,
        "default": False,
        "description": rapidocr_use_cls_description(),
    }
    assert {"en", "fr", "vi"} <= set(backends["tesseract"]["languages"])
    steps = by_name(data["preprocessors"])
    assert by_name(steps["binarize"]["params"])["method"]["type"] == "otsu|sauvola|none"
    assert steps["downscale"]["plugin"] == "preprocess"


def rapidocr_use_cls_description() -> str:
    from ocr_harness_plugins.backends.rapidocr import RapidOcrOptions

    return RapidOcrOptions.model_fields["use_cls"].description or ""


def test_listing_starts_no_engine() -> None:
    code = (
        "import io, json, sys, contextlib\n"
        "from harness.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['plugins', '--json'])\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    loaded = {name.partition(".")[0] for name in json.loads(done.stdout)}
    assert not loaded & {"rapidocr", "onnxruntime", "tesserocr", "cv2", "skimage", "aspose", "pandas"}


def test_a_backend_whose_classmethods_raise_is_listed_with_the_error(site: Path) -> None:
    (site / "acme_fragile.py").write_text(
        textwrap.dedent(
            """
            from harness.backends import Backend
            from harness.hookspecs import hookimpl

            class Fragile(Backend):
                name = "fragile"

                @classmethod
                def availability(cls):
                    raise OSError("probe failed")

                @classmethod
                def languages(cls):
                    raise OSError("no language list")

                def recognize(self, image, *, language):
                    raise NotImplementedError

            @hookimpl
            def register_backends(register):
                register(Fragile)
            """
        ),
        encoding="utf-8",
    )
    data = listing("--plugin", "acme_fragile", path=[site])
    fragile = by_name(data["backends"])["fragile"]
    assert fragile["available"] is False and "OSError: probe failed" in fragile["reason"]
    assert fragile["languages_error"] == "OSError: no language list"
    assert "rapidocr" in by_name(data["backends"])


# --- the documented example plugin ---------------------------------------------


def install_example(site: Path) -> None:
    """Install examples/plugin-example as pip would, from its own pyproject.toml."""
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    write_dist(site, project["name"], project["version"], project["entry-points"]["ocr_harness"], {})


def test_the_example_plugin_installs_and_reads_through_extract(site: Path, real_dev: Path) -> None:
    install_example(site)
    path = [site, EXAMPLE / "src"]  # the metadata, and the package as an editable install finds it
    data = listing(path=path)
    backend = by_name(data["backends"])["tesseract-cli"]
    assert backend["source"] == "entry point (ocr-harness-tesseract-cli 0.1.0)"
    assert backend["available"] is True and backend["version"].startswith("5.")
    assert {"en", "fr"} <= set(backend["languages"])
    assert "autocontrast" in by_name(data["preprocessors"])

    image = real_dev / f"{LINE}.png"
    done = cli(
        "extract",
        "--backend",
        "tesseract-cli",
        "--option",
        "psm=7",
        "--preprocess",
        "autocontrast(cutoff=1)|grayscale",
        "--jobs",
        "1",
        str(image),
        path=path,
    )
    assert done.returncode == 0, done.stderr
    assert cer((real_dev / f"{LINE}.gt.txt").read_text(encoding="utf-8"), done.stdout) < 0.05


def test_the_example_plugin_is_quoted_in_full_in_the_docs() -> None:
    docs = (REPO / "docs" / "plugins.md").read_text(encoding="utf-8")
    for source in sorted((EXAMPLE / "src").rglob("*.py")) + [EXAMPLE / "pyproject.toml"]:
        assert source.read_text(encoding="utf-8").strip() in docs, (
            f"docs/plugins.md lacks {source.name} as it is"
        )


def test_the_worker_environment_is_what_the_backends_declare() -> None:
    registry = get_registry(("fake_thread_env",))
    env = registry.worker_env(3)
    # Each engine's own variables, from its own plugin; none from the executor.
    assert env["FAKE_ENGINE_THREADS"] == "3"
    assert env["OMP_THREAD_LIMIT"] == "3"  # Tesseract's plugin
    assert env["COMPlus_EnableDiagnostics"] == "0"  # noqa: SIM112 (.NET's spelling) - Aspose's plugin
    assert registry.worker_env(1)["FAKE_ENGINE_THREADS"] == "1"


def test_a_backend_whose_worker_env_fails_is_named() -> None:
    from harness.backends import LANGUAGES, Backend
    from harness.errors import PluginError
    from harness.plugins import Registered, Registry

    class Broken(Backend):
        name = "broken-env"

        @classmethod
        def worker_env(cls, threads: int) -> dict[str, str]:
            raise KeyError("THREADS")

        @classmethod
        def languages(cls) -> dict[str, str]:
            return dict.fromkeys(LANGUAGES, "x")

        def recognize(self, image, *, language):  # pragma: no cover - never created
            raise AssertionError

    registry = Registry(backends={"broken-env": Registered(Broken, "broken_plugin", "--plugin")})
    with pytest.raises(PluginError, match="backend 'broken-env' \\(plugin 'broken_plugin'\\).*KeyError"):
        registry.worker_env(2)
