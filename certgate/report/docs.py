"""docs/controls.md, generated from the catalogue:
`python -m certgate.report.docs > docs/controls.md`.

A self-test regenerates it and fails when the committed file has drifted from the catalogue.
"""

from __future__ import annotations

import sys

from certgate.controls import CATALOGUE, Control


def render() -> str:
    """The whole document, in catalogue order."""
    parts = [
        "# certgate controls\n",
        "Generated from `certgate/controls.py` by `python -m certgate.report.docs`; do not edit.\n",
        "Each control is one requirement of TWCA's IIS 10.0 SSL certificate manual (v5.4), with a",
        "stable id that reports, waivers and results.json use.\n",
        "| id | requirement | manual § | severity | applies to |",
        "|---|---|---|---|---|",
        *(_row(c) for c in CATALOGUE.values()),
        "",
        *(_section(c) for c in CATALOGUE.values()),
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
        f"Manual § {control.citation}; severity {control.severity.value}.\n\n"
        f"**Fix (IIS 10):** {control.remediation_en}\n\n"
        f"**修正方式（IIS 10）：** {control.remediation_zh}\n"
    )


if __name__ == "__main__":
    sys.stdout.write(render())
