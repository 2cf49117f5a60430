"""docs/controls.md, generated from the catalogue:
`python -m certgate.report.docs > docs/controls.md`.

A self-test regenerates it and fails when the committed file has drifted from the catalogue.
"""

from __future__ import annotations

import sys

from certgate.controls import CATALOGUE, Control


def render() -> str:
    """The whole document, in catalogue order: the manual's controls, then the hardening
    profile's under their own heading."""
    manual = [c for c in CATALOGUE.values() if not c.hardening]
    hardening = [c for c in CATALOGUE.values() if c.hardening]
    parts = [
        "# certgate controls\n",
        "Generated from `certgate/controls.py` by `python -m certgate.report.docs`; do not edit.\n",
        "Each control is one requirement of TWCA's IIS 10.0 SSL certificate manual (v5.4), with a",
        "stable id that reports, waivers and results.json use.\n",
        "| id | requirement | manual § | severity | applies to |",
        "|---|---|---|---|---|",
        *(_row(c) for c in manual),
        "",
        *(_section(c) for c in manual),
        "# Hardening profile (opt-in: `policy.hardening: true`)\n",
        "Beyond the manual: the TLS configuration as SSL Labs, testssl.sh, Mozilla and Internet.nl",
        "judge it, one item per host address, only for targets with `hardening: true`. Their §",
        "column reads `hardening`; each cites its sources. certgate judges what the server",
        "*offers*, which is stricter than SSL Labs' simulated clients.\n",
        "| id | requirement | sources | severity |",
        "|---|---|---|---|",
        *(f"| `{c.id}` | {c.title} | {c.source} | {c.severity.value} |" for c in hardening),
        "",
        *(_section(c) for c in hardening),
    ]
    return "\n".join(parts)


def _row(control: Control) -> str:
    applies = ", ".join(a.value for a in control.applies_to)
    return (
        f"| `{control.id}` | {control.title} | {control.citation} | "
        f"{control.severity.value} | {applies} |"
    )


def _section(control: Control) -> str:
    return (
        f"## `{control.id}` — {control.title}\n\n"
        f"{_cited(control)}; severity {control.severity.value}.\n\n"
        f"**Fix (IIS 10):** {control.remediation_en}\n\n"
        f"**修正方式（IIS 10）：** {control.remediation_zh}\n"
    )


def _cited(control: Control) -> str:
    return f"Sources: {control.source}" if control.hardening else f"Manual § {control.citation}"


if __name__ == "__main__":
    sys.stdout.write(render())
