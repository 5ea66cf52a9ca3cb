"""``ocr-harness doctor``: every backend's availability with reason and fix, and ``--fix NAME``."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from harness.cli import main

FAKES = ["--plugin", "fake_noop", "--plugin", "fake_unavailable"]


def test_an_unavailable_backend_is_shown_with_its_reason_and_fix(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*FAKES, "doctor", "unavailable", "noop"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert (
        out[0].startswith("unavailable ")
        and "unavailable: the fake engine library is not installed" in out[0]
    )
    assert out[1].strip() == "fix: pip install fake-engine"
    assert out[2].split()[:2] == ["noop", "ok"]


def test_available_backends_exit_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*FAKES, "doctor", "noop", "rapidocr"]) == 0
    out = capsys.readouterr().out
    assert "noop" in out and "rapidocr" in out and "unavailable" not in out


def test_every_backend_and_every_broken_plugin_is_listed_by_default(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main([*FAKES, "--plugin", "no_such_plugin_module", "doctor"])
    out = capsys.readouterr().out
    assert code == 1
    for name in ("noop", "unavailable", "rapidocr", "aspose"):
        assert any(line.startswith(name) for line in out.splitlines()), out
    assert "no_such_plugin_module  plugin failed to load (--plugin): ModuleNotFoundError" in out


def test_an_unknown_backend_is_a_configuration_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*FAKES, "doctor", "no-such-engine"]) == 2
    err = capsys.readouterr().err
    assert "unknown backend 'no-such-engine'" in err and "noop" in err
    assert main([*FAKES, "doctor", "--fix", "no-such-engine"]) == 2


def test_fix_on_a_backend_with_nothing_to_provision_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*FAKES, "doctor", "--fix", "noop"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "noop: nothing to provision"
    assert out[1].split()[:2] == ["noop", "ok"]


def test_a_plugin_backend_offers_its_own_fix(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # doctor --fix calls any backend's provision() by name: nothing in harness/ knows the engine.
    runtime = tmp_path / "runtime"
    monkeypatch.setenv("FAKE_ENGINE_RUNTIME", str(runtime))
    plugin = ["--plugin", "fake_thread_env"]
    assert main([*plugin, "doctor", "thread-env"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert f"unavailable: its runtime {runtime / 'runtime.bin'} is missing" in out[0]
    assert out[1].strip() == "fix: ocr-harness doctor --fix thread-env"
    assert main([*plugin, "doctor", "--fix", "thread-env"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"thread-env: fetched the runtime into {runtime / 'runtime.bin'}"
    assert out[1].split()[:2] == ["thread-env", "ok"]
    assert main([*plugin, "doctor", "--fix", "thread-env"]) == 0
    assert capsys.readouterr().out.startswith("thread-env: already provisioned")


def test_doctor_loads_no_engine_into_the_main_process() -> None:
    # Importing aspose.ocr would start .NET here, and a process that has done so breaks its forks.
    code = (
        "import contextlib, io, json, sys\n"
        "from harness.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['doctor'])\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('aspose', 'onnxruntime', 'rapidocr', 'tesserocr', 'pandas'))))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout) == []
