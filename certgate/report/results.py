"""results.json: one object per test item, in the shape SPEC §4 gives."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from certgate import __version__

if TYPE_CHECKING:
    from certgate.report.changes import Changes, EarlierRun


class Outcome(enum.Enum):
    """What one item came to. ``error`` means it could not be audited: never a pass."""

    PASSED = "passed"
    FAILED = "failed"
    WARNING = "warning"
    ERROR = "error"
    WAIVED = "waived"  # a failure excused by a waiver in force (waivers.yaml)


@dataclass(frozen=True, slots=True)  # one per item: 12,600 in a fleet
class ResultRow:
    """One test item's verdict. ``subject`` is the artifact, ``ADDRESS:PORT`` or ``*``;
    ``evidence`` the hardening profile's lines for the item (``"TLS 1.0: refused"``,
    ``"reproduce: openssl s_client ..."``), written only when there are some."""

    target: str
    control: str
    subject: str
    outcome: Outcome
    message: str
    manual: tuple[str, ...]
    nodeid: str
    evidence: tuple[str, ...] = ()

    def as_json(self) -> dict[str, object]:
        """The row as results.json writes it (SPEC §4; ``evidence`` added when present)."""
        row: dict[str, object] = {
            "target": self.target,
            "control": self.control,
            "subject": self.subject,
            "outcome": self.outcome.value,
            "message": self.message,
            "manual": list(self.manual),
            "nodeid": self.nodeid,
        }
        if self.evidence:
            row["evidence"] = list(self.evidence)
        return row


def certgate_report(report: object) -> bool:
    """Whether a pytest report is of one of certgate's items: its properties name a control
    (every report of the item has them; the item's stash is not on the report)."""
    return any(key == "control" for key, _ in getattr(report, "user_properties", ()))


def passed_plainly(report: object) -> bool:
    """Whether a call report is of a certgate item that passed with nothing to show: pytest's
    outcome passed, certgate's verdict passed (not a warning), nothing captured. What is
    listed in a fleet's report.html, and what gets all three phase reports, is the rest."""
    verdict = getattr(report, "certgate", None)
    return (
        verdict is not None
        and verdict[0] is Outcome.PASSED
        and getattr(report, "passed", False)
        and not getattr(report, "sections", ())
    )


# set on the call report of a pass reported by its call alone (certgate.protocol): the
# seconds of its setup and teardown, whose reports were not made
UNLOGGED_SECONDS = "certgate_unlogged_seconds"


def item_seconds(report: object) -> float:
    """A report's share of its item's time: its own phase's, and for a pass reported by its
    call alone the setup's and teardown's too (junit.xml's times are whole items', as
    pytest's are)."""
    return float(getattr(report, "duration", 0.0)) + getattr(report, UNLOGGED_SECONDS, 0.0)


def stable_nodeid(nodeid: str) -> str:
    """``checks/test_keys.py::test_rsa_2048[shop:csr]`` wherever the checks were collected
    from (the repository, or the installed package seen from any working directory); the
    very string given when it already is that (three reports per item ask, so no copies)."""
    path, separator, rest = nodeid.partition("::")
    if not separator:
        return nodeid
    name = path.rpartition("/")[2]
    if len(path) == len(name) + len(_CHECKS) and path.startswith(_CHECKS):
        return nodeid
    return f"{_CHECKS}{name}::{rest}"


_CHECKS = "checks/"


class Expiry(enum.Enum):
    """Where a server certificate's notAfter falls, seen from ``as_of``."""

    EXPIRED = "expired"
    RENEW = "renew"  # inside the renewal window (policy renewal_warning_days, manual 5.11)
    VALID = "valid"


@dataclass(frozen=True)
class CertificateDate:
    """One server certificate's notAfter, as the run read it (a renewal-window item's facts):
    ``subject`` is the item's (``certificate``, ``pfx``, ``ADDRESS:PORT``), ``name`` the
    certificate's subject CN (or whole subject), ``window_days`` its target's renewal window."""

    target: str
    subject: str
    name: str
    not_after: datetime
    window_days: int

    def expiry(self, as_of: datetime) -> Expiry:
        """Expired, due for renewal, or valid beyond the window, at ``as_of``."""
        if self.not_after <= as_of:
            return Expiry.EXPIRED
        if self.not_after < as_of + timedelta(days=self.window_days):
            return Expiry.RENEW
        return Expiry.VALID

    def as_json(self, as_of: datetime) -> dict[str, object]:
        """The entry as results.json writes it."""
        return {
            "target": self.target,
            "subject": self.subject,
            "name": self.name,
            "not_after": _iso(self.not_after),
            "renewal_window_days": self.window_days,
            "expiry": self.expiry(as_of).value,
        }


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
    earlier: EarlierRun | None = None  # --compare: the results.json to tell changes from
    certificates: dict[tuple[str, str], CertificateDate] = field(default_factory=dict)

    def record(self, row: ResultRow) -> None:
        """Add an item's verdict (an item reports once, when its outcome is known)."""
        self.rows.append(row)  # its nodeid is already stable_nodeid's (plugin, merge)

    def note_certificate(self, date: CertificateDate) -> None:
        """Keep a server certificate's notAfter for the expiry timeline (once per item subject)."""
        self.certificates.setdefault((date.target, date.subject), date)

    def changes(self) -> Changes | None:
        """What changed since the earlier run given with ``--compare``; None without it."""
        if self.earlier is None:
            return None
        from certgate.report.changes import compare

        return compare(self.earlier, self.rows)

    def summary(self) -> dict[str, int]:
        """How many items came to each outcome: the one count every output shows."""
        counts = {o.value: 0 for o in Outcome}
        for row in self.rows:
            counts[row.outcome.value] += 1
        if not counts[Outcome.WAIVED.value]:
            del counts[Outcome.WAIVED.value]  # SPEC §4's four keys, unless waivers were used
        return counts

    def counts_text(self) -> str:
        """``694 items: 516 passed, 85 failed, 5 warning, 88 error``: the summary in words."""
        summary = self.summary()
        counts = ", ".join(f"{n} {outcome}" for outcome, n in summary.items())
        total = sum(summary.values())
        return f"{total} item{'' if total == 1 else 's'}: {counts}"

    def target_lines(self) -> list[str]:
        """``shop  2 failed (rsa-2048, validity), 10 passed`` for every target with a finding,
        in order, then one line counting the targets that passed everything (a fleet of a
        thousand sites prints its findings, not a thousand lines)."""
        by_target: dict[str, list[ResultRow]] = {}
        for row in self.rows:
            by_target.setdefault(row.target, []).append(row)
        found = {t: rows for t, rows in by_target.items() if _has_finding(rows)}
        width = max((len(t) for t in found), default=0)
        lines = [f"{t.ljust(width)}  {_tally(rows)}" for t, rows in found.items()]
        clean = len(by_target) - len(found)
        if clean:
            noun = "target" if clean == 1 else "targets"
            lines.append(f"{clean} other {noun}: every item passed")
        return lines

    def finish(self, finished: datetime) -> None:
        """Stamp the end time and write results.json."""
        self.finished = finished
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # The document as json.dumps(indent=2) writes it, its rows written one at a time by
        # _row_text (a fleet's 12,600 rows are not held as dicts and one string at once, nor
        # passed through json's pure-Python indenting encoder).
        text = json.dumps(self.as_json(rows=False), indent=2, ensure_ascii=False)
        head, _, tail = text.partition(_quoted(_ROWS_GO_HERE))
        with self.path.open("w", encoding="utf-8") as out:
            out.write(head)
            if not self.rows:
                out.write("[]")
            else:
                out.write("[\n")
                for n, row in enumerate(self.rows):
                    out.write(_row_text(row.as_json(), last=n == len(self.rows) - 1))
                out.write("  ]")
            out.write(tail + "\n")

    def as_json(self, rows: bool = True) -> dict[str, object]:
        """The whole document (``rows`` False: a marker where the rows go)."""
        document: dict[str, object] = {
            "certgate": __version__,
            "started": _iso(self.started),
            "finished": _iso(self.finished or self.started),
            "as_of": _iso(self.as_of),
            "targets": _display_path(self.targets_file),
            **self.extra,
            "results": [r.as_json() for r in self.rows] if rows else _ROWS_GO_HERE,
            "summary": self.summary(),
            "certificates": [c.as_json(self.as_of) for c in self.certificates.values()],
        }
        changes = self.changes()
        if changes is not None:
            document["changes"] = changes.as_json()
        return document


_ROWS_GO_HERE = "\x00certgate results\x00"  # no row can hold it: NUL ends a C string
_quoted = json.encoder.encode_basestring  # JSON string as json writes it (ensure_ascii False)


def _row_text(row: dict[str, object], *, last: bool) -> str:
    """One row at the depth and in the layout ``json.dumps(..., indent=2)`` gives it in the
    document: each key on its line, a list's items on theirs, ``[]`` when empty."""
    lines = []
    for key, value in row.items():
        if isinstance(value, list):
            items = ",\n        ".join(_quoted(str(v)) for v in value)
            shown = f"[\n        {items}\n      ]" if value else "[]"
        else:
            shown = _quoted(str(value))
        lines.append(f"      {_quoted(key)}: {shown}")
    return "    {\n" + ",\n".join(lines) + ("\n    }\n" if last else "\n    },\n")


def _has_finding(rows: list[ResultRow]) -> bool:
    return any(r.outcome is not Outcome.PASSED for r in rows)


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
