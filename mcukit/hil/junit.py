"""JUnit XML for CI: <testsuites> with one <testsuite> per model@board and one <testcase> per check.

A failed check carries <failure message="measured ..., allowed ...">, a check that could not run <error>, and a
check that could not be measured here <skipped>. This is the subset of the format that GitHub, GitLab and Jenkins
report plugins all read.
"""

from __future__ import annotations

import socket
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from mcukit.hil.checks import CheckResult


def junit_xml(suites: Sequence[tuple[str, dict[str, str], Sequence[CheckResult], float]]) -> str:
    """suites: (name, properties, checks, seconds) per model@board."""
    root = ET.Element("testsuites", name="mcukit test")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    total_time = 0.0
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    host = socket.gethostname()
    for name, properties, checks, seconds in suites:
        counts = {
            "tests": len(checks),
            "failures": sum(c.verdict == "fail" for c in checks),
            "errors": sum(c.verdict == "error" for c in checks),
            "skipped": sum(c.verdict == "skipped" for c in checks),
        }
        suite = ET.SubElement(root, "testsuite", name=name, timestamp=stamp, hostname=host,
                              time=f"{seconds:.3f}", **{k: str(v) for k, v in counts.items()})
        if properties:
            props = ET.SubElement(suite, "properties")
            for key, value in properties.items():
                ET.SubElement(props, "property", name=key, value=value)
        classname = "mcukit." + name.replace("@", ".")
        for c in checks:
            case = ET.SubElement(suite, "testcase", classname=classname, name=c.check, time="0")
            if c.verdict == "fail":
                ET.SubElement(case, "failure", message=c.message, type="BudgetExceeded").text = _detail(c)
            elif c.verdict == "error":
                ET.SubElement(case, "error", message=c.message, type="McukitError").text = _detail(c)
            elif c.verdict == "skipped":
                ET.SubElement(case, "skipped", message=c.message)
            else:
                ET.SubElement(case, "system-out").text = f"measured {c.measured}, allowed {c.allowed}"
        for k in totals:
            totals[k] += counts[k]
        total_time += seconds
    for k, v in totals.items():
        root.set(k, str(v))
    root.set("time", f"{total_time:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _detail(c: CheckResult) -> str:
    lines = [c.message]
    if c.measured:
        lines.append(f"measured: {c.measured}")
    if c.allowed:
        lines.append(f"allowed:  {c.allowed}")
    return "\n".join(lines)


def write_junit(path: Path, suites: Sequence[tuple[str, dict[str, str], Sequence[CheckResult], float]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(junit_xml(suites), encoding="utf-8")
