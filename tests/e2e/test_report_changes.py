"""--compare: what changed since an earlier results.json, in results.json, the terminal and
the report. Two audits of lab files with the targets file changed in between."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.support.audit import project, run

POLICY = "policy: {allow_internal_names: true}\n"


def _targets(lab: Path, sites: dict[str, str]) -> str:
    lines = [
        f"  - {{name: {name}, certificate: {lab}/sites/{site}/server.cer}}"
        for name, site in sites.items()
    ]
    return POLICY + "targets:\n" + "\n".join(lines) + "\n"


def _keys(entries: list[dict[str, str]]) -> set[tuple[str, str, str]]:
    return {(e["target"], e["control"], e["subject"]) for e in entries}


def test_second_audit_reports_new_fixed_still_failing_added_removed(demo_lab: Path, tmp_path: Path):
    folder = project(
        tmp_path / "audit",
        _targets(
            demo_lab,
            {"shop": "rsa-1024", "weak": "rsa-1024", "api": "good-3tier", "old": "good-4tier"},
        ),
    )
    first = run(folder)
    assert first.row("rsa-2048", "shop", "certificate")["outcome"] == "failed"
    assert "changes" not in first.json  # nothing to compare with
    earlier = tmp_path / "earlier.json"
    shutil.copy(first.reports / "results.json", earlier)

    (folder / "targets.yaml").write_text(
        _targets(
            demo_lab,
            {"shop": "good-3tier", "weak": "rsa-1024", "api": "rsa-1024", "new": "good-4tier"},
        ),
        encoding="utf-8",
    )
    second = run(folder, f"--compare={earlier}")

    changes = second.json["changes"]
    item = ("rsa-2048", "certificate")
    assert ("api", *item) in _keys(changes["new_failures"])
    assert ("shop", *item) in _keys(changes["fixed"])
    assert ("weak", *item) in _keys(changes["still_failing"])
    assert ("shop", *item) not in _keys(changes["new_failures"] + changes["still_failing"])
    assert changes["targets_added"] == ["new"]
    assert changes["targets_removed"] == ["old"]
    assert changes["compared_with"] == str(earlier)
    new = next(
        c for c in changes["new_failures"] if (c["target"], c["control"]) == ("api", "rsa-2048")
    )
    assert (new["outcome"], new["was"]) == ("failed", "passed")

    # the terminal says it, and the report says it at the top
    assert "certgate: changes since the last audit" in second.stdout
    assert "NEW   api rsa-2048 certificate: failed (was passed)" in second.stdout
    assert "FIXED shop rsa-2048 certificate: passed (was failed)" in second.stdout
    assert "targets added: new; targets removed: old" in second.stdout
    html = (second.reports / "report.html").read_text(encoding="utf-8")
    assert html.index('id="certgate-changes"') < html.index('id="certgate-matrix"')
    assert "api rsa-2048 certificate: failed (was passed)" in html


def test_compare_with_a_file_that_is_not_results_json_is_a_usage_error(
    demo_lab: Path, tmp_path: Path
):
    folder = project(tmp_path / "audit", _targets(demo_lab, {"x": "good-3tier"}))
    (tmp_path / "junk.json").write_text("{not json", encoding="utf-8")
    audit = run(folder, f"--compare={tmp_path / 'junk.json'}")
    assert audit.status == 4
    assert "not a certgate results.json" in audit.stderr
    missing = run(folder, f"--compare={tmp_path / 'missing.json'}")
    assert missing.status == 4
    assert "cannot read it" in missing.stderr
