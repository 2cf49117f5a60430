"""docs/controls.md is generated from the catalogue; they must not drift apart."""

from __future__ import annotations

from certgate.controls import CATALOGUE
from certgate.report.docs import render
from tests.support.audit import REPO


def test_controls_doc_matches_the_catalogue():
    committed = (REPO / "docs" / "controls.md").read_text(encoding="utf-8")
    assert committed == render(), "regenerate: python -m certgate.report.docs > docs/controls.md"


def test_every_control_cites_the_manual_and_has_both_languages():
    for control in CATALOGUE.values():
        assert control.manual or control.source, control.id  # hardening: its sources
        assert control.remediation_en.strip(), control.id
        assert any("\u4e00" <= ch <= "\u9fff" for ch in control.remediation_zh), control.id


def test_remediations_name_where_to_fix_and_how_to_confirm():
    words: tuple[str, ...] = ("IIS", "certlm.msc", "certutil", "netsh", "openssl", "PFX", "F12")
    words += ("Get-ChildItem", "regedit", "TlsCipherSuite", "SSL Cipher Suite Order", "curl")
    words += ("Web Server",)
    for control in CATALOGUE.values():
        assert any(w in control.remediation_en for w in words), control.id
