"""The command line as typed: global options anywhere, helpful errors, help texts that read right."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from harness.cli import build_parser, main


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    folder = tmp_path / "scans"
    folder.mkdir()
    Image.new("L", (30, 10), 255).save(folder / "a.png")
    (folder / "a.gt.txt").write_text("noop 30x10\n", encoding="utf-8")
    return folder


def test_plugin_after_the_subcommand_loads_the_plugin(dataset: Path, tmp_path: Path, capsys) -> None:
    argv = ["run", str(dataset), "--plugin", "fake_noop", "--backend", "noop", "--serial"]
    assert main([*argv, "--out", str(tmp_path / "out"), "--no-html"]) == 0
    assert "noop" in capsys.readouterr().out


def test_extract_takes_the_plugin_option_as_a_module_not_a_file(tmp_path: Path, capsys) -> None:
    image = tmp_path / "small.png"
    Image.new("L", (30, 10), 255).save(image)
    assert main(["extract", "--plugin", "fake_noop", str(image), "--backend", "noop", "--jobs", "1"]) == 0
    assert capsys.readouterr().out == "noop 30x10\n"


def test_plugins_before_and_after_the_subcommand_are_all_loaded() -> None:
    from harness.cli import parse_args

    args = parse_args(build_parser(), ["--plugin", "a", "plugins", "--plugin", "b", "--plugin", "c"])
    assert args.plugin == ["a", "b", "c"]
    assert parse_args(build_parser(), ["plugins"]).plugin == []


def test_unknown_backend_says_how_to_load_one(dataset: Path, capsys) -> None:
    assert main(["run", str(dataset), "--backend", "tesseractt", "--serial"]) == 2
    err = capsys.readouterr().err
    assert "unknown backend 'tesseractt' (did you mean 'tesseract'?)" in err
    assert "--plugin MODULE" in err and "'ocr_harness' entry-point group" in err


def test_unknown_backend_in_extract_says_how_to_load_one(dataset: Path, capsys) -> None:
    assert main(["extract", str(dataset / "a.png"), "--backend", "mybackend"]) != 0
    err = capsys.readouterr().err
    assert "unknown backend 'mybackend'" in err and "--plugin MODULE" in err


def _subcommands() -> list[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return sorted(action.choices)


@pytest.mark.parametrize("command", _subcommands())
def test_help_texts_print_percent_signs_once(command: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "%%" not in out
    assert "--plugin MODULE" in out  # the global option is documented where it is accepted


def test_compare_help_names_the_interval_once(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["compare", "--help"])
    assert "95% paired bootstrap" in " ".join(capsys.readouterr().out.split())


def test_figures_quoted_in_the_ci_suite_are_what_the_engines_read(real_dev: Path, tmp_path: Path) -> None:
    """suites/ci.toml says what each engine reads there; the comment must stay true."""
    import re

    import pandas as pd

    suite = Path(__file__).resolve().parent.parent / "suites" / "ci.toml"
    quoted = {
        name: (float(cer) / 100, float(wer) / 100)
        for name, cer, wer in re.findall(
            r'name = "(\w+)"\nthresholds = .*# reads ([\d.]+)% / ([\d.]+)% here', suite.read_text()
        )
    }
    assert set(quoted) == {"tesseract", "rapidocr"}
    assert main(["run", str(suite), "--out", str(tmp_path), "--no-html"]) == 0
    summary = pd.read_csv(next(tmp_path.glob("ci-*/summary.csv")))
    for row in summary.itertuples():
        cer, wer = quoted[row.backend]
        assert row.micro_cer == pytest.approx(cer, abs=0.001), row.backend
        assert row.micro_wer == pytest.approx(wer, abs=0.001), row.backend
    assert main(["check", str(next(tmp_path.glob("ci-*")))]) == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["extract", "--timeout", "nan", "a.png"], "--timeout: must be a number more than 0, not nan"),
        (["run", "scans", "--timeout", "-1"], "--timeout: must be a number more than 0, not -1"),
        (["serve", "--workers", "0"], "--workers: must be at least 1, not 0"),
        (["index", "scans", "--db", "x.db", "--jobs", "two"], "--jobs/-j: 'two' is not a whole number"),
        (["search", "x.db", "words", "--limit", "1.5"], "--limit: '1.5' is not a whole number"),
    ],
)
def test_numbers_out_of_range_are_refused_by_every_command_alike(argv, message, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
