"""The CI examples work from the administrator's own repository: they parse, install certgate
pinned, run the README's gate command with passwords from the CI system's secrets, keep the
reports, block the deploy on a failed audit, and the scheduled audit deploys nothing."""

from __future__ import annotations

import re
from typing import Any

import yaml

from tests.support.audit import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
GATE = "pytest --targets targets.yaml --strict"
# a git URL at a tag, or a wheel file: never an unpinned install, never the checkout (-e .)
PINNED = re.compile(r'^pip install "certgate @ (git\+https://\S+@v[\d.]+|\S+\.whl)"$')


def _load(name: str) -> dict[Any, Any]:
    doc = yaml.safe_load((REPO / "docs" / "ci" / name).read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    return doc


def test_github_actions_example():
    doc = _load("github-actions.yml")
    audit = doc["jobs"]["audit"]
    install, gate = [s["run"] for s in audit["steps"] if "run" in s]
    assert PINNED.match(install)
    assert gate == GATE
    assert install in README
    assert gate in README
    env = next(s for s in audit["steps"] if s.get("run") == gate)["env"]
    assert env["SHOP_PFX_PASSWORD"] == "${{ secrets.SHOP_PFX_PASSWORD }}"
    upload = next(s for s in audit["steps"] if str(s.get("uses", "")).startswith("actions/upload"))
    assert upload["if"] == "always()"
    assert upload["with"]["path"] == "reports/"
    assert doc["jobs"]["deploy"]["needs"] == "audit"
    # yaml reads the key `on` as True
    assert doc[True]["schedule"]
    assert doc["jobs"]["deploy"]["if"] == "github.event_name == 'push'"
    assert "self-hosted" in (REPO / "docs" / "ci" / "github-actions.yml").read_text("utf-8")


def test_gitlab_ci_example():
    doc = _load("gitlab-ci.yml")
    audit = doc["certificate-audit"]
    install, gate = audit["script"]
    assert PINNED.match(install)
    assert gate == GATE
    assert install in README
    assert gate in README
    assert audit["artifacts"]["when"] == "always"
    assert audit["artifacts"]["paths"] == ["reports/"]
    assert audit["artifacts"]["reports"]["junit"] == "reports/junit.xml"
    assert doc["deploy"]["needs"] == ["certificate-audit"]
    assert doc["stages"].index("audit") < doc["stages"].index("deploy")
    never_on_schedule = doc["deploy"]["rules"][0]
    assert never_on_schedule == {"if": '$CI_PIPELINE_SOURCE == "schedule"', "when": "never"}
    assert "masked CI/CD variables" in (REPO / "docs" / "ci" / "gitlab-ci.yml").read_text("utf-8")
