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


# --- the sharded examples: N jobs audit a shard each, a final job merges -----------------------

_VAR = r"(\$\{\{ [\w.-]+ \}\}|\$\w+)"  # ${{ matrix.shard }} or $CI_NODE_INDEX
SHARD_GATE = re.compile(
    rf"^pytest --targets targets\.yaml --strict --shard={_VAR}/{_VAR}(?: (.*))?$"
)
MERGE = re.compile(r"^python -m certgate\.merge --reports-dir reports (\S+/results\.json)$")


def _runs(steps: list[dict[Any, Any]]) -> list[str]:
    return [s["run"] for s in steps if "run" in s]


def test_github_actions_shards_example():
    doc = _load("github-actions-shards.yml")
    audit, merge = doc["jobs"]["audit"], doc["jobs"]["merge"]
    assert audit["strategy"]["fail-fast"] is False
    shards = audit["strategy"]["matrix"]["shard"]
    assert shards == list(range(1, len(shards) + 1))
    install, gate = _runs(audit["steps"])
    assert PINNED.match(install)
    found = SHARD_GATE.match(gate)
    assert found, gate
    assert found.groups()[:2] == ("${{ matrix.shard }}", "${{ strategy.job-total }}")
    env = next(s for s in audit["steps"] if s.get("run") == gate)["env"]
    assert env["SHOP_PFX_PASSWORD"] == "${{ secrets.SHOP_PFX_PASSWORD }}"
    upload = next(s for s in audit["steps"] if str(s.get("uses", "")).startswith("actions/upload"))
    assert upload["if"] == "always()"
    assert upload["with"]["path"] == "reports/"
    assert upload["with"]["name"] == "certgate-shard-${{ matrix.shard }}"
    assert merge["needs"] == "audit"
    assert merge["if"] == "always()"
    download = next(s for s in merge["steps"] if str(s.get("uses", "")).startswith("actions/down"))
    assert download["with"] == {"pattern": "certgate-shard-*", "path": "shards"}
    merge_install, merged = _runs(merge["steps"])
    assert merge_install == install
    assert MERGE.match(merged)
    assert MERGE.match(merged)[1] == "shards/*/results.json"  # type: ignore[index]
    assert doc["jobs"]["deploy"]["needs"] == "merge"
    assert doc["jobs"]["deploy"]["if"] == "github.event_name == 'push'"


def test_gitlab_ci_shards_example():
    doc = _load("gitlab-ci-shards.yml")
    audit, report = doc["certificate-audit"], doc["certificate-report"]
    assert isinstance(audit["parallel"], int)
    assert audit["parallel"] > 1
    install, gate = audit["script"]
    assert PINNED.match(install)
    found = SHARD_GATE.match(gate)
    assert found, gate
    assert found.groups() == (
        "$CI_NODE_INDEX",
        "$CI_NODE_TOTAL",
        "--reports-dir=reports/shard-$CI_NODE_INDEX",
    )
    assert audit["artifacts"] == {"when": "always", "paths": ["reports/"]}
    assert report["needs"] == ["certificate-audit"]
    assert report["when"] == "always"
    merge_install, merged = report["script"]
    assert merge_install == install
    assert MERGE.match(merged)
    assert MERGE.match(merged)[1] == "reports/shard-*/results.json"  # type: ignore[index]
    assert report["artifacts"]["reports"]["junit"] == "reports/junit.xml"
    assert doc["deploy"]["needs"] == ["certificate-report"]
    assert doc["stages"] == ["audit", "report", "deploy"]


def test_shard_commands_parse():
    """The commands as CI expands them are options certgate accepts."""
    from certgate.shard import Shard

    for index in range(1, 5):
        assert Shard.parse(f"{index}/4").owns(index - 1)
