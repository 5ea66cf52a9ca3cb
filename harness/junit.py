"""JUnit XML for CI systems: one test case per check, so each threshold shows as its own test."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from harness.check import CheckResult
from harness.errors import OutputError
from harness.files import describe_os_error, write_text_atomic


def junit_xml(results: Sequence[CheckResult], *, suite_name: str = "ocr-harness check") -> str:
    """The results as a JUnit ``<testsuites>`` document (failures and skips included)."""
    failures = sum(r.status == "fail" for r in results)
    skipped = sum(r.status == "skip" for r in results)
    root = ET.Element("testsuites", name=suite_name, tests=str(len(results)), failures=str(failures))
    suite = ET.SubElement(
        root,
        "testsuite",
        name=suite_name,
        tests=str(len(results)),
        failures=str(failures),
        errors="0",
        skipped=str(skipped),
    )
    for result in results:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"{result.backend}.{result.pipeline}",
            name=result.name,
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


def write_junit(results: Sequence[CheckResult], path: Path, *, suite_name: str = "ocr-harness check") -> Path:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(
            f"{path}: cannot be written: its folder cannot be created ({describe_os_error(error)})"
        ) from None
    write_text_atomic(path, junit_xml(results, suite_name=suite_name))
    return path
