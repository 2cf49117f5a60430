"""An audit run by the pytest command ends itself once everything is written
(certgate/quick_exit.py): the same exit status and output, every exit handler run; a program
that calls pytest.main() ends as it chooses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.audit import checkout_env, lab_site, project, run

GOODBYE = """\
import atexit

def _goodbye():
    print("goodbye from the admin's plugin", flush=False)

atexit.register(_goodbye)
"""


@pytest.fixture
def folder(tmp_path: Path, demo_lab: Path) -> Path:
    targets = "targets:\n" + lab_site(demo_lab, "good-3tier", "csr", "certificate")
    made = project(tmp_path / "audit", targets + lab_site(demo_lab, "expired", "certificate"))
    (made / "goodbye.py").write_text(GOODBYE, encoding="utf-8")
    return made


@pytest.mark.parametrize(
    ("selection", "status"), [("good-3tier and rsa_2048", 0), ("expired", 1), ("nil", 5)]
)
def test_the_pytest_command_keeps_its_status_and_every_exit_handler(
    folder: Path, selection: str, status: int
):
    audit = run(folder, "-p", "goodbye", "-k", selection)
    assert audit.status == status
    # an exit handler registered before the audit's runs, and what it printed is flushed
    assert audit.stdout.rstrip().endswith("goodbye from the admin's plugin")
    if status != 5:
        assert audit.json["summary"]


def test_a_program_calling_pytest_main_ends_as_it_chooses(folder: Path):
    script = folder / "gate.py"
    script.write_text(
        "import sys, pytest\n"
        "code = pytest.main(['-q', '-k', 'expired'])\n"
        "print('the program goes on after pytest.main:', int(code))\n"
        "sys.exit(7)\n",
        encoding="utf-8",
    )
    done = _python(folder, str(script))
    assert "the program goes on after pytest.main: 1" in done.stdout
    assert done.returncode == 7


def test_an_audit_run_inside_a_pytest_session_leaves_that_session_its_status(folder: Path):
    """A test that runs an audit with pytest.main() (its status 0) and a test that fails:
    the outer pytest command exits 1, its own status."""
    outer = folder.parent / "outer"  # a project of its own, not an audit
    outer.mkdir()
    (outer / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (outer / "test_outer.py").write_text(
        "import os, pytest\n\n"
        "def test_runs_an_audit():\n"
        f"    os.chdir({str(folder)!r})\n"
        "    assert pytest.main(['-q', '-k', 'good-3tier and rsa_2048']) == 0\n\n"
        "def test_fails():\n"
        "    assert False\n",
        encoding="utf-8",
    )
    done = _python(outer, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_outer.py")
    assert "1 failed, 1 passed" in done.stdout
    assert done.returncode == 1


def _python(where: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """This interpreter with this checkout's certgate, run in ``where``."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=where,
        env=checkout_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
