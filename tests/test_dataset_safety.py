"""Links out of a dataset, files that are not regular files, and problem rows labelled by their cause."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from PIL import Image

from harness.cli import main
from harness.datasets import load_dataset
from harness.runner import plan_jobs


def _folder_with_a_link_out(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    Image.new("L", (60, 30), 255).save(data / "page.png")
    secret = tmp_path / "secret.gt.txt"
    secret.write_text("the secret", encoding="utf-8")
    (data / "page.gt.txt").symlink_to(secret)
    return data


def test_a_ground_truth_link_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    (sample,) = load_dataset(_folder_with_a_link_out(tmp_path)).samples
    assert sample.ground_truth is None
    assert "page.gt.txt: the ground truth resolves to" in (sample.problem or "")
    assert "outside the dataset folder" in (sample.problem or "")


def test_run_accepts_allow_outside_root(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _folder_with_a_link_out(tmp_path)
    out = tmp_path / "reports"
    args = ["--plugin", "fake_noop", "run", str(data), "--backend", "noop", "--serial", "--out", str(out)]
    assert main(args) == 0
    (record,) = [json.loads(line) for line in (out / "latest" / "results.jsonl").read_text().splitlines()]
    assert record["status"] == "error" and record["error_type"] == "GroundTruthError"
    assert record["ground_truth"] is None
    assert main([*args, "--allow-outside-root"]) == 0
    (record,) = [json.loads(line) for line in (out / "latest" / "results.jsonl").read_text().splitlines()]
    assert record["status"] == "ok" and record["ground_truth"] == "the secret"


def test_datasets_info_does_not_hang_on_a_fifo_or_dev_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    Image.new("L", (60, 30), 255).save(data / "good.png")
    os.mkfifo(data / "fifo.png")
    (data / "zero.png").symlink_to("/dev/zero")
    assert main(["datasets", "info", str(data), "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["samples"] == 3 and facts["with_problems"] == 2 and facts["unreadable_images"] == 2


def test_manifest_row_problems_are_labelled_dataset_errors(tmp_path: Path) -> None:
    Image.new("L", (60, 30), 255).save(tmp_path / "a.png")
    (tmp_path / "rows.jsonl").write_text(
        '{"image": "a.png", "ground_truth": "x"}\n{"image": "a.png", oops}\n{"image": "a.png", "page": 0}\n',
        encoding="utf-8",
    )
    from harness.plugins import get_registry
    from harness.suite import suite_from_args

    suite = suite_from_args([str(tmp_path / "rows.jsonl")], get_registry(("fake_noop",)), backends=["noop"])
    types = [job.problem_type for job in plan_jobs(suite)]
    assert types == [None, "DatasetError", "DatasetError"]
