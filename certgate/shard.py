"""``--shard K/N``: one of N machines audits every N-th target of the inventory.

Targets are dealt round-robin in inventory order (target i goes to shard i mod N + 1), not by
a hash of their names: a CI matrix waits for its slowest shard, and dealing gives every shard
the same number of targets (one more at most), where a hash leaves small inventories lopsided
and can leave a shard empty. Nothing carries over between runs, so a target that moves to
another shard when the inventory changes costs nothing. A target goes whole: its files, all
its addresses and pages, and the waivers naming it are in one shard.

Every shard collects the whole inventory (so waivers are judged against everything audited,
exactly as in one run) and deselects the items of other shards (``pytest_deselected``: the
terminal's counts add up); only its own hosts are resolved and scanned. Each shard's
results.json carries a ``shard`` object: the inventory's order of targets, checks and waivers,
with which ``python -m certgate.merge`` puts the shards' rows back in the order one run has.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from certgate.inventory import Inventory
from certgate.report.results import Results, stable_nodeid
from certgate.stash import ITEM_REF
from certgate.waivers import Waiver

_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (1-based: ``--shard 1/4`` .. ``--shard 4/4``)."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``K/N`` with 1 <= K <= N; a UsageError (exit 4) names what to write otherwise."""
        match = _SHARD.match(text)
        if match is None or not 1 <= int(match[1]) <= int(match[2]):
            raise pytest.UsageError(
                f"--shard {text!r}: expected K/N with 1 <= K <= N, e.g. --shard 2/4"
            )
        return cls(int(match[1]), int(match[2]))

    def owns(self, position: int) -> bool:
        """Whether the target at ``position`` (0-based, inventory order) is this shard's."""
        return position % self.count == self.index - 1

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


class ShardSelector:
    """The pytest side of ``--shard``: keep this shard's items, deselect the rest."""

    def __init__(
        self, shard: Shard, inventory: Inventory, waivers: tuple[Waiver, ...], results: Results
    ) -> None:
        self.shard = shard
        self.inventory = inventory
        self.positions = {t.name: i for i, t in enumerate(inventory.targets)}
        self.waivers = waivers
        self.results = results
        self.emptied = False  # this shard has nothing while the inventory has something

    def others(self) -> frozenset[str]:
        """The names of the other shards' targets (not looked up in DNS by this shard)."""
        return frozenset(n for n, i in self.positions.items() if not self.shard.owns(i))

    def owner(self, item: pytest.Item) -> str | None:
        """The target an item belongs to: its own, a waiver's, or None (not an audit item)."""
        ref = item.stash.get(ITEM_REF, None)
        if ref is not None:
            return ref.target.name
        callspec = getattr(item, "callspec", None)
        waiver = callspec.params.get("waiver") if callspec is not None else None
        return waiver.target if isinstance(waiver, Waiver) else None

    def keeps(self, item: pytest.Item) -> bool:
        """A target's items go to its shard; a waiver naming no target and any other test to
        shard 1 (it runs once, as in one run)."""
        position = self.positions.get(self.owner(item) or "")
        return self.shard.owns(position) if position is not None else self.shard.index == 1

    @pytest.hookimpl(trylast=True)  # after certgate has seen the whole inventory
    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        # named as results.json names them (checks/<file>::<test>), wherever collected from
        checks = list(dict.fromkeys(stable_nodeid(i.nodeid).split("[")[0] for i in items))
        self.results.extra["shard"] = self.order(checks)
        kept = [i for i in items if self.keeps(i)]
        others = [i for i in items if not self.keeps(i)]
        if others:
            config.hook.pytest_deselected(items=others)
        self.emptied = bool(items) and not kept
        items[:] = kept

    def order(self, checks: list[str]) -> dict[str, object]:
        """What results.json records for the merge: this shard, and the order one run has."""
        return {
            "index": self.shard.index,
            "count": self.shard.count,
            "inventory_sha256": self.inventory.sha256,
            "targets": list(self.positions),
            "checks": checks,
            "waivers": [w.id for w in self.waivers],
        }

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """An empty shard is not a failed pipeline: more shards than targets, or ``-k``
        selecting only other shards' targets. It exits 0 with a note (its results.json has
        no rows; the merge exits 5 when no shard ran anything)."""
        if self.emptied and session.exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
            session.exitstatus = pytest.ExitCode.OK

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.emptied:
            terminalreporter.line(
                f"certgate: shard {self.shard} has no items (exit 0): every selected item "
                "belongs to another shard"
            )

    def pytest_report_header(self) -> list[str]:
        first, step = self.shard.index, self.shard.count
        return [
            f"certgate: shard {self.shard}: targets {first}, {first + step}, ... of the inventory"
        ]
