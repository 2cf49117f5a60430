"""``--shard K/N`` deals targets round-robin; the merge puts the shards' rows back in one run's
order and refuses files that are not every shard of one audit."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from certgate.merge import MergeError, ShardDoc, merge
from certgate.report.results import Outcome, ResultRow
from certgate.shard import Shard

TARGETS = tuple(f"t{i}" for i in range(10))
CHECKS = (
    "checks/test_a.py::test_one",
    "checks/test_b.py::test_two",
    "checks/test_w.py::test_waiver",
)


@pytest.mark.parametrize("text", ["1/1", "2/4", " 4 / 4 "])
def test_shard_parses(text):
    shard = Shard.parse(text)
    assert 1 <= shard.index <= shard.count


@pytest.mark.parametrize("text", ["0/4", "5/4", "4", "a/b", "1/0", "-1/2"])
def test_shard_refuses(text):
    with pytest.raises(pytest.UsageError, match="expected K/N"):
        Shard.parse(text)


@pytest.mark.parametrize("count", [1, 2, 3, 4, 7, 11])
def test_every_target_in_exactly_one_shard_and_balanced(count):
    owners = [[k for k in range(1, count + 1) if Shard(k, count).owns(i)] for i in range(10)]
    assert all(len(o) == 1 for o in owners)
    sizes = [sum(o == [k] for o in owners) for k in range(1, count + 1)]
    assert max(sizes) - min(sizes) <= 1


def _row(check: str, target: str, sub: str = "csr", control: str = "rsa-2048") -> ResultRow:
    return ResultRow(
        target, control, sub, Outcome.PASSED, "", ("5.1.5",), f"{check}[{target}:{sub}]"
    )


def _doc(index: int, count: int, rows: list[ResultRow], sha: str = "abc") -> ShardDoc:
    moment = datetime(2026, 12, 1, index, tzinfo=UTC)
    return ShardDoc(
        path=Path(f"s{index}.json"),
        index=index,
        count=count,
        started=moment,
        finished=moment.replace(minute=5),
        as_of=moment,
        targets_file="targets.yaml",
        inventory_sha256=sha,
        targets=TARGETS,
        checks=CHECKS,
        waivers=("w-b", "w-a"),
        rows=tuple(rows),
    )


def _waiver(target: str, waiver_id: str) -> ResultRow:
    return ResultRow(target, "waiver", "x", Outcome.PASSED, "", (), f"{CHECKS[2]}[{waiver_id}]")


def test_merge_restores_the_order_of_one_run():
    a, b = CHECKS[0], CHECKS[1]
    shard1 = [
        _row(a, "t0"),
        _row(a, "t0", "pfx"),
        _row(a, "t2"),
        _row(b, "t2"),
        _waiver("t2", "w-a"),
    ]
    shard2 = [_row(a, "t1"), _row(b, "t1"), _row(b, "t3"), _waiver("t1", "w-b")]
    merged = merge([_doc(2, 2, shard2), _doc(1, 2, shard1)], Path("out"))
    assert [r.nodeid for r in merged.results.rows] == [
        f"{a}[t0:csr]",
        f"{a}[t0:pfx]",
        f"{a}[t1:csr]",
        f"{a}[t2:csr]",
        f"{b}[t1:csr]",
        f"{b}[t2:csr]",
        f"{b}[t3:csr]",
        f"{CHECKS[2]}[w-b]",  # waivers in the waivers file's order, not their targets'
        f"{CHECKS[2]}[w-a]",
    ]
    assert merged.results.started == datetime(2026, 12, 1, 1, tzinfo=UTC)
    assert merged.results.finished == datetime(2026, 12, 1, 2, 5, tzinfo=UTC)
    assert merged.targets == TARGETS


@pytest.mark.parametrize(
    ("docs", "problem"),
    [
        ([_doc(1, 3, []), _doc(3, 3, [])], "shard(s) 2/3 missing"),
        ([_doc(1, 2, []), _doc(1, 2, []), _doc(2, 2, [])], "shard(s) 1/2 given twice"),
        ([_doc(1, 2, []), _doc(2, 3, [])], "different splits"),
        ([_doc(1, 2, []), _doc(2, 2, [], sha="def")], "different targets files"),
        ([], "no results.json"),
    ],
)
def test_merge_refuses_what_is_not_one_audit(docs, problem):
    with pytest.raises(MergeError) as caught:
        merge(docs, Path("out"))
    assert any(problem in p for p in caught.value.problems), caught.value.problems
