"""The CI examples parse, run the commands the README gives, keep the reports, and gate."""

from __future__ import annotations

from typing import Any

import yaml

from tests.audit import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def _load(name: str) -> dict[Any, Any]:
    doc = yaml.safe_load((REPO / "docs" / "ci" / name).read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    return doc


def test_github_actions_example():
    doc = _load("github-actions.yml")
    audit = doc["jobs"]["audit"]
    commands = [s["run"] for s in audit["steps"] if "run" in s]
    assert commands == ["pip install -e .", "pytest --targets targets.yaml --strict"]
    assert all(c in README for c in commands)
    upload = next(s for s in audit["steps"] if str(s.get("uses", "")).startswith("actions/upload"))
    assert upload["if"] == "always()"
    assert upload["with"]["path"] == "reports/"
    assert doc["jobs"]["deploy"]["needs"] == "audit"


def test_gitlab_ci_example():
    doc = _load("gitlab-ci.yml")
    audit = doc["certificate-audit"]
    assert audit["script"] == ["pip install -e .", "pytest --targets targets.yaml --strict"]
    assert all(c in README for c in audit["script"])
    assert audit["artifacts"]["when"] == "always"
    assert audit["artifacts"]["reports"]["junit"] == "reports/junit.xml"
    assert doc["deploy"]["needs"] == ["certificate-audit"]
    assert doc["stages"].index("audit") < doc["stages"].index("deploy")
