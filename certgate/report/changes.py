"""What changed since an earlier run (``--compare PATH``, an earlier results.json).

An item is the same item in both runs when its target, control and subject are; it is
*failing* when it failed or could not be audited (both make the run exit 1).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from certgate.report.results import Outcome, ResultRow

FAILING = frozenset({Outcome.FAILED.value, Outcome.ERROR.value})

ItemKey = tuple[str, str, str]  # target, control, subject


class CompareError(ValueError):
    """The file given to ``--compare`` is not a results.json certgate can read."""


@dataclass(frozen=True)
class EarlierRun:
    """The earlier results.json: where it is, when it judged, each item's outcome."""

    path: Path
    as_of: str
    outcomes: dict[ItemKey, str]

    @property
    def targets(self) -> frozenset[str]:
        """Every target the earlier run had an item for."""
        return frozenset(key[0] for key in self.outcomes)


@dataclass(frozen=True)
class Change:
    """One item whose standing is reported: its outcome now and before ("" when new)."""

    target: str
    control: str
    subject: str
    outcome: str
    was: str

    def as_json(self) -> dict[str, str]:
        """The entry as results.json writes it."""
        return {
            "target": self.target,
            "control": self.control,
            "subject": self.subject,
            "outcome": self.outcome,
            "was": self.was,
        }

    def describe(self) -> str:
        """``shop rsa-2048 csr: failed (was passed)``."""
        was = f"was {self.was}" if self.was else "new item"
        return f"{self.target} {self.control} {self.subject}: {self.outcome} ({was})"


@dataclass(frozen=True)
class Changes:
    """New failures, fixed items, items still failing; targets added and removed."""

    compared_with: str
    compared_as_of: str
    new_failures: tuple[Change, ...]
    fixed: tuple[Change, ...]
    still_failing: tuple[Change, ...]
    targets_added: tuple[str, ...]
    targets_removed: tuple[str, ...]

    def as_json(self) -> dict[str, object]:
        """The ``changes`` object of results.json."""
        return {
            "compared_with": self.compared_with,
            "compared_as_of": self.compared_as_of,
            "new_failures": [c.as_json() for c in self.new_failures],
            "fixed": [c.as_json() for c in self.fixed],
            "still_failing": [c.as_json() for c in self.still_failing],
            "targets_added": list(self.targets_added),
            "targets_removed": list(self.targets_removed),
        }

    def headline(self) -> str:
        """``2 new failures, 1 fixed, 80 still failing; targets added: a; removed: b``."""
        text = (
            f"{len(self.new_failures)} new failure{'' if len(self.new_failures) == 1 else 's'}, "
            f"{len(self.fixed)} fixed, {len(self.still_failing)} still failing"
        )
        if self.targets_added:
            text += f"; targets added: {', '.join(self.targets_added)}"
        if self.targets_removed:
            text += f"; targets removed: {', '.join(self.targets_removed)}"
        return text


def load_earlier(path: Path) -> EarlierRun:
    """Read an earlier results.json; CompareError saying what is wrong with it."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        rows = document["results"]
        outcomes = {(r["target"], r["control"], r["subject"]): r["outcome"] for r in rows}
        as_of = str(document.get("as_of", "?"))
    except OSError as exc:
        raise CompareError(f"--compare {path}: cannot read it ({exc.strerror})") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise CompareError(
            f"--compare {path}: not a certgate results.json ({type(exc).__name__}: {exc})"
        ) from None
    return EarlierRun(path, as_of, outcomes)


def compare(earlier: EarlierRun, rows: Iterable[ResultRow]) -> Changes:
    """This run's rows against the earlier run's outcomes."""
    new, fixed, still = [], [], []
    now_targets: list[str] = []
    for row in rows:
        if row.target not in now_targets:
            now_targets.append(row.target)
        was = earlier.outcomes.get((row.target, row.control, row.subject), "")
        change = Change(row.target, row.control, row.subject, row.outcome.value, was)
        failing_now, failing_before = row.outcome.value in FAILING, was in FAILING
        if failing_now and failing_before:
            still.append(change)
        elif failing_now:
            new.append(change)
        elif failing_before:
            fixed.append(change)
    before = earlier.targets
    return Changes(
        compared_with=str(earlier.path),
        compared_as_of=earlier.as_of,
        new_failures=tuple(new),
        fixed=tuple(fixed),
        still_failing=tuple(still),
        targets_added=tuple(t for t in now_targets if t not in before),
        targets_removed=tuple(sorted(before - set(now_targets))),
    )
