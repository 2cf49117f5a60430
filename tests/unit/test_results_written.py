"""results.json is written one row at a time (Results.finish) and is exactly the document
``as_json()`` gives, as ``json.dumps(..., indent=2)`` writes it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from certgate.report.results import Outcome, ResultRow, Results


def _row(n: int, outcome: Outcome) -> ResultRow:
    return ResultRow(
        target=f"site-{n}",
        control="rsa-2048",
        subject=f"127.0.0.{n}:443",
        outcome=outcome,
        message="" if outcome is Outcome.PASSED else f'RSA 1024 bits, "quoted" 台北 <{n}>',
        manual=("5.1.5",) if n % 2 else (),
        nodeid=f"checks/test_keys.py::test_rsa_2048[site-{n}@127.0.0.{n}:443]",
        evidence=("TLS 1.0: refused", "reproduce: openssl s_client") if n % 3 == 0 else (),
    )


def _results(path: Path, rows: list[ResultRow]) -> Results:
    moment = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    results = Results(started=moment, as_of=moment, targets_file=Path("targets.yaml"), path=path)
    for row in rows:
        results.record(row)
    return results


def test_the_file_is_the_document_as_json_dumps_writes_it(tmp_path: Path):
    outcomes = list(Outcome)
    results = _results(tmp_path / "results.json", [_row(n, outcomes[n % 5]) for n in range(40)])
    results.finish(datetime(2026, 11, 30, 8, 1, tzinfo=UTC))
    written = (tmp_path / "results.json").read_text(encoding="utf-8")
    assert written == json.dumps(results.as_json(), indent=2, ensure_ascii=False) + "\n"
    assert len(json.loads(written)["results"]) == 40
    assert "台北" in written


def test_no_rows_is_an_empty_list(tmp_path: Path):
    results = _results(tmp_path / "results.json", [])
    results.finish(datetime(2026, 11, 30, 8, 1, tzinfo=UTC))
    assert json.loads((tmp_path / "results.json").read_text("utf-8"))["results"] == []
