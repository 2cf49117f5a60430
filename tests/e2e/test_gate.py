"""The gate: exit statuses, --strict, and waivers.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest

from certgate.inventory import InventoryError
from certgate.waivers import load_waivers
from tests.support.audit import demo_targets, project, run

WAIVERS = """
waivers:
  - {control: rsa-2048, target: rsa-1024, justification: legacy appliance replaced in Q1,
     who: ops@example.com.tw, expires: 2099-01-31}
  - {control: validity, target: expired, justification: decommissioned,
     who: ops@example.com.tw, expires: 2020-01-01}
  - {control: cn-hostname, target: shpo, justification: a typo,
     who: ops@example.com.tw, expires: 2099-01-01}
"""


@pytest.fixture
def waived(demo_lab: Path, tmp_path: Path):
    folder = project(tmp_path, demo_targets(demo_lab))
    (folder / "waivers.yaml").write_text(WAIVERS, encoding="utf-8")
    return run(folder, "-k", "rsa-1024 or expired or waiver")


def test_a_waiver_in_force_turns_the_failure_into_waived(waived):
    row = waived.row("rsa-2048", "rsa-1024", "csr")
    assert row["outcome"] == "waived"
    assert "manual 5.1.5" in row["message"]
    assert (
        "waived: legacy appliance replaced in Q1 (ops@example.com.tw, until 2099-01-31)"
        in (row["message"])
    )
    assert "WAIVED rsa-1024 rsa-2048 csr - " in waived.stdout  # its own outcome, not XFAIL
    assert waived.json["summary"]["waived"] == 2


def test_an_expired_waiver_does_not_apply_and_is_reported(waived):
    assert waived.row("validity", "expired", "certificate")["outcome"] == "failed"
    item = waived.row("waiver", "expired", "validity")
    assert item["outcome"] == "failed"
    assert "expired on 2020-01-01" in item["message"]


def test_an_unmatched_waiver_is_reported(waived):
    item = waived.row("waiver", "shpo", "cn-hostname")
    assert item["outcome"] == "failed"
    assert "matches no audited item" in item["message"]
    assert waived.status == 1


def test_a_waiver_that_matches_passes_its_own_item(waived):
    assert waived.row("waiver", "rsa-1024", "rsa-2048")["outcome"] == "passed"


def test_waivers_never_excuse_errors(demo_lab, tmp_path):
    folder = project(tmp_path, demo_targets(demo_lab))
    (folder / "waivers.yaml").write_text(
        "waivers:\n  - {control: rsa-2048, target: unreadable-files, justification: x, "
        "who: y, expires: 2099-01-01}\n",
        encoding="utf-8",
    )
    audit = run(folder, "-k", "unreadable-files and rsa-2048")
    assert {r["outcome"] for r in audit.rows("rsa-2048")} == {"error"}
    assert audit.status == 1


def test_strict_makes_warnings_fail(demo_lab, tmp_path):
    folder = project(tmp_path, demo_targets(demo_lab))
    lenient = run(folder, "-k", "expiring-soon")
    assert lenient.status == 0
    assert lenient.row("renewal-window", "expiring-soon", "certificate")["outcome"] == "warning"
    strict = run(folder, "-k", "expiring-soon", "--strict")
    assert strict.status == 1
    assert strict.row("renewal-window", "expiring-soon", "certificate")["outcome"] == "failed"


def test_a_broken_waivers_file_stops_the_run_with_exit_4(demo_lab, tmp_path):
    folder = project(tmp_path, demo_targets(demo_lab))
    (folder / "waivers.yaml").write_text(
        "waivers:\n  - {control: rsa-4096, target: a, who: me, expires: soon}\n", "utf-8"
    )
    audit = run(folder)
    assert audit.status == 4
    assert "key 'control': no control 'rsa-4096'" in audit.stderr
    assert "key 'justification': expected a non-empty string" in audit.stderr
    assert "key 'expires': expected a date" in audit.stderr


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[]\n", "expected a mapping with a 'waivers:' list"),
        ("waivers:\n  - just a string\n", "expected a mapping with control"),
        (
            "waivers:\n  - {control: validity, target: a, justification: j, who: w, "
            "expires: 2026-01-01, colour: red}\n",
            "unknown key 'colour'",
        ),
    ],
)
def test_waiver_file_problems(tmp_path, text, expected):
    path = tmp_path / "waivers.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InventoryError) as info:
        load_waivers(path)
    assert expected in "\n".join(info.value.problems)
