"""One source per fact: every failure message cites the manual from the catalogue, and only
its own control's sections (issue 11: the §s had drifted, e.g. key-match citing 5.6/6.2)."""

from __future__ import annotations

import re

import pytest

from certgate.controls import CATALOGUE, cite
from tests.support.audit import Audit

# A manual section: 5.x or 6.x, not part of an address, a version or a longer number.
SECTION = re.compile(r"(?<![\w.])([56]\.\d+(?:\.\d+)*)(?!\.?\d)")


def findings(audit: Audit) -> list[dict[str, str]]:
    rows = [r for r in audit.json["results"] if r["outcome"] in ("failed", "warning")]
    assert len({r["control"] for r in rows} - {"waiver"}) >= 15, "the demo shows most controls"
    return [r for r in rows if r["control"] in CATALOGUE]


def test_every_finding_cites_the_manual_from_the_catalogue(demo_audit: Audit):
    for row in findings(demo_audit):
        control = CATALOGUE[row["control"]]
        if control.hardening:  # cites its sources, never a manual § (test_hardening_rules)
            assert cite(control.id) in row["message"]
            continue
        cited = [m.group(0) for m in re.finditer(r"manual [56][\d., ]*\d", row["message"])]
        assert cited, f"{row['nodeid']}: no manual § in {row['message']!r}"
        assert tuple(row["manual"]) == control.manual


def test_every_finding_cites_only_its_own_sections(demo_audit: Audit):
    for row in findings(demo_audit):
        control = CATALOGUE[row["control"]]
        foreign = [s for s in SECTION.findall(row["message"]) if not control.owns(s)]
        assert not foreign, f"{row['nodeid']} cites {foreign}, not {control.citation}"


def test_a_check_cannot_cite_another_controls_section():
    assert cite("pfx-contents", "5.9.4") == "manual 5.9.4"
    with pytest.raises(ValueError, match=r"key-match does not cite manual 5\.6"):
        cite("key-match", "5.6")


def test_every_control_has_its_one_sentence_fix_without_a_section():
    for control in CATALOGUE.values():
        assert control.fix
        assert not SECTION.findall(control.fix), control.id
