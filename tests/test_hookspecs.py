"""Meta-tests that keep the plugin contract honest: every hook documented, and tested."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from harness import hookspecs

TESTS = Path(__file__).resolve().parent
DOCS = TESTS.parent / "docs" / "plugins.md"

HOOKS = sorted(
    name
    for name, function in inspect.getmembers(hookspecs, inspect.isfunction)
    if hasattr(function, f"{hookspecs.PROJECT_NAME}_spec")
)


def test_there_are_hooks() -> None:
    assert {"register_backends", "register_preprocessors", "register_dataset_formats"} <= set(HOOKS)


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_docstring_says_where_it_runs(hook: str) -> None:
    doc = inspect.getdoc(getattr(hookspecs, hook)) or ""
    assert doc, f"hook {hook} has no docstring"
    match = re.search(r"^Runs in: (.+)$", doc, re.MULTILINE)
    assert match, f"hook {hook}'s docstring lacks a 'Runs in:' line"
    assert re.search(r"main process|worker", match.group(1)), match.group(1)
    assert re.search(r"^Returns: ", doc, re.MULTILINE), f"hook {hook}'s docstring lacks a 'Returns:' line"


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_test(hook: str) -> None:
    pattern = re.compile(rf"^(?:async )?def test_hook_{hook}\b", re.MULTILINE)
    found = [path for path in TESTS.rglob("*.py") if pattern.search(path.read_text(encoding="utf-8"))]
    assert found, f"no test named test_hook_{hook} under tests/"


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_documented_with_its_signature(hook: str) -> None:
    parameters = ", ".join(inspect.signature(getattr(hookspecs, hook)).parameters)
    assert f"{hook}({parameters})" in DOCS.read_text(encoding="utf-8"), (
        f"docs/plugins.md lacks {hook}({parameters})"
    )
