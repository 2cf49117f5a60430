"""``python -m certgate.merge --reports-dir DIR RESULTS.json…``: the shards of one audit
(``pytest --shard K/N``) as one results.json, junit.xml and report.html.

results.json is rebuilt from the shards' rows: the items, outcomes and messages of one run, in
its order (each shard's ``shard`` object gives the inventory's order of checks, targets and
waivers), ``started`` the earliest start, ``finished`` the latest end, ``as_of`` the earliest
(the same everywhere with ``--now``), the summary counted again.

junit.xml and report.html are written by the same code that writes them in an audit: pytest
runs once more, with a replay plugin that turns each row into one test item with its nodeid,
properties, outcome and message, and certgate's own report hooks (columns, title, matrix,
remediation). What results.json does not hold cannot come back: the evidence of a finding
(served chain, the openssl command) and each item's duration; the hardening profile's
evidence lines are in results.json and come back. An error is replayed as a
setup error, which is what an unreadable file or an unreachable host is in an audit.

Exit status: pytest's, as one run would have had it (0 compliant, 1 failed or error, 5 nothing
ran); 4 when the files cannot be merged (not shards of one audit, a shard missing or twice).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import warnings
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from certgate import ComplianceWarning
from certgate.controls import CATALOGUE
from certgate.hosts.hardening_evidence import Line
from certgate.inventory import Inventory, Policy, Target
from certgate.report.junit import JUnitWriter
from certgate.report.results import CertificateDate, Outcome, ResultRow, Results
from certgate.stash import INVENTORY, ITEM_CONTROL, NOW, RESULTS, WAIVERS, WARNED
from certgate.waivers import WAIVER_CONTROL

USAGE_ERROR = 4
_WAIVED_NOTE = " [waived: "


class MergeError(Exception):
    """The files are not the shards of one audit; ``problems`` holds one line each."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = tuple(problems)


@dataclass(frozen=True)
class ShardDoc:
    """One shard's results.json, read. ``index``/``count`` are 1/1 for an unsharded run."""

    path: Path
    index: int
    count: int
    started: datetime
    finished: datetime
    as_of: datetime
    targets_file: str
    inventory_sha256: str
    targets: tuple[str, ...]
    checks: tuple[str, ...]
    waivers: tuple[str, ...]
    rows: tuple[ResultRow, ...]
    certificates: tuple[CertificateDate, ...] = ()


@dataclass(frozen=True)
class Merged:
    """The shards as one run: its results, and the inventory order the report shows."""

    results: Results
    targets: tuple[str, ...]
    inventory_sha256: str


# --- reading and merging ----------------------------------------------------------------------


def read_shard(path: Path) -> ShardDoc:
    """One results.json; MergeError when it is not one certgate wrote."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        shard: dict[str, Any] = doc.get("shard") or {"index": 1, "count": 1}
        return ShardDoc(
            path=path,
            index=int(shard["index"]),
            count=int(shard["count"]),
            started=_moment(doc["started"]),
            finished=_moment(doc["finished"]),
            as_of=_moment(doc["as_of"]),
            targets_file=str(doc["targets"]),
            inventory_sha256=str(shard.get("inventory_sha256", "")),
            targets=tuple(shard.get("targets", ())),
            checks=tuple(shard.get("checks", ())),
            waivers=tuple(shard.get("waivers", ())),
            rows=tuple(_row(r) for r in doc["results"]),
            certificates=tuple(_certificate(c) for c in doc.get("certificates", ())),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise MergeError([f"{path}: not a certgate results.json ({exc})"]) from None


def _row(data: dict[str, Any]) -> ResultRow:
    return ResultRow(
        target=str(data["target"]),
        control=str(data["control"]),
        subject=str(data["subject"]),
        outcome=Outcome(data["outcome"]),
        message=str(data["message"]),
        manual=tuple(str(m) for m in data["manual"]),
        nodeid=str(data["nodeid"]),
        evidence=tuple(str(line) for line in data.get("evidence", ())),
    )


def _certificate(data: dict[str, Any]) -> CertificateDate:
    return CertificateDate(
        target=str(data["target"]),
        subject=str(data["subject"]),
        name=str(data["name"]),
        not_after=_moment(data["not_after"]),
        window_days=int(data["renewal_window_days"]),
    )


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def check_shards(shards: Sequence[ShardDoc]) -> None:
    """Every shard of one audit, each once: same count, same inventory; else MergeError."""
    if not shards:
        raise MergeError(["no results.json given"])
    counts = {s.count for s in shards}
    problems = []
    if len(counts) > 1:
        problems.append(f"the files are shards of different splits: K/N with N in {sorted(counts)}")
    if len({s.inventory_sha256 for s in shards}) > 1:
        problems.append("the shards audited different targets files (their SHA-256 differ)")
    count = max(counts)
    seen = [s.index for s in shards]
    missing = sorted(set(range(1, count + 1)) - set(seen))
    twice = sorted({i for i in seen if seen.count(i) > 1})
    if missing:
        problems.append(f"shard(s) {', '.join(f'{i}/{count}' for i in missing)} missing")
    if twice:
        problems.append(f"shard(s) {', '.join(f'{i}/{count}' for i in twice)} given twice")
    if problems:
        raise MergeError(problems)


def merge(shards: Sequence[ShardDoc], reports: Path) -> Merged:
    """The shards' rows in the order one run has them, and the run's times."""
    check_shards(shards)
    first = min(shards, key=lambda s: s.index)
    rows = sorted(
        (r for s in sorted(shards, key=lambda s: s.index) for r in s.rows), key=_order(first)
    )
    results = Results(
        started=min(s.started for s in shards),
        as_of=min(s.as_of for s in shards),
        targets_file=Path(first.targets_file),
        path=reports / "results.json",
        rows=rows,
        finished=max(s.finished for s in shards),
    )
    # the expiry timeline's certificates, in the order of the items that read them
    dates = {(c.target, c.subject): c for s in shards for c in s.certificates}
    for row in rows:  # the timeline's dates are read by the renewal-window items
        if row.control == "renewal-window" and (row.target, row.subject) in dates:
            results.note_certificate(dates[(row.target, row.subject)])
    return Merged(results, first.targets, first.inventory_sha256)


def _order(shard: ShardDoc) -> Any:
    """Sort key of a row: its check's place in the collection, then its target's (or its
    waiver's) place in the inventory. Rows of one target and check are in one shard, in
    order already (the sort is stable)."""
    checks = {c: i for i, c in enumerate(shard.checks)}
    targets = {t: i for i, t in enumerate(shard.targets)}
    waivers = {w: i for i, w in enumerate(shard.waivers)}

    def key(row: ResultRow) -> tuple[int, int]:
        check = checks.get(row.nodeid.split("[")[0], len(checks))
        if row.control == WAIVER_CONTROL.id:
            return check, waivers.get(row.nodeid.partition("[")[2].removesuffix("]"), len(waivers))
        return check, targets.get(row.target, len(targets))

    return key


# --- replaying the rows through pytest ---------------------------------------------------------


class ReplayItem(pytest.Item):
    """One results.json row as a test item: same nodeid, properties, outcome and message."""

    def __init__(self, *, row: ResultRow, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.row = row
        self.user_properties.extend(
            [
                ("control", row.control),
                ("manual", ", ".join(row.manual)),
                ("target", row.target),
                ("subject", row.subject),
            ]
        )

    def setup(self) -> None:
        if self.row.outcome is Outcome.ERROR:
            from certgate.plugin import CouldNotAudit

            raise CouldNotAudit(self.row.message, pytrace=False)

    def runtest(self) -> None:
        if self.row.outcome is Outcome.FAILED:
            raise AssertionError(self.row.message)
        if self.row.outcome is Outcome.WAIVED:
            raise AssertionError(self.row.message.rpartition(_WAIVED_NOTE)[0])
        if self.row.outcome is Outcome.WARNING:
            self.stash[WARNED] = self.row.message
            warnings.warn(ComplianceWarning(self.row.message), stacklevel=1)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        """As a check's failure reads under the audit's ``--tb`` (``no``: the message only)."""
        given = style or self.config.getoption("tbstyle", "auto")
        return self._repr_failure_py(excinfo, style="long" if given == "auto" else given)

    def reportinfo(self) -> tuple[str, int | None, str]:
        return self.nodeid.split("::")[0], None, self.nodeid.partition("::")[2]


class Replay:
    """The pytest plugin of the replay: the rows as items, certgate's report hooks on them."""

    def __init__(self, merged: Merged, reports: Path) -> None:
        self.merged = merged
        self.reports = reports

    def pytest_configure(self, config: pytest.Config) -> None:
        results = self.merged.results
        config.stash[RESULTS] = results
        config.stash[NOW] = results.as_of
        config.stash[WAIVERS] = ()  # waivers were applied by the shards: rows say "waived"
        config.stash[INVENTORY] = Inventory(
            path=results.targets_file,
            policy=Policy(),
            targets=tuple(Target(name, Policy()) for name in self.merged.targets),
            sha256=self.merged.inventory_sha256,
        )
        if config.pluginmanager.hasplugin("html"):
            from certgate.report.html import HtmlReport

            config.pluginmanager.register(HtmlReport(config), "certgate-html")
        config.pluginmanager.register(JUnitWriter(self.reports / "junit.xml"), "certgate-junit")

    def pytest_collection_modifyitems(
        self, session: pytest.Session, items: list[pytest.Item]
    ) -> None:
        items[:] = [self._item(session, row) for row in self.merged.results.rows]

    def _item(self, session: pytest.Session, row: ResultRow) -> ReplayItem:
        name = row.nodeid.rpartition("::")[2]
        item = ReplayItem.from_parent(session, name=name, nodeid=row.nodeid, row=row)
        control = WAIVER_CONTROL if row.control == WAIVER_CONTROL.id else CATALOGUE[row.control]
        item.stash[ITEM_CONTROL] = control
        return item

    @pytest.hookimpl(wrapper=True, trylast=True)  # innermost: certgate's hooks see the verdict
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if not isinstance(item, ReplayItem):
            return report
        if item.row.evidence:  # the hardening profile's lines, as the audit showed them
            report.certgate_evidence = tuple(Line.parse(t) for t in item.row.evidence)  # type: ignore[attr-defined]
        if item.row.outcome is not Outcome.WAIVED:
            return report
        if report.when == "call":  # as certgate reports a waived failure: xfailed
            report.outcome = "skipped"
            report.wasxfail = "waived: " + item.row.message.rpartition(_WAIVED_NOTE)[2][:-1]
            report.certgate = (Outcome.WAIVED, item.row.message)  # type: ignore[attr-defined]
        return report


def replay(merged: Merged, reports: Path, pytest_args: Sequence[str] = ()) -> int:
    """Write junit.xml and report.html from the merged rows; pytest's exit status."""
    with tempfile.TemporaryDirectory(prefix="certgate-merge-") as folder:
        ini = Path(folder) / "pytest.ini"
        ini.write_text("[pytest]\n", encoding="utf-8")
        args = [
            *("-c", str(ini), "--rootdir", folder, "-p", "no:cacheprovider"),
            *("--tb=no", "--assert=plain", "-q", "-p", "no:logging", "-p", "no:faulthandler"),
            f"--html={reports / 'report.html'}",
            "--self-contained-html",
            *pytest_args,
            folder,
        ]
        with contextlib.chdir(folder):  # the terminal shows nodeids as an audit does
            return int(pytest.main(args, plugins=[Replay(merged, reports)]))


# --- command line ------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m certgate.merge --reports-dir DIR RESULTS.json…``"""
    parser = argparse.ArgumentParser(
        prog="python -m certgate.merge",
        description="Merge the results.json of the shards of one audit (pytest --shard K/N) "
        "into one results.json, junit.xml and report.html.",
    )
    parser.add_argument("--reports-dir", default="reports", metavar="DIR", type=Path)
    parser.add_argument("results", nargs="+", metavar="RESULTS.json", type=Path)
    options = parser.parse_args(argv)
    reports: Path = options.reports_dir.resolve()
    try:
        shards = [read_shard(p) for p in options.results]
        merged = merge(shards, reports)
    except MergeError as exc:
        print("certgate.merge: nothing was merged:\n" + "\n".join(exc.problems), file=sys.stderr)
        return USAGE_ERROR
    reports.mkdir(parents=True, exist_ok=True)
    merged.results.finish(merged.results.finished or merged.results.started)
    return replay(merged, reports)


if __name__ == "__main__":
    sys.exit(main())
