"""Run the real checks/ as a user would, against an inventory, and read what came out."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
# The audit's own options, as the repository's pyproject.toml gives them to `pytest`.
AUDIT_ADDOPTS: list[str] = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))[
    "tool"
]["pytest"]["ini_options"]["addopts"]


@dataclass
class Audit:
    """One audit run: pytest's exit status and output, and the reports it wrote."""

    status: int
    stdout: str
    stderr: str
    reports: Path

    @property
    def json(self) -> dict[str, Any]:
        path = self.reports / "results.json"
        assert path.exists(), f"no results.json (exit {self.status}): {self.stderr[-2000:]}"
        doc: dict[str, Any] = json.loads(path.read_text("utf-8"))
        return doc

    def rows(self, control: str | None = None, target: str | None = None) -> list[dict[str, Any]]:
        return [
            r
            for r in self.json["results"]
            if (control is None or r["control"] == control)
            and (target is None or r["target"] == target)
        ]

    def row(self, control: str, target: str, subject: str) -> dict[str, Any]:
        rows = [r for r in self.rows(control, target) if r["subject"] == subject]
        assert len(rows) == 1, f"expected one {control} row for {target}:{subject}, got {rows}"
        return rows[0]


def project(folder: Path, targets_yaml: str) -> Path:
    """A project folder like the repository's: one-line conftest, checks/, targets.yaml."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "conftest.py", folder / "conftest.py")
    shutil.copytree(
        REPO / "checks", folder / "checks", ignore=shutil.ignore_patterns("__pycache__")
    )
    (folder / "targets.yaml").write_text(targets_yaml, encoding="utf-8")
    (folder / "pytest.ini").write_text(
        f"[pytest]\ntestpaths = checks\naddopts = {' '.join(AUDIT_ADDOPTS)}\n", encoding="utf-8"
    )
    return folder


def checkout_env() -> dict[str, str]:
    """This environment, with this checkout's certgate first on the path: a subprocess
    imports it, not whichever one the interpreter has installed (a second worktree's
    self-tests must run that worktree's code)."""
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path}


def run(folder: Path, *args: str, env: dict[str, str] | None = None, cache: bool = False) -> Audit:
    """Run ``pytest`` in ``folder`` in a subprocess, as an administrator would (without
    pytest's cache unless ``cache``)."""
    environment = {**checkout_env(), "CI": "true", "COLUMNS": "200", **(env or {})}
    no_cache = () if cache else ("-p", "no:cacheprovider")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *no_cache, *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        env=environment,
        check=False,
    )
    return Audit(done.returncode, done.stdout, done.stderr, folder / "reports")


_LAB_FILES = {"csr": "request.csr", "certificate": "server.cer"}


def lab_site(lab: Path, name: str, *parts: str) -> str:
    """One target of a targets.yaml naming a demo-lab site's own files (``csr``,
    ``certificate``), for a ``targets:`` list."""
    lines = [f"  - name: {name}"]
    lines += [f"    {part}: {lab}/sites/{name}/{_LAB_FILES[part]}" for part in parts]
    return "\n".join(lines) + "\n"


def demo_targets(lab: Path) -> str:
    """The shipped targets.yaml, pointed at a lab folder built elsewhere."""
    text = (REPO / "targets.yaml").read_text(encoding="utf-8")
    return text.replace("lab: .lab", f"lab: {lab}").replace(".lab/", f"{lab}/")


# The one message that differs between two runs of the demo: how much of a page that never
# finishes arrived before the 5 s bound.
BYTES_READ = re.compile(r"\(\d+ bytes read\)")


def comparable_rows(audit: Audit) -> list[dict[str, Any]]:
    """results.json's rows, with what differs between two runs of the same audit (BYTES_READ)
    made equal."""
    return [
        {k: BYTES_READ.sub("(N bytes read)", v) if isinstance(v, str) else v for k, v in r.items()}
        for r in audit.json["results"]
    ]


def run_beside(audit: Audit, reports: str, *args: str, env: dict[str, str] | None = None) -> Audit:
    """The project of ``audit`` audited again, writing to its own reports folder."""
    folder = audit.reports.parent
    done = run(folder, *args, "--reports-dir", reports, env=env)
    return replace(done, reports=folder / reports)


def report_table(path: Path) -> tuple[str, str, list[tuple[str, str, list[str]]]]:
    """report.html's title, compliance matrix and results table: per row its test id, its
    outcome and log, its cells (durations blanked) and extras."""
    text = path.read_text("utf-8")
    blob = re.search(r'data-jsonblob="([^"]*)"', text)
    matrix = re.search(r"<h2>Compliance matrix.*?</table>", text, re.S)
    assert blob is not None
    assert matrix is not None
    data = json.loads(html.unescape(blob[1]))
    rows = []
    for test_id, runs_ in data["tests"].items():
        for row in runs_:
            cells = [re.sub(r'col-duration">[^<]*', "", c) for c in row["resultsTableRow"]]
            extras = [e["content"] for e in row["extras"]]
            rows.append((test_id, BYTES_READ.sub("", row["result"] + row["log"]), cells + extras))
    return data["title"], matrix[0], rows
