"""What a run says about itself adds up: the terminal's counts, the time it judged at
(``as_of``), the gate's exit statuses; and a password pasted into targets.yaml is never shown."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.admin import ADMIN_ITEMS, PFX_PASSWORD, TARGETS, audit_folder
from tests.support.audit import REPO, Audit, checkout_env, demo_targets, project, run

pytestmark = pytest.mark.slow

_COLLECTED = re.compile(r"collected (\d+) items?(?: / (\d+) deselected)?(?: / (\d+) selected)?")
_FINAL = re.compile(r"^=+ (.+) in [\d.]+s(?: \([^)]*\))? =+$", re.MULTILINE)
_RAN = ("passed", "failed", "warning", "waived", "error", "errors", "xfailed", "xpassed", "skipped")


def _counts(stdout: str) -> tuple[int, int, int, int]:
    """(collected, deselected, selected, ran) as pytest's terminal printed them."""
    head = _COLLECTED.search(stdout)
    assert head is not None, stdout[:2000]
    collected = int(head[1])
    deselected = int(head[2] or 0)
    selected = int(head[3] or collected - deselected)
    final = _FINAL.findall(stdout)[-1]
    tally = {word: int(n) for n, word in re.findall(r"(\d+) (\w+)", final)}
    assert tally.get("deselected", 0) == deselected, final
    ran = sum(n for word, n in tally.items() if word in _RAN)
    return collected, deselected, selected, ran


def _assert_adds_up(audit: Audit) -> None:
    collected, deselected, selected, ran = _counts(audit.stdout)
    assert collected == deselected + selected
    assert selected == ran == len(audit.json["results"])


def test_the_demo_counts_add_up(demo_audit):
    """Checks no target applies to (no waivers, say) are not collected at all."""
    _assert_adds_up(demo_audit)
    assert "deselected" not in _COLLECTED.search(demo_audit.stdout)[0]  # type: ignore[index]


def test_selected_counts_add_up(demo_lab, tmp_path):
    audit = run(project(tmp_path, demo_targets(demo_lab)), "-k", "rsa-1024 or expired or waiver")
    _assert_adds_up(audit)
    assert _counts(audit.stdout)[1] > 0


def test_as_of_is_the_time_judged_at(demo_lab, tmp_path):
    folder = project(tmp_path, demo_targets(demo_lab))
    today = run(folder, "-k", "expiring-soon and validity")
    assert today.json["as_of"] == today.json["started"]
    later = run(folder, "-k", "expiring-soon and validity", "--now", "2099-01-01T00:00:00Z")
    doc = later.json
    assert doc["as_of"] == "2099-01-01T00:00:00Z"
    assert doc["started"] != doc["as_of"]
    assert later.row("validity", "expiring-soon", "certificate")["outcome"] == "failed"
    assert (
        "(audited 2099-01-01)" in later.row("validity", "expiring-soon", "certificate")["message"]
    )
    html = (later.reports / "report.html").read_text("utf-8")
    assert "certgate audit — targets.yaml — 2099-01-01 (as of, with --now; run on" in html
    assert "2099-01-01 00:00:00 UTC (--now)" in html  # the environment table


# --- the gate: the plain pytest command the README and the CI examples give -----------------

GATE = ("--targets", "targets.yaml", "--strict")


def test_the_gate_command_is_the_documented_one():
    assert f"pytest {' '.join(GATE)}" in (REPO / "README.md").read_text("utf-8")


def _gate(folder: Path, *extra: str, env: dict[str, str] | None = None) -> Audit:
    return run(folder, *GATE, *extra, env={"SHOP_PFX_PASSWORD": PFX_PASSWORD, **(env or {})})


def test_gate_exit_0_when_compliant(tmp_path):
    assert _gate(audit_folder(tmp_path)).status == 0


def test_gate_exit_1_when_something_failed(tmp_path):
    folder = audit_folder(tmp_path)
    audit = _gate(folder, env={"SHOP_PFX_PASSWORD": "not the password"})
    assert audit.status == 1
    assert {r["outcome"] for r in audit.rows(control="pfx-contents")} == {"error"}


def test_gate_exit_4_for_a_bad_targets_file(tmp_path):
    folder = audit_folder(tmp_path)
    (folder / "targets.yaml").write_text(TARGETS + "    colour: red\n", encoding="utf-8")
    audit = _gate(folder)
    assert audit.status == 4
    assert "target 'shop': key 'colour'" in audit.stdout + audit.stderr


def test_gate_exit_5_when_nothing_was_collected(tmp_path):
    assert _gate(audit_folder(tmp_path), "-k", "no-such-target").status == 5


# --- a password pasted where the variable's name belongs ---------------------------------------

PASTED = "Tw2026 Secret!"


def _everything_written(audit: Audit, folder: Path) -> str:
    files = [p for p in folder.rglob("*") if p.is_file() and p.suffix not in (".key", ".pfx")]
    return audit.stdout + audit.stderr + "".join(p.read_text("utf-8", "replace") for p in files)


def test_a_pasted_password_is_refused_at_load_and_never_echoed(tmp_path):
    folder = audit_folder(tmp_path)
    targets = TARGETS.replace("pfx_password_env: SHOP_PFX_PASSWORD", f"pfx_password_env: {PASTED}")
    (folder / "targets.yaml").write_text(targets, encoding="utf-8")
    audit = _gate(folder)
    assert audit.status == 4
    problems = [line for line in audit.stderr.splitlines() if "pfx_password_env" in line]
    assert len(problems) == 1
    assert (
        "target 'shop': key 'pfx_password_env': expected the name of an environment"
        in (problems[0])
    )
    written = _everything_written(audit, folder).replace(targets, "")
    assert "Tw2026" not in written
    assert not (folder / "reports" / "results.json").exists()


def test_a_password_that_looks_like_a_name_is_never_shown(tmp_path):
    """``Tw2026Secret`` is a valid variable name: it is unset, so the PFX items are errors,
    but no output, report or message names it."""
    folder = audit_folder(tmp_path)
    targets = TARGETS.replace(
        "pfx_password_env: SHOP_PFX_PASSWORD", "pfx_password_env: Tw2026Secret"
    )
    (folder / "targets.yaml").write_text(targets, encoding="utf-8")
    audit = _gate(folder)
    assert audit.status == 1
    assert {r["outcome"] for r in audit.rows(control="pfx-contents")} == {"error"}
    assert "named by pfx_password_env" in audit.rows(control="pfx-contents")[0]["message"]
    assert {"report.html", "junit.xml", "results.json"} <= {p.name for p in audit.reports.iterdir()}
    assert "Tw2026" not in _everything_written(audit, folder).replace(targets, "")


def test_collect_only_lists_host_items_without_looking_names_up(tmp_path):
    """Listing the items contacts nothing: a name without `addresses` is listed by name (a
    lookup of .invalid would have made it `unresolved`), and no reports are written."""
    targets = (
        "targets:\n"
        "  - {name: shop, host: shop.nonexistent.invalid}\n"
        "  - {name: pinned, host: www.example.com.tw, addresses: [192.0.2.7]}\n"
    )
    done = run(project(tmp_path, targets), "--collect-only", "-q")
    assert done.status == 0, done.stdout + done.stderr
    assert "test_https_binding[shop@shop.nonexistent.invalid:443]" in done.stdout
    assert "test_https_binding[pinned@192.0.2.7:443]" in done.stdout
    assert "unresolved" not in done.stdout
    assert not (tmp_path / "reports" / "results.json").exists()


def test_an_admin_repository_with_its_own_testpaths_still_audits(tmp_path):
    """Issue 10 review: a project's own `testpaths = ["tests"]` are its tests; an audit asked
    for with --targets runs the shipped checks, never only the project's tests (a gate must
    not pass having audited nothing)."""
    folder = audit_folder(tmp_path / "repo")
    (folder / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n', encoding="utf-8"
    )
    (folder / "tests").mkdir()
    (folder / "tests" / "test_app.py").write_text("def test_app():\n    pass\n", "utf-8")
    done = run(folder, "--targets", "targets.yaml", env={"SHOP_PFX_PASSWORD": PFX_PASSWORD})
    rows = done.json["results"]
    assert done.status == 0, done.stdout[-2000:]
    assert {"csr-format", "rsa-2048", "validity"} <= {r["control"] for r in rows}
    assert "test_app" not in done.stdout


def test_only_the_projects_tests_with_an_audit_asked_for_is_refused(tmp_path):
    folder = audit_folder(tmp_path / "repo")
    (folder / "tests").mkdir()
    (folder / "tests" / "test_app.py").write_text("def test_app():\n    pass\n", "utf-8")
    done = run(folder, "--targets", "targets.yaml", "tests")
    assert done.status == 4
    assert "hold none of certgate's checks" in done.stdout + done.stderr


def test_now_with_a_time_zone_is_recorded_in_utc(tmp_path):
    folder = audit_folder(tmp_path / "audit")
    env = {"SHOP_PFX_PASSWORD": PFX_PASSWORD}
    done = run(folder, "--targets", "targets.yaml", "--now", "2027-11-30T07:00:00+08:00", env=env)
    assert done.json["as_of"] == "2027-11-29T23:00:00Z"


def test_an_unreadable_san_makes_only_the_items_that_need_it_errors(tmp_path):
    """A subjectAltName nobody can read (openssl writes it as told): cn-hostname needs it to
    cover the host and is an error naming the part; the other items are judged; the report
    shows the evidence and the run does not crash (review of issue 9)."""
    import subprocess

    folder = tmp_path / "audit"
    folder.mkdir()
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
            "-keyout", str(folder / "k.pem"), "-subj", "/CN=other.example.com.tw",
            "-days", "30", "-addext", "subjectAltName=DER:30:05:82:09:61",
            "-out", str(folder / "server.cer"),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    (folder / "targets.yaml").write_text(
        "targets:\n  - {name: shop, host: shop.example.com.tw, certificate: server.cer}\n",
        encoding="utf-8",
    )
    done = run(folder, "--targets", "targets.yaml", "-k", "not https and not chain")
    assert done.status == 1, done.stdout[-2000:] + done.stderr[-2000:]
    rows = {r["control"]: r for r in done.json["results"] if r["subject"] == "certificate"}
    assert rows["cn-hostname"]["outcome"] == "error"
    assert "cannot read its subjectAltName" in rows["cn-hostname"]["message"]
    assert rows["subject-english"]["outcome"] == "passed"
    assert rows["rsa-2048"]["outcome"] == "passed"
    assert "(unreadable: " in (folder / "reports" / "report.html").read_text("utf-8")


def test_reports_dir_with_a_space_works_on_the_second_run_too(tmp_path):
    """pytest picks its root directory before it knows certgate's options, so an existing
    `--reports-dir DIR` (space form) becomes the root directory; the audit must not care."""
    folder = audit_folder(tmp_path / "audit")
    out = tmp_path / "out"
    env = {"SHOP_PFX_PASSWORD": PFX_PASSWORD}
    for _ in range(2):  # the second time, DIR exists
        done = run(folder, "--reports-dir", str(out), env=env)
        assert done.status == 0, done.stdout[-2000:] + done.stderr[-2000:]
        assert (out / "results.json").is_file()
        (out / "results.json").unlink()


def test_the_terminal_lists_the_targets_with_findings_and_counts_the_rest(demo_audit):
    """At fleet size the terminal prints the findings, not one line per site (issue 13)."""
    section = demo_audit.stdout.split("certgate: targets with findings", 1)[1]
    lines = section.split("=====", 1)[1].splitlines()
    assert any(line.startswith("rsa-1024 ") and "failed (rsa-2048" in line for line in lines)
    assert not any(line.startswith("good-3tier ") for line in lines)
    clean = {r["target"] for r in demo_audit.json["results"]} - {
        r["target"] for r in demo_audit.json["results"] if r["outcome"] != "passed"
    }
    assert f"{len(clean)} other targets: every item passed" in section


_ADMIN_CONFTEST = """\
import pytest

def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line("the admin's conftest.py ran")

@pytest.fixture(autouse=True)
def stamped(request):
    with open("stamped.txt", "a", encoding="utf-8") as out:
        out.write(request.node.nodeid + "\\n")
"""


def test_the_admins_own_conftest_is_loaded_with_the_shipped_checks(tmp_path):
    """pytest loads a folder's conftest.py for the tests under it; the checks certgate ships
    live in the package, outside the admin's folder, and pytest would skip it: certgate loads
    it as a plugin of the run. Its hook runs, and its autouse fixture runs for every item."""
    folder = audit_folder(tmp_path / "audit")
    (folder / "conftest.py").write_text(_ADMIN_CONFTEST, encoding="utf-8")
    done = run(folder, "--targets", "targets.yaml", env={"SHOP_PFX_PASSWORD": PFX_PASSWORD})
    assert done.status == 0, done.stdout[-2000:]
    assert "the admin's conftest.py ran" in done.stdout
    stamped = (folder / "stamped.txt").read_text(encoding="utf-8").splitlines()
    assert len(stamped) == len(done.rows()) == ADMIN_ITEMS


def test_an_admins_conftest_that_cannot_load_stops_the_run_in_one_line(tmp_path):
    folder = audit_folder(tmp_path / "audit")
    (folder / "conftest.py").write_text("import no_such_module_here\n", encoding="utf-8")
    done = run(folder, "--targets", "targets.yaml")
    assert done.status == 4
    said = [line for line in (done.stdout + done.stderr).splitlines() if "cannot load" in line]
    assert said == [
        f"ERROR: certgate: cannot load {folder / 'conftest.py'}: "
        "ModuleNotFoundError: No module named 'no_such_module_here'"
    ]
    assert not (folder / "reports" / "results.json").exists()


def test_an_admins_conftest_below_the_root_directory_with_its_own_helper_module(tmp_path):
    """The repository's root directory above (its pytest.ini), the audit folder below with a
    conftest.py that imports a module of its own, run with the ``pytest`` command (the folder
    is then not on sys.path by itself): the helper imports, the hook runs, and the autouse
    fixture runs for every check (its fixtures are not scoped to its folder)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    folder = audit_folder(repo / "audit")
    (folder / "helpers.py").write_text("LABEL = 'from the helper module'\n", encoding="utf-8")
    (folder / "conftest.py").write_text(
        "from helpers import LABEL\n"
        + _ADMIN_CONFTEST.replace('"the admin', 'LABEL + " the admin'),
        encoding="utf-8",
    )
    done = subprocess.run(
        [str(Path(sys.executable).parent / "pytest"), "--targets", "targets.yaml"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        env={**checkout_env(), "SHOP_PFX_PASSWORD": PFX_PASSWORD},
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "from the helper module the admin's conftest.py ran" in done.stdout
    stamped = (folder / "stamped.txt").read_text(encoding="utf-8").splitlines()
    assert len(stamped) == ADMIN_ITEMS


def test_noconftest_leaves_the_admins_conftest_alone(tmp_path):
    folder = audit_folder(tmp_path / "audit")
    (folder / "conftest.py").write_text(_ADMIN_CONFTEST, encoding="utf-8")
    done = run(
        folder, "--targets", "targets.yaml", "--noconftest", env={"SHOP_PFX_PASSWORD": PFX_PASSWORD}
    )
    assert done.status == 0, done.stdout[-2000:]
    assert "the admin's conftest.py ran" not in done.stdout
    assert not (folder / "stamped.txt").exists()


def test_the_shipped_checks_run_without_pytests_terminal(tmp_path):
    """``-p no:terminal``: certgate adjusts no terminal options that are not there (pytest
    knows ``--tb`` and ``-r`` only with its terminal) and counts passes for no terminal."""
    folder = audit_folder(tmp_path / "audit")
    done = run(
        folder,
        "-p",
        "no:terminal",
        "--targets",
        "targets.yaml",
        env={"SHOP_PFX_PASSWORD": PFX_PASSWORD},
    )
    assert "INTERNALERROR" not in done.stdout + done.stderr
    assert done.status == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert len(done.rows()) == ADMIN_ITEMS
