"""Headless Chromium (Debian's package) for looking at what certgate produces."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from certgate.pages.browser import FLAGS as BROWSER_FLAGS

# certgate's own Chromium flags (headless, no background networking), minus its DevTools
# pipe, plus console logging so script errors can be read.
FLAGS = (
    *(f for f in BROWSER_FLAGS if f != "--remote-debugging-pipe"),
    "--enable-logging=stderr",
    "--v=0",
)


@dataclass(frozen=True)
class Rendered:
    """A page after its scripts ran: the DOM, and what the console said."""

    dom: str
    console: str


def chromium() -> str:
    """The Chromium executable (.ci/run installs Debian's `chromium`)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        raise RuntimeError(
            "chromium is not installed: run `apt-get install chromium` (.ci/run does)"
        )
    return found


def render(page: Path, screenshot: Path | None = None) -> Rendered:
    """Load a local page, return its DOM after scripts ran; optionally save a screenshot."""
    with tempfile.TemporaryDirectory() as profile:
        base = [chromium(), *FLAGS, f"--user-data-dir={profile}", "--window-size=1400,1600"]
        dumped = subprocess.run(
            [*base, "--virtual-time-budget=3000", "--dump-dom", page.as_uri()],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if screenshot is not None:
            subprocess.run(
                [*base, f"--screenshot={screenshot}", page.as_uri()],
                capture_output=True,
                timeout=120,
                check=False,
            )
    return Rendered(dumped.stdout, dumped.stderr)


def console_errors(console: str) -> list[str]:
    """Script errors Chromium logged for the page (uncaught exceptions, console.error)."""
    return [
        line
        for line in console.splitlines()
        if "CONSOLE" in line and ("Uncaught" in line or ":ERROR:" in line)
    ]


def print_pdf(page: Path, pdf: Path) -> str:
    """Print a local page as Chromium prints it (``--print-to-pdf``); return the PDF's text
    as ``pdftotext -layout`` reads it (poppler-utils, which .ci/run installs)."""
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                chromium(),
                *FLAGS,
                f"--user-data-dir={profile}",
                "--no-pdf-header-footer",
                "--virtual-time-budget=3000",
                f"--print-to-pdf={pdf}",
                page.as_uri(),
            ],
            capture_output=True,
            timeout=180,
            check=False,
        )
    pdftotext = shutil.which("pdftotext")
    if pdftotext is None:
        raise RuntimeError("pdftotext is not installed: `apt-get install poppler-utils`")
    done = subprocess.run(
        [pdftotext, "-layout", str(pdf), "-"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout
