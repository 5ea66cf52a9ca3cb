"""The gate on fair terms: configuration drift, order-free limits, slowdowns across rounds."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from conftest import missing_requirement
from echo_backend import make_echo_dataset

from harness.cli import main

PLUGINS = ("echo_backend",)
LINES = ("line_en_uw3_0033_010060", "line_en_uw3_0317_010133")


def tesseract_run(tmp_path: Path, real_dev: Path, name: str, *options: str, label: str | None = None) -> Path:
    from harness.plugins import get_registry

    if not get_registry().backend("tesseract").availability().ok:
        missing_requirement("tesseract cannot run here")
    data = tmp_path / "lines"
    if not data.exists():
        data.mkdir()
        for stem in LINES:
            for path in real_dev.glob(f"{stem}.*"):
                shutil.copy(path, data / path.name)
    suite = tmp_path / f"{name}.toml"
    values = {
        key: int(value) if value.isdigit() else value for key, value in (o.split("=", 1) for o in options)
    }
    options_toml = ", ".join(f"{key} = {json.dumps(value)}" for key, value in values.items())
    suite.write_text(
        f'name = "{name}"\ndatasets = [{{ path = "lines" }}]\n'
        f'backends = [{{ name = "tesseract"{", label = " + json.dumps(label) if label else ""}, '
        f"options = {{ {options_toml} }} }}]\n"
        'pipelines = ["none"]\nrun = { jobs = 1 }\n',
        encoding="utf-8",
    )
    assert main(["run", str(suite), "--out", str(tmp_path / name), "--no-html"]) == 0
    return (tmp_path / name / "latest").resolve()


def test_check_fails_naming_psm_when_only_psm_changed(tmp_path: Path, real_dev: Path, capsys) -> None:
    baseline = tesseract_run(tmp_path, real_dev, "base")
    changed = tesseract_run(tmp_path, real_dev, "psm6", "psm=6")
    capsys.readouterr()
    assert main(["check", str(changed), "--baseline", str(baseline), "--max-cer-increase", "50pp"]) == 1
    out = capsys.readouterr().out
    failed = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert failed and all("config" in line for line in failed)
    assert "options.psm: auto -> 6" in out
    assert (
        main(
            [
                "check",
                str(changed),
                "--baseline",
                str(baseline),
                "--max-cer-increase",
                "50pp",
                "--allow-config-change",
            ]
        )  # fmt: skip
        == 0
    )
    assert "options.psm: auto -> 6" in capsys.readouterr().out  # still said, no longer failing


def test_a_relabelled_backend_still_pairs_with_its_baseline(tmp_path: Path, real_dev: Path, capsys) -> None:
    baseline = tesseract_run(tmp_path, real_dev, "base")
    renamed = tesseract_run(tmp_path, real_dev, "renamed", label="tess-main")
    capsys.readouterr()
    assert main(["check", str(renamed), "--baseline", str(baseline), "--max-cer-increase", "0.5pp"]) == 0
    out = capsys.readouterr().out
    assert "SKIP" not in out
    assert "PASS  tess-main · none  max_cer_increase" in out


def echo_run(tmp_path: Path, name: str, items: dict[str, tuple[str, str]], *args: str) -> Path:
    data = make_echo_dataset(tmp_path / f"{name}-data", items)
    out = tmp_path / name
    code = main(["--plugin", *PLUGINS, "run", str(data), "--backend", "echo", "--name", name, "--jobs", "1",
                 "--out", str(out), "--no-html", *args])  # fmt: skip
    assert code == 0
    return (out / "latest").resolve()


def test_order_free_limits_gate_recognition_apart_from_reading_order(tmp_path: Path, capsys) -> None:
    # Two lines read in swapped order: CER is high, the order-free measures are zero.
    run = echo_run(
        tmp_path,
        "swapped",
        {"page_en_a": ("second line here\nfirst line here", "first line here\nsecond line here")},
    )
    capsys.readouterr()
    assert (
        main(["--plugin", *PLUGINS, "check", str(run), "--max-cer-unordered", "1%", "--max-bow-wer", "1%"])
        == 0
    )
    assert main(["--plugin", *PLUGINS, "check", str(run), "--max-cer", "1%"]) == 1
    out = capsys.readouterr().out
    assert "max_cer_unordered" in out and "max_bow_wer" in out


def test_a_slowdown_fails_only_when_it_holds_across_rounds(tmp_path: Path, capsys) -> None:
    import csv

    run = echo_run(
        tmp_path, "timed", {f"line_en_{n}": ("same text", "same text") for n in range(3)}, "--rounds", "2"
    )
    with (run / "summary.csv").open(encoding="utf-8") as handle:
        [row] = list(csv.DictReader(handle))
    median, fastest = float(row["pages_per_s"]), float(row["pages_per_s_max"])

    def baseline(name: str, slowest: float, rounds: int = 2) -> Path:
        path = tmp_path / f"{name}.csv"
        fields = {**row, "pages_per_s": str(median * 2), "pages_per_s_min": str(slowest),
                  "pages_per_s_max": str(max(slowest, median * 2)), "rounds": str(rounds)}  # fmt: skip
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(fields))
            writer.writeheader()
            writer.writerow(fields)
        return path

    def check(path: Path) -> tuple[int, str]:
        capsys.readouterr()
        code = main(
            ["--plugin", *PLUGINS, "check", str(run), "--baseline", str(path), "--max-slowdown", "10%"]
        )
        return code, capsys.readouterr().out

    # Half the baseline's median speed, but the fastest round nearly matches the baseline's slowest.
    code, out = check(baseline("overlapping", slowest=fastest * 1.05))
    assert code == 0 and "not in every round" in out
    code, out = check(baseline("consistent", slowest=fastest * 2))
    assert code == 1 and "fastest round vs the baseline's slowest" in out
    code, out = check(baseline("single", slowest=median * 2, rounds=1))
    assert code == 1 and "single round" in out
