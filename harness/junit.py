"""JUnit XML for CI systems: one test case per check, so each threshold shows as its own test.

CI viewers read a test case's ``classname`` as a dotted package path, so it is
``ocr_harness.<suite>`` with only ``[A-Za-z0-9_-]`` in the suite part, and the group
goes into the case's ``name``: ``<backend> · <pipeline> · <check>``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from harness.check import CheckResult
from harness.errors import OutputError
from harness.files import describe_os_error, write_text_atomic

_NOT_PLAIN = re.compile(r"[^A-Za-z0-9_-]+")


def junit_classname(suite: str | None) -> str:
    """``ocr_harness.<suite>``: the suite name as one plain identifier (dots would nest it)."""
    plain = _NOT_PLAIN.sub("_", suite or "").strip("_") or "run"
    return f"ocr_harness.{plain}"


def junit_xml(results: Sequence[CheckResult], *, suite: str | None = None) -> str:
    """The results as a JUnit ``<testsuites>`` document (failures and skips included)."""
    suite_name = f"ocr-harness check: {suite}" if suite else "ocr-harness check"
    failures = sum(r.status == "fail" for r in results)
    skipped = sum(r.status == "skip" for r in results)
    root = ET.Element("testsuites", name=suite_name, tests=str(len(results)), failures=str(failures))
    testsuite = ET.SubElement(
        root,
        "testsuite",
        name=suite_name,
        tests=str(len(results)),
        failures=str(failures),
        errors="0",
        skipped=str(skipped),
    )
    classname = junit_classname(suite)
    for result in results:
        case = ET.SubElement(
            testsuite,
            "testcase",
            classname=classname,
            name=f"{result.group} · {result.name}",
            time="0",
        )
        if result.status == "fail":
            failure = ET.SubElement(case, "failure", message=result.message, type=result.name)
            failure.text = f"{result.group}: {result.name}: {result.message}"
        elif result.status == "skip":
            ET.SubElement(case, "skipped", message=result.message)
        else:
            ET.SubElement(case, "system-out").text = result.message
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def write_junit(results: Sequence[CheckResult], path: Path, *, suite: str | None = None) -> Path:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(
            f"{path}: cannot be written: its folder cannot be created ({describe_os_error(error)})"
        ) from None
    write_text_atomic(path, junit_xml(results, suite=suite))
    return path
