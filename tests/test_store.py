"""results.jsonl: durable appends, and reading what a killed run left behind."""

from __future__ import annotations

import json
import logging
import math

import pytest

from harness import store as store_module
from harness.errors import InputError
from harness.store import ResultStore, read_results


def test_every_append_is_flushed_and_fsynced(tmp_path, monkeypatch):
    synced = []
    real_fsync = store_module.os.fsync
    monkeypatch.setattr(store_module.os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    path = tmp_path / "results.jsonl"
    with ResultStore(path) as store:
        store.append({"key": "a", "text": "é ſ"})
        # Readable by someone else before the store is closed: nothing waits in a buffer.
        assert read_results(path) == [{"key": "a", "text": "é ſ"}]
        store.append({"key": "b"})
    assert len(synced) == 2
    assert path.read_text(encoding="utf-8").count("\n") == 2


def test_a_torn_last_line_is_ignored(tmp_path, caplog):
    path = tmp_path / "results.jsonl"
    path.write_text('{"key": "a"}\n{"key": "b"}\n{"key": "c", "te', encoding="utf-8")
    with caplog.at_level(logging.INFO):
        assert [record["key"] for record in read_results(path)] == ["a", "b"]
    assert "torn last line" in caplog.text


def test_a_damaged_line_in_the_middle_is_skipped_with_a_warning(tmp_path, caplog):
    path = tmp_path / "results.jsonl"
    path.write_bytes(b'{"key": "a"}\n\xff\xfe garbage\n[1, 2]\n{"key": "b"}\n')
    with caplog.at_level(logging.WARNING):
        assert [record["key"] for record in read_results(path)] == ["a", "b"]
    assert "line 2 is damaged" in caplog.text
    assert "line 3 is damaged" in caplog.text


def test_reopening_cuts_the_torn_tail_before_appending(tmp_path):
    path = tmp_path / "results.jsonl"
    path.write_text('{"key": "a"}\n{"key": "b", "half', encoding="utf-8")
    with ResultStore(path) as store:
        store.append({"key": "c"})
    assert path.read_text(encoding="utf-8") == '{"key": "a"}\n{"key": "c"}\n'
    path.write_text('{"key": "only", "half', encoding="utf-8")
    with ResultStore(path) as store:
        store.append({"key": "d"})
    assert read_results(path) == [{"key": "d"}]


def test_non_finite_numbers_are_stored_as_null(tmp_path):
    path = tmp_path / "results.jsonl"
    with ResultStore(path) as store:
        store.append({"key": "a", "lines": [{"confidence": math.nan}], "x": math.inf})
    line = path.read_text(encoding="utf-8")
    assert "NaN" not in line and "Infinity" not in line
    assert json.loads(line) == {"key": "a", "lines": [{"confidence": None}], "x": None}


def test_a_missing_results_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no such results file"):
        read_results(tmp_path / "results.jsonl")
