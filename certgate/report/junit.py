"""reports/junit.xml: what pytest's junitxml plugin writes for an audit, kept small.

pytest's writer builds an XML element tree per test and keeps every one until the session
ends; at fleet size (12,600 items for 1,000 addresses) that was about 40 MiB and a second of
the run (bench/README.md). certgate writes the default ``reports/junit.xml`` itself, in
pytest's layout (``junit_family`` xunit2, its default): a ``testsuites`` element holding one
``testsuite`` with the counts, then one ``testcase`` per item with its classname, name and
time, its properties (certgate gives every item control, manual, target and subject), and for
an item that did not pass the element pytest writes, with pytest's own message and text:
``failure`` (the check's finding), ``error`` (``failed on setup with "..."``: an input that
could not be read or reached) or ``skipped`` (``pytest.xfail``: a waived finding).

Per item it keeps the nodeid, the properties list of its last report, its time and, only for
an item that did not pass, that element as text; the file is written line by line at the end.

``--junitxml PATH`` gets pytest's own writer, and so does ``reports/junit.xml`` when an ini
file sets one of pytest's ``junit_*`` options (a suite name, captured output, another family
or duration; :func:`junit_options_set`). ``record_testsuite_property`` is pytest's writer's
only: with certgate's it records nothing (certgate's checks do not use it).
"""

from __future__ import annotations

import functools
import platform
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from _pytest import junitxml as pytest_junit

from certgate.report.results import item_seconds

_NO_SHORTENING = "shorten_message" not in vars(pytest_junit)  # pytest 8 writes it whole


def _short(message: str) -> str:
    if _NO_SHORTENING:
        return message
    return str(pytest_junit.shorten_message(message))


def _clean(text: object) -> str:
    """pytest's visible escape of characters XML cannot hold."""
    return str(pytest_junit.bin_xml_escape(text))


def _attr(value: object) -> str:
    """An attribute value as ElementTree writes it."""
    if isinstance(value, str):
        return _attr_of_text(value)
    return _attr_of_text(str(value))


@functools.lru_cache(maxsize=4096)  # a fleet's properties repeat (controls, sections, targets)
def _attr_of_text(value: str) -> str:
    text = _clean(value)
    for plain, escaped in _ATTR_ESCAPES:
        text = text.replace(plain, escaped)
    return text


def _text(value: object) -> str:
    """Element text as ElementTree writes it."""
    return _clean(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_ATTR_ESCAPES = (
    ("&", "&amp;"),
    ("<", "&lt;"),
    (">", "&gt;"),
    ('"', "&quot;"),
    ("\r", "&#13;"),
    ("\n", "&#10;"),
    ("\t", "&#09;"),
)


@dataclass(slots=True)
class Case:
    """One testcase: what the item's reports said, as pytest's writer would write it."""

    nodeid: str
    seconds: float = 0.0
    properties: list[tuple[str, object]] = field(default_factory=list)
    elements: tuple[str, ...] = ()  # failure/error/skipped, as XML text (most items: none)

    def xml(self) -> str:
        names = pytest_junit.mangle_test_address(self.nodeid)
        head = (
            f'<testcase classname="{_attr(".".join(names[:-1]))}" name="{_attr(names[-1])}"'
            f' time="{self.seconds:.3f}"'
        )
        inner = "".join(self.elements)
        if self.properties:
            listed = "".join(
                f'<property name="{_attr(k)}" value="{_attr(v)}" />' for k, v in self.properties
            )
            inner = f"<properties>{listed}</properties>{inner}"
        return f"{head}>{inner}</testcase>" if inner else f"{head} />"


def _element(tag: str, message: str, text: str | None = None, kind: str | None = None) -> str:
    kind_attr = f' type="{_attr(kind)}"' if kind else ""
    opening = f'<{tag}{kind_attr} message="{_attr(message)}"'
    return f"{opening}>{_text(text)}</{tag}>" if text else f"{opening} />"


def _crash(report: pytest.TestReport | pytest.CollectReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    return str(crash.message) if crash is not None else str(report.longrepr)


def outcome_elements(report: pytest.TestReport) -> list[str]:
    """The element pytest's writer adds to the testcase for this report, if any."""
    if report.passed:
        return []
    if report.skipped:
        return [_skipped(report)]
    if report.when == "call":
        if hasattr(report, "wasxfail"):
            return [_element("skipped", "xfail-marked test passes unexpectedly", "None")]
        return [_element("failure", _short(_crash(report)), str(report.longrepr))]
    reason = (
        f'failed on {"teardown" if report.when == "teardown" else "setup"} with "{_crash(report)}"'
    )
    return [_element("error", _short(reason), str(report.longrepr))]


def _skipped(report: pytest.TestReport) -> str:
    wasxfail = getattr(report, "wasxfail", None)
    if wasxfail is not None:
        return _element("skipped", str(wasxfail).removeprefix("reason: "), kind="pytest.xfail")
    filename, lineno, reason = report.longrepr  # type: ignore[misc,str-unpack]
    reason = str(reason).removeprefix("Skipped: ")
    return _element("skipped", reason, f"{filename}:{lineno}: {reason}", kind="pytest.skip")


# pytest's junit_* ini options and the values certgate's writer writes as (pytest's defaults)
JUNIT_DEFAULTS: dict[str, object] = {
    "junit_suite_name": "pytest",
    "junit_logging": "no",
    "junit_log_passing_tests": True,
    "junit_duration_report": "total",
    "junit_family": "xunit2",
}


def junit_options_set(config: pytest.Config) -> list[str]:
    """The ``junit_*`` options the run sets to something certgate's writer does not write."""
    return [name for name, value in JUNIT_DEFAULTS.items() if config.getini(name) != value]


class JUnitWriter:
    """Writes ``path`` when the session ends, from the reports pytest logged."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.cases: dict[str, Case] = {}
        self.started = time.time()

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.started = time.time()

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            case = self._case(report.nodeid)
            case.elements += (_element("error", "collection failure", str(report.longrepr)),)
        elif report.skipped:
            case = self._case(report.nodeid)
            case.elements += (_element("skipped", "collection skipped", str(report.longrepr)),)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        case = self._case(report.nodeid)
        case.seconds += item_seconds(report)
        found = outcome_elements(report)
        if found:
            case.elements += tuple(found)
        case.properties = report.user_properties  # the last report's: all an item's, as pytest
        # appends them; a plain pass may be reported by its call alone (certgate.protocol)

    def _case(self, nodeid: str) -> Case:
        case = self.cases.get(nodeid)
        if case is None:
            case = self.cases[nodeid] = Case(nodeid)
        return case

    @pytest.hookimpl(trylast=True)  # after certgate's own session end (results.json)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        write_junit(self.path, list(self.cases.values()), self.started)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if terminalreporter.config.get_verbosity() >= 0:
            terminalreporter.write_sep("-", f"generated xml file: {self.path}")


def write_junit(path: Path, cases: list[Case], started: float) -> None:
    """The whole file, one testcase at a time."""
    counts = {"errors": 0, "failures": 0, "skipped": 0}
    tags = {"<error": "errors", "<failure": "failures", "<skipped": "skipped"}
    for case in cases:
        for element in case.elements:
            counts[tags[element.split(" ", 1)[0]]] += 1
    tests = len(cases)
    suite = (
        f'<testsuite name="pytest" errors="{counts["errors"]}" failures="{counts["failures"]}"'
        f' skipped="{counts["skipped"]}" tests="{tests}" time="{time.time() - started:.3f}"'
        f' timestamp="{datetime.fromtimestamp(started, UTC).astimezone().isoformat()}"'
        f' hostname="{_attr(platform.node())}">'
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests">')
        out.write(suite)
        for case in cases:
            out.write(case.xml())
        out.write("</testsuite></testsuites>")
