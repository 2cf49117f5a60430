"""certgate's one-step item protocol (certgate/protocol.py) reports exactly what pytest's own
protocol reports, and steps aside when a run asks for what only pytest's gives."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from certgate.report.results import stable_nodeid
from tests.support.audit import (
    BYTES_READ,
    Audit,
    comparable_rows,
    lab_site,
    project,
    report_table,
    run,
    run_beside,
)

# junit.xml's run-dependent attributes
_TIMES = re.compile(r' (time|timestamp|hostname)="[^"]*"')


def _junit(audit: Audit) -> str:
    text = (audit.reports / "junit.xml").read_text(encoding="utf-8")
    return BYTES_READ.sub("(N bytes read)", _TIMES.sub("", text))


def _counts_line(audit: Audit) -> str:
    return next(line for line in audit.stdout.splitlines()[::-1] if " in " in line)


def test_one_step_and_pytest_protocols_report_the_same_demo_audit(demo_audit: Audit):
    """The demo (files, hosts, pages, warnings, waivers, errors) audited through pytest's own
    protocol gives the rows, junit.xml and counts the default one-step protocol gave."""
    by_pytest = run_beside(demo_audit, "reports-pytest", "--item-protocol=pytest")
    assert by_pytest.status == demo_audit.status == 1
    outcomes = {r["outcome"] for r in demo_audit.json["results"]}
    assert outcomes == {"passed", "failed", "warning", "error"}
    assert comparable_rows(by_pytest) == comparable_rows(demo_audit)
    assert _junit(by_pytest) == _junit(demo_audit)
    assert by_pytest.json["summary"] == demo_audit.json["summary"]
    assert re.sub(r" in [\d.]+s", "", _counts_line(by_pytest)) == re.sub(
        r" in [\d.]+s", "", _counts_line(demo_audit)
    )
    assert "pytest's own protocol (--item-protocol=pytest)" in by_pytest.stdout
    assert "own protocol" not in demo_audit.stdout  # the demo ran in one step


@pytest.fixture
def files_project(tmp_path: Path, demo_lab: Path) -> Path:
    targets = "targets:\n" + lab_site(demo_lab, "good-3tier", "csr", "certificate")
    return project(tmp_path / "audit", targets)


def _with_plugin(folder: Path, source: str, *args: str) -> Audit:
    """An audit run with an administrator's plugin (``-p adminplugin``) of this source."""
    (folder / "adminplugin.py").write_text(source, encoding="utf-8")
    return run(folder, "-p", "adminplugin", *args)


def _written(folder: Path, name: str) -> list[str]:
    """The nodeids a plugin wrote to ``name``, as certgate names them."""
    return sorted(map(stable_nodeid, (folder / name).read_text(encoding="utf-8").splitlines()))


def test_an_autouse_fixture_of_the_admins_conftest_runs_for_every_item(files_project: Path):
    """An autouse fixture (of a plugin the admin gives with -p), which the checks do not take
    from certgate: pytest's protocol gives it to every item."""
    audit = _with_plugin(
        files_project,
        "import pytest\n\n"
        "@pytest.fixture(autouse=True)\n"
        "def stamp(request):\n"
        "    with open('stamped.txt', 'a') as out:\n"
        "        out.write(request.node.nodeid + '\\n')\n",
    )
    assert len(audit.json["results"]) > 3
    assert _written(files_project, "stamped.txt") == sorted(r["nodeid"] for r in audit.rows())


def test_a_plugin_hooking_a_phase_is_honoured(files_project: Path):
    """A plugin with a pytest_runtest_call hook: every item goes pytest's way,
    the hook sees every item, and the terminal says why."""
    audit = _with_plugin(
        files_project,
        "def pytest_runtest_call(item):\n"
        "    with open('called.txt', 'a') as out:\n"
        "        out.write(item.nodeid + '\\n')\n",
    )
    assert _written(files_project, "called.txt") == sorted(r["nodeid"] for r in audit.rows())
    assert "pytest's own protocol (plugin " in audit.stdout
    assert "hooks pytest_runtest_call)" in audit.stdout


def test_a_skip_mark_added_by_a_plugin_skips_the_item(files_project: Path):
    audit = _with_plugin(
        files_project,
        "import pytest\n\n"
        "def pytest_collection_modifyitems(items):\n"
        "    for item in items:\n"
        "        if 'rsa_2048' in item.nodeid:\n"
        "            item.add_marker(pytest.mark.skip(reason='not today'))\n",
        "-rs",
    )
    assert "SKIPPED" in audit.stdout
    assert "not today" in audit.stdout
    assert not audit.rows("rsa-2048")  # a skipped item is not judged


def test_warnings_stay_strict_in_one_step(demo_audit: Audit):
    """-W error::certgate.ComplianceWarning turns the demo's warnings into failures in the
    one-step protocol too (pytest's warnings plugin wraps it)."""
    strict = run_beside(demo_audit, "reports-strict", "-W", "error::certgate.ComplianceWarning")
    warned = {
        (r["target"], r["control"], r["subject"])
        for r in demo_audit.rows()
        if r["outcome"] == "warning"
    }
    assert warned
    now_failed = {
        (r["target"], r["control"], r["subject"]) for r in strict.rows() if r["outcome"] == "failed"
    }
    assert warned <= now_failed
    assert "own protocol" not in strict.stdout


def test_the_terminal_counts_every_pass_and_lists_them_when_asked(files_project: Path):
    """pytest's terminal keeps only a count of one-step passes, unless -rA (or -rp, -rP) asks
    it to list them: both runs count as results.json does, and -rA names every pass."""
    counted = run(files_project)
    listed = run(files_project, "-rA", "--reports-dir", "reports-listed")
    passed = [r["nodeid"] for r in counted.rows() if r["outcome"] == "passed"]
    assert len(passed) >= 5
    for audit in (counted, listed):
        assert f"{len(passed)} passed" in _counts_line(audit)
    shown = {line.split()[1] for line in listed.stdout.splitlines() if line.startswith("PASSED ")}
    assert shown == set(passed)
    assert not any(line.startswith("PASSED ") for line in counted.stdout.splitlines())


def test_items_of_both_protocols_in_one_run_set_up_and_tear_down_cleanly(files_project: Path):
    """Marked items go pytest's way, the others in one step, in the same modules: pytest's
    setup state is torn down between them as its own protocol would (no "previous item was
    not torn down properly"), and the outcomes are those of an all-pytest run."""
    source = (
        "import pytest\n\n"
        "def pytest_collection_modifyitems(items):\n"
        "    for item in items:\n"
        "        if 'csr]' in item.nodeid:\n"
        "            item.add_marker(pytest.mark.xfail(reason='checked'))\n"
    )
    mixed = _with_plugin(files_project, source, "--runxfail", "-rA")
    by_pytest = _with_plugin(files_project, source, "--runxfail", "--item-protocol=pytest")
    assert "not torn down" not in mixed.stdout
    assert "error" not in _counts_line(mixed)
    assert re.sub(r" in [\d.]+s", "", _counts_line(mixed)) == re.sub(
        r" in [\d.]+s", "", _counts_line(by_pytest)
    )


def test_durations_list_one_step_items_as_pytest_does(files_project: Path):
    """--durations reads every phase's report: the one-step protocol keeps them for it."""
    args = ("--durations=0", "--durations-min=0")
    one_step = run(files_project, *args)
    by_pytest = run(files_project, *args, "--item-protocol=pytest")

    def phases(audit: Audit) -> list[str]:
        lines = audit.stdout.split("slowest durations")[1].splitlines()
        return sorted(
            " ".join(line.split()[1:])
            for line in lines
            if line.split()[1:2] in (["setup"], ["call"], ["teardown"])
        )

    assert len(phases(one_step)) == 3 * len(one_step.rows())
    assert phases(one_step) == phases(by_pytest)


_WARNS_IN_EACH_ITEM = (
    "import warnings\n\n"
    "def pytest_runtest_logreport(report):\n"
    "    if report.when == 'call' and 'rsa_2048' in report.nodeid:\n"
    "        warnings.warn(UserWarning('seen by the admin plugin'))\n"
)


def _warnings_summary(audit: Audit) -> str:
    return audit.stdout.split("warnings summary")[1].split("-- Docs")[0]


def test_a_warning_raised_in_a_batch_is_reported_under_its_own_item(files_project: Path):
    """Plain items run as one batch under one protocol call: a warning raised while an item
    runs is still reported under that item's id, for every item that raised it (the same
    message from the same line, which Python shows once per registry unless reset), exactly
    as pytest's own protocol reports it."""
    batched = _with_plugin(files_project, _WARNS_IN_EACH_ITEM)
    by_pytest = _with_plugin(files_project, _WARNS_IN_EACH_ITEM, "--item-protocol=pytest")
    summary = _warnings_summary(batched)
    warned = [line for line in summary.splitlines() if "test_rsa_2048[" in line]
    assert len(warned) == len(batched.rows("rsa-2048")) >= 2
    assert summary.count("UserWarning: seen by the admin plugin") == 1  # grouped, as pytest does
    assert summary == _warnings_summary(by_pytest)
    assert "own protocol" not in batched.stdout


def test_stopping_at_the_first_failure_stops_where_pytests_protocol_stops(demo_audit: Audit):
    """-x in the middle of a batch: the same items ran, with the same outcomes, as under
    pytest's own protocol, and the run stopped early."""
    batched = run_beside(demo_audit, "reports-x", "-x")
    by_pytest = run_beside(demo_audit, "reports-x-pytest", "-x", "--item-protocol=pytest")
    assert 0 < len(batched.rows()) < len(demo_audit.rows())
    assert comparable_rows(batched) == comparable_rows(by_pytest)
    assert re.sub(r" in [\d.]+s", "", _counts_line(batched)) == re.sub(
        r" in [\d.]+s", "", _counts_line(by_pytest)
    )
    assert "stopping after 1 failures" in batched.stdout


def test_a_plugin_wrapping_each_items_protocol_sees_every_item(files_project: Path):
    """A plugin around pytest_runtest_protocol (as pytest-rerunfailures or a timing plugin
    is): the items are not batched, so the hook is called for every item."""
    audit = _with_plugin(
        files_project,
        "import pytest\n\n"
        "@pytest.hookimpl(wrapper=True)\n"
        "def pytest_runtest_protocol(item, nextitem):\n"
        "    with open('seen.txt', 'a') as out:\n"
        "        out.write(item.nodeid + '\\n')\n"
        "    return (yield)\n",
    )
    assert len(audit.rows()) >= 5
    assert _written(files_project, "seen.txt") == sorted(r["nodeid"] for r in audit.rows())


@pytest.mark.parametrize(
    "args",
    [
        ("-p", "no:faulthandler"),  # its ini option is then unknown to pytest
        ("-o", "faulthandler_timeout=30"),  # set up around each protocol call: no batches
    ],
)
def test_the_faulthandler_plugin_absent_or_timing_each_item(
    files_project: Path, args: tuple[str, ...]
):
    """Whether items are batched depends on the faulthandler plugin's per-item timeout; the
    run works without the plugin, and each item's warnings are its own either way."""
    audit = _with_plugin(files_project, _WARNS_IN_EACH_ITEM, *args)
    assert audit.status in (0, 1), audit.stdout[-2000:] + audit.stderr[-2000:]
    warned = [line for line in _warnings_summary(audit).splitlines() if "test_rsa_2048[" in line]
    assert len(warned) == len(audit.rows("rsa-2048")) >= 2


def test_an_assertion_pass_hook_sees_each_item(files_project: Path):
    """pytest hands its ``pytest_assertion_pass`` hook the item its protocol call was made
    for: with such a hook, items are not batched, and each passing assertion is reported for
    its own item, as under pytest's own protocol."""
    source = (
        "def pytest_assertion_pass(item, lineno, orig, expl):\n"
        "    with open('passed.txt', 'a') as out:\n"
        "        out.write(item.nodeid + '\\n')\n"
    )
    args = ("--assert=rewrite", "-o", "enable_assertion_pass_hook=true")
    one_step = _with_plugin(files_project, source, *args)
    seen = (files_project / "passed.txt").read_text(encoding="utf-8").splitlines()
    (files_project / "passed.txt").unlink()
    by_pytest = _with_plugin(files_project, source, *args, "--item-protocol=pytest")
    assert one_step.status == by_pytest.status
    assert len(set(seen)) >= 5
    assert sorted(seen) == sorted(
        (files_project / "passed.txt").read_text(encoding="utf-8").splitlines()
    )


# What pytest's terminal was handed of each item's setup and teardown, read as the item ends
# (before the one-step protocol drops what the terminal filed under ""): written to the file
# PHASES_SEEN names. FLEET=1 makes the run fleet-sized (report.html lists findings only, as
# past certgate.report.html.FLEET_ITEMS). READER=logreport|makereport|teststatus adds an
# admin's hook reading reports; LATE_READER=1 registers one as the first item starts (its
# count of reports by phase is written under "(late reader)"); SLOW_SETUP=TEXT makes the
# setup of the items whose id holds TEXT take 0.3 s more.
_PHASES_SEEN = """
import collections
import json
import os
import time

import certgate.plugin
import certgate.report.html
from certgate.report.results import stable_nodeid

if os.environ.get("FLEET") == "1":
    certgate.report.html.FLEET_ITEMS = 0
_config = []
_seen = {}


def pytest_configure(config):
    _config.append(config)


class LateReader:
    def __init__(self):
        self.count = collections.Counter()

    def pytest_runtest_logreport(self, report):
        self.count[report.when] += 1


def pytest_runtest_logstart(nodeid):
    plugins = _config[0].pluginmanager
    if os.environ.get("LATE_READER") == "1" and not plugins.has_plugin("late-reader"):
        plugins.register(LateReader(), "late-reader")


def pytest_runtest_logfinish(nodeid):
    stats = _config[0].pluginmanager.get_plugin("terminalreporter").stats
    stable = stable_nodeid(nodeid)
    _seen[stable] = sorted(r.when for r in stats.get("", []) if r.nodeid == stable)


def pytest_sessionfinish(session):
    late = _config[0].pluginmanager.get_plugin("late-reader")
    if late is not None:
        _seen["(late reader)"] = dict(late.count)
    with open(os.environ["PHASES_SEEN"], "w") as out:
        json.dump(_seen, out)


_reader = os.environ.get("READER")
if _reader == "logreport":
    def pytest_runtest_logreport(report):
        pass
elif _reader == "makereport":
    def pytest_runtest_makereport(item, call):
        return None
elif _reader == "teststatus":
    def pytest_report_teststatus(report, config):
        return None

if os.environ.get("SLOW_SETUP"):
    _facts_in = certgate.plugin._facts_in

    def _slow_facts_in(item, funcargs):
        if os.environ["SLOW_SETUP"] in item.nodeid:
            time.sleep(0.3)
        _facts_in(item, funcargs)

    certgate.plugin._facts_in = _slow_facts_in
"""


def _phases_seen(
    folder: Path, name: str, *args: str, cache: bool = False, **env: str
) -> tuple[Audit, dict[str, Any]]:
    """An audit of the project in ``folder`` with the plugin above, writing to ``folder/name``;
    what the plugin saw."""
    (folder / "phasesseen.py").write_text(_PHASES_SEEN, encoding="utf-8")
    seen = folder / f"{name}.json"
    environment = {"PHASES_SEEN": str(seen), **env}
    done = run(
        folder, "-p", "phasesseen", *args, "--reports-dir", name, env=environment, cache=cache
    )
    assert done.status in (0, 1), done.stdout[-2000:] + done.stderr[-2000:]
    return replace(done, reports=folder / name), json.loads(seen.read_text(encoding="utf-8"))


def _table(audit: Audit) -> list[tuple[str, str, list[str]]]:
    """report.html's results table: ids, outcomes and logs, cells."""
    _, _, rows = report_table(audit.reports / "report.html")
    return [(i, result, [c for c in cells if c.startswith("<td")]) for i, result, cells in rows]


def _plain(audit: Audit) -> list[str]:
    return [r["nodeid"] for r in audit.json["results"] if r["outcome"] == "passed"]


def test_a_plain_pass_is_reported_by_its_call_alone_at_fleet_size(demo_audit: Audit):
    """At fleet size nothing in the run reads a passed item's setup and teardown reports:
    a plain pass is reported by its call alone; an item with anything to show (failed,
    warning, waived, error) gets its three reports. Every output is what pytest's own
    protocol, which reports all three phases of every item, gives."""
    folder = demo_audit.reports.parent
    alone, seen = _phases_seen(folder, "fleet", FLEET="1")
    by_pytest, pytest_seen = _phases_seen(
        folder, "fleet-pytest", "--item-protocol=pytest", FLEET="1"
    )
    assert alone.status == by_pytest.status == 1
    assert comparable_rows(alone) == comparable_rows(by_pytest)
    assert _junit(alone) == _junit(by_pytest)
    assert re.sub(r" in [\d.]+s", "", _counts_line(alone)) == re.sub(
        r" in [\d.]+s", "", _counts_line(by_pytest)
    )
    assert _table(alone) == _table(by_pytest)
    assert "the results table lists the findings" in (alone.reports / "report.html").read_text()
    outcome = {r["nodeid"]: r["outcome"] for r in alone.json["results"]}
    assert set(seen) == set(pytest_seen) == set(outcome)
    plain = set(_plain(alone))
    assert 0 < len(plain) < len(outcome)
    assert all(seen[n] == [] for n in plain)
    assert all(pytest_seen[n] == ["setup", "teardown"] for n in plain)
    assert {n: seen[n] for n in outcome if n not in plain} == {
        n: pytest_seen[n] for n in outcome if n not in plain
    }


@pytest.mark.parametrize(
    ("args", "env"),
    [
        ((), {}),  # report.html's table lists every item: pytest-html reads all three
        (("--junitxml=pytest-junit.xml",), {"FLEET": "1"}),  # closes a test case at its teardown
        ((), {"FLEET": "1", "READER": "logreport"}),  # an admin's plugin reading reports
        ((), {"FLEET": "1", "READER": "makereport"}),
        ((), {"FLEET": "1", "READER": "teststatus"}),
        (("-rA",), {"FLEET": "1"}),  # pytest's terminal lists passes
        (("--durations=0",), {"FLEET": "1"}),  # and every phase's time
        (("-o", "console_output_style=times"), {"FLEET": "1"}),
    ],
    ids=[
        "not-fleet-size",
        "pytest-junitxml",
        "logreport-reader",
        "makereport-reader",
        "teststatus-reader",
        "rA",
        "durations",
        "times-style",
    ],
)
def test_every_phase_is_reported_when_something_reads_it(
    files_project: Path, args: tuple[str, ...], env: dict[str, Any]
):
    audit, seen = _phases_seen(files_project, "every-phase", *args, **env)
    plain = _plain(audit)
    assert plain
    assert all(seen[n] == ["setup", "teardown"] for n in plain)
    if args[:1] == ("--junitxml=pytest-junit.xml",):
        cases = ET.parse(files_project / "pytest-junit.xml").getroot().iter("testcase")
        assert len(list(cases)) == len(audit.rows())


def test_a_reader_registered_as_the_items_run_gets_every_report(files_project: Path):
    """A plugin registered once the items run (here as the first one starts) reads every
    report from then on, as under pytest's own protocol."""
    alone, seen = _phases_seen(files_project, "late", LATE_READER="1", FLEET="1")
    _, pytest_seen = _phases_seen(
        files_project, "late-pytest", "--item-protocol=pytest", LATE_READER="1", FLEET="1"
    )
    count = len(alone.rows())
    assert seen["(late reader)"] == {"setup": count, "call": count, "teardown": count}
    assert seen["(late reader)"] == pytest_seen["(late reader)"]


def test_a_call_alone_pass_keeps_its_setup_time_in_junit_xml(files_project: Path):
    """junit.xml's time of an item is its setup's, call's and teardown's (pytest's
    ``junit_duration_report = total``), also for a pass reported by its call alone."""
    audit, seen = _phases_seen(files_project, "slow", FLEET="1", SLOW_SETUP="test_rsa_2048")
    slow = [n for n in _plain(audit) if "test_rsa_2048" in n]
    assert slow
    assert all(seen[n] == [] for n in slow)  # reported by their calls alone
    root = ET.parse(audit.reports / "junit.xml").getroot()
    times = {
        f"{c.get('classname')}::{c.get('name')}": float(c.get("time", "0"))
        for c in root.iter("testcase")
    }
    rsa = [t for name, t in times.items() if "test_rsa_2048" in name]
    assert len(rsa) == len(slow)
    assert all(t >= 0.3 for t in rsa), rsa


def test_pytests_cache_and_step_wise_plugins_leave_call_alone_on(files_project: Path):
    """Without the audit's ``-p no:`` options (an admin's own pytest.ini): pytest's cache,
    step-wise, logging, tmpdir and subtests plugins read no passed setup or teardown, so plain
    passes are still reported by their calls alone, with the same results."""
    (files_project / "plain.ini").write_text("[pytest]\ntestpaths = checks\n", encoding="utf-8")
    audit, seen = _phases_seen(files_project, "plain-ini", "-c", "plain.ini", FLEET="1", cache=True)
    reference, _ = _phases_seen(files_project, "reference", FLEET="1")
    plain = _plain(audit)
    assert plain
    assert all(seen[n] == [] for n in plain)
    assert comparable_rows(audit) == comparable_rows(reference)
    assert (files_project / ".pytest_cache").is_dir()  # the cache plugin was on


def test_stopping_at_the_first_failure_at_fleet_size(demo_audit: Audit):
    """-x where plain passes are reported by their calls alone: the run stops after the same
    item, with the same outcomes, as under pytest's own protocol."""
    folder = demo_audit.reports.parent
    alone, seen = _phases_seen(folder, "fleet-x", "-x", FLEET="1")
    by_pytest, _ = _phases_seen(folder, "fleet-x-pytest", "-x", "--item-protocol=pytest", FLEET="1")
    assert 0 < len(alone.rows()) < len(demo_audit.rows())
    assert comparable_rows(alone) == comparable_rows(by_pytest)
    assert re.sub(r" in [\d.]+s", "", _counts_line(alone)) == re.sub(
        r" in [\d.]+s", "", _counts_line(by_pytest)
    )
    assert any(phases == [] for phases in seen.values())  # reported by their calls alone
