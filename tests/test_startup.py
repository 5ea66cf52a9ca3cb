"""Start-up stays light: the CLI's help, the package import and a fresh worker load no engine."""

from __future__ import annotations

import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

import harness.cli
from harness.backends import BackendSpec
from harness.executor import ProcessExecutor
from harness.worker import Task

HEAVY = ("onnxruntime", "rapidocr", "tesserocr", "aspose", "pandas", "cv2", "skimage", "jiwer")
#: The service's own dependencies load only when it starts.
SERVICE = ("fastapi", "uvicorn", "starlette", "multipart")
PLUGINS_DIR = Path(__file__).parent / "plugins"

CHECK = """
import json, sys
{code}
print(json.dumps(sorted({{name.partition(".")[0] for name in sys.modules}})))
"""


def loaded_after(code: str) -> set[str]:
    run = subprocess.run(
        [sys.executable, "-c", CHECK.format(code=code)], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    return set(json.loads(run.stdout.strip().splitlines()[-1]))


def help_of(*argv: str) -> str:
    return f"from harness.cli import main\ntry:\n    main({list(argv)!r})\nexcept SystemExit:\n    pass"


SUBCOMMANDS = sorted(
    info.name for info in pkgutil.iter_modules(harness.cli.__path__) if not info.name.startswith("_")
)


@pytest.mark.parametrize("argv", [["--help"], ["--version"]] + [[name, "--help"] for name in SUBCOMMANDS])
def test_cli_help_imports_no_heavy_module(argv: list[str]) -> None:
    loaded = loaded_after(help_of(*argv))
    assert "harness" in loaded
    heavy = loaded & set(HEAVY + SERVICE)
    assert not heavy, f"'ocr-harness {' '.join(argv)}' imported {sorted(heavy)}"


def test_importing_the_api_imports_no_heavy_module() -> None:
    loaded = loaded_after("import harness, harness.api, harness.executor; harness.extract_text")
    assert not loaded & set(HEAVY)


async def test_a_worker_loads_no_engine_it_was_not_asked_for(tmp_path: Path) -> None:
    image = tmp_path / "blank.png"
    Image.new("L", (8, 8), 255).save(image)
    async with ProcessExecutor(workers=1, plugin_modules=("fake_noop",)) as executor:
        outcome = await executor.run(Task(str(image), BackendSpec.of("noop")))
    assert outcome.ok, outcome.error_message
    loaded = set(outcome.notes["top_level_modules"])
    assert not loaded & set(HEAVY), f"a worker running only 'noop' imported {sorted(loaded & set(HEAVY))}"
    # Workers do not re-run the parent's main script (here, pytest's, which imports pytest).
    assert "_pytest" not in loaded
    assert outcome.worker_pid != os.getpid()
