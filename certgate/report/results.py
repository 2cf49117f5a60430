"""results.json: one object per test item, in the shape SPEC §4 gives."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path, PurePosixPath

from certgate import __version__


class Outcome(enum.Enum):
    """What one item came to. ``error`` means it could not be audited: never a pass."""

    PASSED = "passed"
    FAILED = "failed"
    WARNING = "warning"
    ERROR = "error"
    WAIVED = "waived"  # a failure excused by a waiver in force (waivers.yaml)


@dataclass(frozen=True)
class ResultRow:
    """One test item's verdict. ``subject`` is the artifact, ``ADDRESS:PORT`` or ``*``."""

    target: str
    control: str
    subject: str
    outcome: Outcome
    message: str
    manual: tuple[str, ...]
    nodeid: str

    def as_json(self) -> dict[str, object]:
        """The row as results.json writes it."""
        return {
            "target": self.target,
            "control": self.control,
            "subject": self.subject,
            "outcome": self.outcome.value,
            "message": self.message,
            "manual": list(self.manual),
            "nodeid": self.nodeid,
        }


def stable_nodeid(nodeid: str) -> str:
    """``checks/test_keys.py::test_rsa_2048[shop:csr]`` wherever the checks were collected
    from (the repository, or the installed package seen from any working directory)."""
    path, _, rest = nodeid.partition("::")
    return f"checks/{PurePosixPath(path).name}::{rest}" if rest else nodeid


@dataclass
class Results:
    """Every row of the run; written to ``path`` by :meth:`finish`. ``as_of`` is the time
    every verdict was judged at: ``--now`` when given, else ``started``."""

    started: datetime
    as_of: datetime
    targets_file: Path
    path: Path
    rows: list[ResultRow] = field(default_factory=list)
    finished: datetime | None = None
    extra: dict[str, object] = field(default_factory=dict)  # e.g. "shard" (certgate/shard.py)

    def record(self, row: ResultRow) -> None:
        """Add an item's verdict (an item reports once, when its outcome is known)."""
        self.rows.append(replace(row, nodeid=stable_nodeid(row.nodeid)))

    def summary(self) -> dict[str, int]:
        """How many items came to each outcome."""
        counts = {o.value: 0 for o in Outcome}
        for row in self.rows:
            counts[row.outcome.value] += 1
        if not counts[Outcome.WAIVED.value]:
            del counts[Outcome.WAIVED.value]  # SPEC §4's four keys, unless waivers were used
        return counts

    def target_lines(self) -> list[str]:
        """``shop: 2 failed (rsa-2048, validity), 10 passed`` for every target, in order."""
        by_target: dict[str, list[ResultRow]] = {}
        for row in self.rows:
            by_target.setdefault(row.target, []).append(row)
        width = max((len(t) for t in by_target), default=0)
        return [f"{t.ljust(width)}  {_tally(rows)}" for t, rows in by_target.items()]

    def finish(self, finished: datetime) -> None:
        """Stamp the end time and write results.json."""
        self.finished = finished
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(
            json.dumps(self.as_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )

    def as_json(self) -> dict[str, object]:
        """The whole document."""
        return {
            "certgate": __version__,
            "started": _iso(self.started),
            "finished": _iso(self.finished or self.started),
            "as_of": _iso(self.as_of),
            "targets": _display_path(self.targets_file),
            **self.extra,
            "results": [r.as_json() for r in self.rows],
            "summary": self.summary(),
        }


def _tally(rows: list[ResultRow]) -> str:
    parts = []
    for outcome in (Outcome.FAILED, Outcome.ERROR, Outcome.WARNING, Outcome.WAIVED, Outcome.PASSED):
        hits = [r for r in rows if r.outcome is outcome]
        if not hits:
            continue
        controls = sorted({r.control for r in hits})
        detail = "" if outcome is Outcome.PASSED else f" ({', '.join(controls)})"
        parts.append(f"{len(hits)} {outcome.value}{detail}")
    return ", ".join(parts)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
