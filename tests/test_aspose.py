"""The Aspose.OCR backend, for real: its .NET runtime, evaluation mode, licences and crashes.

Needs the ``aspose`` extra and a provisioned runtime (``ocr-harness doctor --fix aspose``,
which ``make test`` runs). Aspose is never imported into this test process: it starts
.NET, after which forked children hang; it runs only in spawned workers and child processes.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import jiwer
import pytest
import pytest_asyncio
from conftest import missing_requirement
from ocr_harness_plugins.backends.aspose import runtime
from ocr_harness_plugins.backends.aspose.backend import (
    _LANGUAGES,
    LICENSE_ENV,
    AsposeBackend,
    AsposeOptions,
    _strip_banner,
    clip_lines,
)
from PIL import Image, ImageDraw, ImageFont

from harness.api import Extractor, extract_many, extract_text
from harness.backends import BackendSpec, Line
from harness.errors import ConfigError, ImageReadError, LicenseError
from harness.executor import ProcessExecutor
from harness.plugins import get_registry
from harness.worker import Outcome, Task

CLI = [str(Path(sys.executable).with_name("ocr-harness"))]
REAL_LINE = "line_en_jebb1896_0136_18.png"  # "that he is under the spell of some angry"
REAL_PAGE = "page_en_oldbooks_a013.tiff"
SYNTHETIC_TEXT = "The quick brown fox jumps over the lazy dog"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf")
ASPOSE = BackendSpec.of("aspose")
# Debian 12's OpenSSL 3, for building a runtime folder .NET cannot use.
OPENSSL3 = [Path("/usr/lib/x86_64-linux-gnu/libcrypto.so.3"), Path("/usr/lib/x86_64-linux-gnu/libssl.so.3")]

pytestmark = pytest.mark.aspose
#: Async tests share the module's event loop, and so the shared executor.
module_loop = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module", autouse=True)
def aspose_ready() -> None:
    if runtime.aspose_version() is None:
        missing_requirement(f"the aspose extra is not installed ({runtime.INSTALL_FIX})")
    availability = AsposeBackend.availability()
    assert availability.ok, (
        f"Aspose.OCR cannot run here: {availability.reason} (fix: {availability.fix}); "
        "make test provisions it with 'ocr-harness doctor --fix aspose'"
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def executor():
    """One spawned worker with two threads, shared by the recognition tests."""
    async with ProcessExecutor(workers=1, threads_per_worker=2) as shared:
        yield shared


def render_line(text: str, path: Path) -> Path:
    """A clear, tightly cropped line of black serif text on white."""
    font = ImageFont.truetype(str(FONT), 40)
    left, top, right, bottom = font.getbbox(text)
    image = Image.new("L", (right - left + 40, bottom - top + 30), 255)
    ImageDraw.Draw(image).text((20 - left, 15 - top), text, font=font, fill=0)
    image.save(path)
    return path


@pytest.fixture(scope="module")
def synthetic_line(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_line(SYNTHETIC_TEXT, tmp_path_factory.mktemp("synthetic") / "clear-line.png")


def ground_truth(real_dev: Path, image: str) -> str:
    return (real_dev / image).with_suffix(".gt.txt").read_text(encoding="utf-8").strip()


def assert_evaluation_prefix(outcome: Outcome, truth: str) -> None:
    """An evaluation-mode result: flagged, banner gone, and the start of the true text."""
    assert outcome.ok, outcome.error_message
    assert outcome.truncated is True
    assert outcome.notes["evaluation_mode"] is True and outcome.notes["licensed"] is False
    text = outcome.text or ""
    assert "Trial" not in text and "***" not in text
    # Pages: Aspose breaks lines where the ground truth has one paragraph per line.
    words, true_words = " ".join(text.split()), " ".join(truth.split())
    assert len(words) >= 10, f"evaluation mode kept too little to compare: {text!r}"
    assert len(words) < len(true_words)
    prefix = true_words[: len(words)]
    assert jiwer.cer(prefix, words) <= 0.05, (words, prefix)


# --- pure parts: no engine -----------------------------------------------------


def test_the_trial_banner_is_stripped_and_reported() -> None:
    text, had_banner = _strip_banner(
        "WHY AND WHEREFORE.\nare lau\n ************* Trial Licenses ************* \n"
    )
    assert (text, had_banner) == ("WHY AND WHEREFORE.\nare lau", True)
    assert _strip_banner("\n ************* Trial Licenses ************* \n") == ("", True)
    # Seen with detect_areas_mode=lean: the cut leaves part of a first banner before the last one.
    cut = "Invoice 2024 tota\n ************* Tria\n ************* Trial Licenses ************* \n"
    assert _strip_banner(cut) == ("Invoice 2024 tota", True)
    assert _strip_banner("a licensed text\n") == ("a licensed text\n", False)


def test_lines_are_clipped_to_the_text_evaluation_mode_kept() -> None:
    lines = [Line("WHY AND WHEREFORE.", (1, 2, 3, 4)), Line("In making a study"), Line("never shown")]
    clipped = clip_lines(lines, len("WHY AND WHEREFORE.\nIn mak"))
    assert [line.text for line in clipped] == ["WHY AND WHEREFORE.", "In mak"]
    assert clipped[0].box == (1, 2, 3, 4)
    assert clip_lines(lines, 0) == []


def test_availability_names_the_extra_when_the_package_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "aspose_version", lambda: None)
    availability = AsposeBackend.availability()
    assert not availability.ok and "aspose-ocr-python-net" in availability.reason
    assert availability.fix == "pip install 'ocr-harness[aspose]'"


def test_the_fingerprint_names_the_runtime_and_the_licence_mode() -> None:
    facts = AsposeBackend.fingerprint(AsposeOptions())
    assert facts["openssl"].startswith("libssl1.1 1.1.1") and facts["license"] == "evaluation mode"


def test_every_language_and_area_mode_exists_in_the_installed_aspose() -> None:
    # In a child process: importing aspose here would start .NET in the test process.
    code = textwrap.dedent(
        """
        import json
        from ocr_harness_plugins.backends.aspose import runtime
        runtime.prepare_process(runtime.runtime_dir())
        import aspose.ocr as ocr
        print(json.dumps({
            "languages": [n for n in dir(ocr.Language) if n.isupper()],
            "modes": [n for n in dir(ocr.DetectAreasMode) if n.isupper()],
        }))
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    found = json.loads(result.stdout)
    assert set(_LANGUAGES.values()) <= set(found["languages"])
    modes = AsposeOptions.model_fields["detect_areas_mode"].annotation.__args__  # type: ignore[union-attr]
    assert {mode.upper() for mode in modes} <= set(found["modes"])
    assert {"en", "fr", "de", "es", "vi"} <= set(AsposeBackend.languages())


# --- recognition in a spawned worker ------------------------------------------


@module_loop
async def test_a_real_line_is_read_in_evaluation_mode(executor: ProcessExecutor, real_dev: Path) -> None:
    outcome = await executor.run(Task(str(real_dev / REAL_LINE), ASPOSE, language="en"), timeout=300)
    assert_evaluation_prefix(outcome, ground_truth(real_dev, REAL_LINE))
    # A tight line crop has no page layout: "auto" read it as a single line.
    assert outcome.notes["single_line"] is True
    assert outcome.thread_settings["onnxruntime_intra_op_threads"] == 2
    assert outcome.worker_pid != os.getpid()


@module_loop
async def test_a_clear_synthetic_line_is_read_in_evaluation_mode(
    executor: ProcessExecutor, synthetic_line: Path
) -> None:
    spec = BackendSpec.of("aspose", {"single_line": True})
    outcome = await executor.run(Task(str(synthetic_line), spec), timeout=300)
    assert_evaluation_prefix(outcome, SYNTHETIC_TEXT)
    assert outcome.lines and outcome.lines[0]["text"] == outcome.text


@module_loop
async def test_recognition_options_reach_the_engine_without_network(
    executor: ProcessExecutor, tmp_path: Path
) -> None:
    invoice = str(render_line("Invoice 2024 total 1234 paid", tmp_path / "invoice.png"))
    digits_only = BackendSpec.of("aspose", {"single_line": True, "allowed_symbols": "0123456789 "})
    lean_filtered = BackendSpec.of(
        "aspose", {"detect_areas_mode": "lean", "auto_skew": True, "auto_contrast": True}
    )
    digits, lean = await asyncio.gather(
        executor.run(Task(invoice, digits_only), timeout=300),
        executor.run(Task(invoice, lean_filtered), timeout=300),
    )
    assert digits.ok and lean.ok, (digits.error_message, lean.error_message)
    assert "2024" in (digits.text or "") and not any(char.isalpha() for char in digits.text or "")
    # Lean mode finds the line without the single-line fallback; its cut left a banner fragment.
    assert (lean.text or "").startswith("Invoice") and "*" not in (lean.text or "")
    assert lean.notes["single_line"] is False


def test_modes_that_download_models_are_refused_before_any_ocr() -> None:
    with pytest.raises(ConfigError, match="detect_areas_mode") as caught:
        Extractor(backend="aspose", backend_options={"detect_areas_mode": "table"})
    assert "'universal'" in str(caught.value) and "'lean'" in str(caught.value)


@pytest.mark.slow
@module_loop
async def test_a_real_page_keeps_only_what_evaluation_mode_returned(
    executor: ProcessExecutor, real_dev: Path
) -> None:
    outcome = await executor.run(Task(str(real_dev / REAL_PAGE), ASPOSE), timeout=600)
    assert_evaluation_prefix(outcome, ground_truth(real_dev, REAL_PAGE).replace("\u2014", "--"))
    assert outcome.notes["single_line"] is False
    # Aspose's line list is longer than the text it cut; the lines passed on are cut with it.
    assert "\n".join(line["text"] for line in outcome.lines) == outcome.text
    assert all(line["box"] is not None for line in outcome.lines)


# --- runtime missing or broken: errors, never a dead harness -----------------


def doctor(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "doctor", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


def openssl3_disguised_as_1_1(folder: Path) -> Path:
    """A runtime folder holding OpenSSL 3 under OpenSSL 1.1's file names: .NET aborts with it."""
    (folder / "lib").mkdir(parents=True)
    for source, name in zip(OPENSSL3, runtime.LIBRARIES, strict=True):
        if not source.is_file():
            pytest.skip(f"{source} is not here to build a broken runtime from")
        shutil.copy(source, folder / "lib" / name)
    return folder


def test_doctor_shows_aspose_available() -> None:
    result = doctor("aspose")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("aspose") and " ok (" in result.stdout


def test_plugins_shows_aspose_available_or_why_not(tmp_path: Path) -> None:
    def listed(env: dict[str, str] | None = None) -> dict[str, object]:
        result = subprocess.run(
            [*CLI, "plugins", "--json"],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, **(env or {})},
        )
        return next(b for b in json.loads(result.stdout)["backends"] if b["name"] == "aspose")

    assert listed()["available"] is True
    missing = listed({runtime.RUNTIME_ENV: str(tmp_path / "empty")})
    assert missing["available"] is False and missing["fix"] == "ocr-harness doctor --fix aspose"


def test_doctor_shows_missing_runtime_with_the_fix(tmp_path: Path) -> None:
    result = doctor(env={runtime.RUNTIME_ENV: str(tmp_path / "empty")})
    assert result.returncode == 1
    assert "aspose" in result.stdout and "unavailable: OpenSSL 1.1" in result.stdout
    assert "fix: ocr-harness doctor --fix aspose" in result.stdout
    assert "rapidocr" in result.stdout  # the other backends are still listed
    assert "Traceback" not in result.stderr


def test_doctor_probes_broken_libraries_in_a_child_and_survives(tmp_path: Path) -> None:
    broken = openssl3_disguised_as_1_1(tmp_path / "broken")
    result = doctor("aspose", env={runtime.RUNTIME_ENV: str(broken)})
    assert result.returncode == 1, result.stdout
    assert ".NET did not start" in result.stdout and "SIGABRT" in result.stdout
    assert "libssl" in result.stdout
    assert not (broken / runtime.PROBE_CACHE).exists()  # a failed probe is never cached


@module_loop
async def test_jobs_fail_cleanly_without_the_runtime_and_other_jobs_finish(
    tmp_path: Path, real_dev: Path
) -> None:
    env = {runtime.RUNTIME_ENV: str(tmp_path / "empty")}
    image = str(real_dev / REAL_LINE)
    async with ProcessExecutor(workers=1, plugin_modules=("fake_noop",), env=env) as ex:
        aspose, other = await asyncio.gather(
            ex.run(Task(image, ASPOSE)), ex.run(Task(image, BackendSpec.of("noop")))
        )
    assert aspose.error_type == "EngineNotInstalledError"
    assert "OpenSSL 1.1" in (aspose.error_message or "") and "doctor --fix aspose" in (
        aspose.error_message or ""
    )
    assert other.ok and (other.text or "").startswith("noop ")


@module_loop
async def test_a_dotnet_abort_in_a_worker_is_an_error_row_and_other_jobs_finish(
    tmp_path: Path, real_dev: Path
) -> None:
    broken = openssl3_disguised_as_1_1(tmp_path / "broken")
    # A stale probe record claims these libraries work, so the worker trusts them and .NET aborts it.
    (broken / runtime.PROBE_CACHE).write_text(json.dumps(runtime._probe_key(broken)), encoding="utf-8")
    image = str(real_dev / REAL_LINE)
    async with ProcessExecutor(
        workers=1, plugin_modules=("fake_noop",), env={runtime.RUNTIME_ENV: str(broken)}
    ) as ex:
        outcomes = await asyncio.gather(
            ex.run(Task(image, ASPOSE), timeout=120),
            ex.run(Task(image, BackendSpec.of("noop")), timeout=120),
            ex.run(Task(image, ASPOSE), timeout=120),
            ex.run(Task(image, BackendSpec.of("noop")), timeout=120),
        )
    crashed = [outcomes[0], outcomes[2]]
    assert [o.error_type for o in crashed] == ["EngineCrashedError"] * 2
    assert all("SIGABRT" in (o.error_message or "") and image in (o.error_message or "") for o in crashed)
    assert outcomes[1].ok and outcomes[3].ok


# --- licences ---------------------------------------------------------------


def test_a_licence_path_that_does_not_exist_fails_before_any_ocr(tmp_path: Path) -> None:
    missing = tmp_path / "Aspose.OCR.lic"
    with pytest.raises(LicenseError, match="does not exist") as caught:
        Extractor(backend="aspose", backend_options={"license": str(missing)})
    assert str(missing) in str(caught.value) and "'license'" in str(caught.value)


def test_a_missing_licence_named_by_the_environment_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "nowhere.lic"
    monkeypatch.setenv(LICENSE_ENV, str(missing))
    with pytest.raises(LicenseError, match=LICENSE_ENV):
        AsposeOptions()
    with pytest.raises(LicenseError, match=LICENSE_ENV):
        Extractor(backend="aspose")
    result = doctor("aspose")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"unavailable: ${LICENSE_ENV} names the Aspose.OCR licence file {missing}" in result.stdout
    assert "fix: give the path of your .lic file" in result.stdout


@module_loop
async def test_an_invalid_licence_file_is_a_clear_error_row(
    executor: ProcessExecutor, tmp_path: Path, real_dev: Path
) -> None:
    invalid = tmp_path / "Aspose.OCR.lic"
    invalid.write_text("<License><Data>not signed</Data><Signature>###</Signature></License>\n")
    spec = BackendSpec.of("aspose", {"license": str(invalid)})
    image = str(real_dev / REAL_LINE)
    bad, good = await asyncio.gather(
        executor.run(Task(image, spec), timeout=300), executor.run(Task(image, ASPOSE), timeout=300)
    )
    assert bad.error_type == "LicenseError"
    assert f"{invalid} is not a valid Aspose.OCR licence" in (bad.error_message or "")
    assert good.ok and good.truncated


# --- the public ways in: the async API and the CLI ------------------------------


@module_loop
async def test_the_async_api_reads_with_aspose(real_dev: Path, synthetic_line: Path, tmp_path: Path) -> None:
    line = real_dev / REAL_LINE
    if os.environ.get(LICENSE_ENV):
        text = await extract_text(line, backend="aspose")
    else:  # without a licence the caller is told its texts are cut short
        with pytest.warns(UserWarning, match="evaluation mode: texts are cut short"):
            text = await extract_text(line, backend="aspose")
    assert text and ground_truth(real_dev, REAL_LINE).startswith(text[:10])
    missing = tmp_path / "missing.png"
    results = await extract_many([line, missing, synthetic_line], backend="aspose")
    assert results[0] == text
    assert isinstance(results[1], ImageReadError) and str(missing) in str(results[1])
    assert isinstance(results[2], str) and SYNTHETIC_TEXT.startswith(results[2][:10])


def test_the_cli_extracts_text_with_aspose(real_dev: Path) -> None:
    result = subprocess.run(
        [*CLI, "extract", "--backend", "aspose", "--jobs", "2", str(real_dev / REAL_LINE)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() and ground_truth(real_dev, REAL_LINE).startswith(result.stdout.strip()[:10])
    assert "Trial" not in result.stdout


def test_plugins_registry_lists_aspose_from_its_entry_point() -> None:
    entry = get_registry().backends["aspose"]
    assert entry.obj is AsposeBackend and entry.source.startswith("entry point")


# --- provisioning -------------------------------------------------------------


@pytest.mark.slow
def test_provisioning_fetches_verifies_and_is_idempotent(tmp_path: Path) -> None:
    target = tmp_path / "runtime"
    first = doctor("--fix", "aspose", env={runtime.RUNTIME_ENV: str(target)})
    assert first.returncode == 0, first.stdout + first.stderr
    assert "installed libssl1.1" in first.stdout and "aspose" in first.stdout and " ok (" in first.stdout
    made = json.loads((target / runtime.MANIFEST).read_text())
    assert made["package"] == "libssl1.1" and len(made["deb_sha256"]) == 64
    assert (target / runtime.PROBE_CACHE).is_file()
    again = doctor("--fix", "aspose", env={runtime.RUNTIME_ENV: str(target)})
    assert again.returncode == 0 and "already provisioned" in again.stdout


def test_provisioning_never_replaces_a_folder_it_did_not_make(tmp_path: Path) -> None:
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("my own files\n")
    result = doctor("--fix", "aspose", env={runtime.RUNTIME_ENV: str(foreign)})
    assert result.returncode == 4
    assert "did not put there" in result.stderr and (foreign / "notes.txt").is_file()


# --- evaluation mode is visible everywhere ---------------------------------------


def test_doctor_says_evaluation_mode_cuts_texts_and_how_to_add_a_licence() -> None:
    env = {key: value for key, value in os.environ.items() if key != "ASPOSE_OCR_LICENSE"}
    result = subprocess.run([*CLI, "doctor", "aspose"], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "evaluation mode: texts are cut short" in result.stdout
    assert "ASPOSE_OCR_LICENSE" in result.stdout and "license=" in result.stdout


def test_extract_warns_on_stderr_and_flags_truncated_json(real_dev: Path) -> None:
    result = subprocess.run(
        [*CLI, "extract", "--backend", "aspose", "--jobs", "1", "--json", str(real_dev / REAL_LINE)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    entry = json.loads(result.stdout)[0]
    assert entry["truncated"] is True and entry["pages"][0]["truncated"] is True
    assert "warning: aspose: evaluation mode: texts are cut short" in result.stderr


async def test_the_api_warns_once_per_extractor_and_flags_results(real_dev: Path) -> None:
    from harness.api import Extractor

    with pytest.warns(UserWarning, match="evaluation mode: texts are cut short") as caught:
        async with Extractor(backend="aspose", concurrency=1) as extractor:
            first = await extractor.extract_document(real_dev / REAL_LINE)
            await extractor.extract_text(real_dev / REAL_LINE)
    assert first.truncated and first.pages[0].truncated
    assert len([w for w in caught if issubclass(w.category, UserWarning)]) == 1
