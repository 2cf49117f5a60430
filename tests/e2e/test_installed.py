"""certgate where the administrator's files are: installed from a wheel into a fresh virtual
environment, run from an outside folder with no checkout; any path, either option spelling.

Offline, the fresh environment gets certgate from the wheel alone (``--no-deps --no-index``) and
its dependencies from a folder of links to this environment's installed packages, certgate's
own left out. That proves the wheel carries the plugin, its entry point and the checks, and
that nothing of the checkout is used; it does not prove that pip resolves the dependencies
from an index (that needs the network).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.support.admin import ADMIN_ITEMS, PFX_PASSWORD, audit_folder
from tests.support.audit import REPO

pytestmark = pytest.mark.slow

# What a source distribution of the project holds: building from a copy keeps the checkout
# free of build/ and *.egg-info, and a stale build/ from packaging removed files.
_SOURCES = ("pyproject.toml", "README.md", "certgate", "checks")
_SITE = Path(sysconfig.get_paths()["purelib"])


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """certgate's wheel, built offline from a copy of the checkout."""
    source = tmp_path_factory.mktemp("source")
    for name in _SOURCES:
        if (REPO / name).is_dir():
            ignore = shutil.ignore_patterns("__pycache__")
            shutil.copytree(REPO / name, source / name, ignore=ignore)
        else:
            shutil.copy(REPO / name, source / name)
    dist = tmp_path_factory.mktemp("dist")
    _pip("wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(dist), str(source))
    (built,) = dist.glob("certgate-*.whl")
    return built


@pytest.fixture(scope="module")
def fresh(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment (no system site-packages) with the wheel installed."""
    venv = tmp_path_factory.mktemp("venv") / "fresh"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    _pip("--python", str(python), "install", "--no-deps", "--no-index", str(wheel))
    deps = tmp_path_factory.mktemp("deps")
    for entry in _SITE.iterdir():
        ours = entry.name.lower().startswith(("certgate", "__editable__", "_certgate"))
        if not ours and entry.suffix != ".pth":
            (deps / entry.name).symlink_to(entry)
    site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"))
    (site / "certgate-test-deps.pth").write_text(f"{deps}\n", encoding="utf-8")
    return python


def _pip(*args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args],
        check=True,
        capture_output=True,
    )


def _run(python: Path, *args: str, cwd: Path | None = None) -> str:
    done = subprocess.run([str(python), *args], cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def _audit(
    python: Path | str, cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    environment.update({"COLUMNS": "200", "SHOP_PFX_PASSWORD": PFX_PASSWORD, **(env or {})})
    return subprocess.run(
        [str(python), "-m", "pytest", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
        check=False,
    )


def _results(folder: Path) -> dict[str, object]:
    doc: dict[str, object] = json.loads((folder / "results.json").read_text("utf-8"))
    return doc


def test_the_wheel_ships_the_plugin_and_the_checks(fresh: Path, tmp_path: Path):
    where = _run(
        fresh,
        "-c",
        "import certgate.plugin, certgate.checks, importlib.metadata as m; "
        "print(certgate.plugin.__file__); print(certgate.checks.__path__[0]); "
        "print([e.value for e in m.entry_points(group='pytest11') if 'certgate' in e.value])",
        cwd=tmp_path,
    )
    plugin, checks, entry_points = where.splitlines()
    venv = fresh.parent.parent
    assert Path(plugin).is_relative_to(venv)
    assert Path(checks).is_relative_to(venv)
    assert (Path(checks) / "test_keys.py").is_file()
    assert entry_points == "['certgate.plugin']"


def test_installed_audit_in_the_administrators_folder(fresh: Path, tmp_path: Path):
    folder = audit_folder(tmp_path / "audit")
    done = _audit(fresh, folder, "--targets", "targets.yaml")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    doc = _results(folder / "reports")
    rows = doc["results"]
    assert isinstance(rows, list)
    assert rows
    assert {r["target"] for r in rows} == {"shop"}
    assert {r["outcome"] for r in rows} == {"passed"}
    assert {"csr-format", "rsa-2048", "chain-links", "pfx-contents"} <= {r["control"] for r in rows}
    # nodeids stay readable: the check's file and name, no site-packages path
    assert "checks/test_keys.py::test_rsa_2048[shop:csr]" in {r["nodeid"] for r in rows}
    assert not any("site-packages" in r["nodeid"] for r in rows)
    assert (folder / "reports" / "report.html").is_file()
    assert (folder / "reports" / "junit.xml").is_file()
    assert str(REPO) not in done.stdout


def test_installed_audit_of_a_broken_key_fails_the_gate(fresh: Path, tmp_path: Path):
    folder = audit_folder(tmp_path / "audit")
    certs = folder / "certs"
    subprocess.run(
        ["openssl", "req", "-new", "-newkey", "rsa:1024", "-nodes", "-keyout", "weak.key",
         "-out", "shop.csr", "-subj", "/C=TW/ST=TAIWAN/L=TAIPEI/O=Example/CN=shop.example.com.tw"],
        cwd=certs, check=True, capture_output=True,
    )  # fmt: skip
    done = _audit(fresh, folder, "--targets", "targets.yaml", "-k", "rsa-2048")
    assert done.returncode == 1
    assert "manual 5.1.5" in done.stdout
    row = next(r for r in _results(folder / "reports")["results"] if r["subject"] == "csr")  # type: ignore[attr-defined]
    assert row["outcome"] == "failed"


PROJECT_PYTHON = sys.executable


def test_space_form_from_the_repository_root(tmp_path: Path):
    """``--targets /abs/path`` with a space, and --reports-dir / --waivers too, from the
    checkout's root, with the environment's editable install (make's)."""
    folder = audit_folder(tmp_path / "audit")
    (folder / "waivers.yaml").write_text("waivers: []\n", encoding="utf-8")
    out = tmp_path / "out"
    done = _audit(
        PROJECT_PYTHON, REPO,
        "--targets", str(folder / "targets.yaml"),
        "--reports-dir", str(out),
        "--waivers", str(folder / "waivers.yaml"),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    rows = _results(out)["results"]
    assert len(rows) == ADMIN_ITEMS  # type: ignore[arg-type]
    # pytest picks its root directory from the path after --targets before it knows the option
    # takes a value, so the checks' nodeids are relative to them: readable either way
    assert any(r["nodeid"].endswith("test_keys.py::test_rsa_2048[shop:csr]") for r in rows)  # type: ignore[attr-defined]


def test_relative_dotdot_paths_from_another_folder(tmp_path: Path):
    audit_folder(tmp_path / "audit")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = _audit(
        PROJECT_PYTHON, elsewhere, "--targets", "../audit/targets.yaml", "--reports-dir", "../out"
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert len(_results(tmp_path / "out")["results"]) == ADMIN_ITEMS  # type: ignore[arg-type]
    assert not (elsewhere / "reports").exists()


def test_default_reports_go_where_pytest_runs(tmp_path: Path):
    folder = audit_folder(tmp_path / "audit")
    done = _audit(PROJECT_PYTHON, folder, f"--targets={folder / 'targets.yaml'}")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert (folder / "reports" / "results.json").is_file()


@pytest.mark.parametrize("form", ["space", "equals"])
def test_a_windows_path_is_read_as_the_targets_option(tmp_path: Path, form: str):
    """On Linux ``C:\\audit\\targets.yaml`` names no file: the targets file is missing (exit 4),
    never 'unrecognized arguments' or a test path."""
    path = r"C:\audit\targets.yaml"
    args = ["--targets", path] if form == "space" else [f"--targets={path}"]
    done = _audit(PROJECT_PYTHON, tmp_path, *args)
    assert done.returncode == 4
    assert "cannot read the targets file" in done.stdout + done.stderr
    assert "unrecognized arguments" not in done.stderr


def test_pytest_elsewhere_in_the_environment_is_left_alone(tmp_path: Path):
    """The plugin loads into every pytest run of the environment; without an inventory it
    reads none, writes no report and leaves the run's tests as they are."""
    (tmp_path / "test_mine.py").write_text("def test_mine():\n    assert True\n", "utf-8")
    done = _audit(PROJECT_PYTHON, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
    assert "certgate" not in done.stdout.replace("certgate-0.1.0", "")
    assert not (tmp_path / "reports").exists()


def test_an_audit_option_without_an_inventory_is_refused(tmp_path: Path):
    done = _audit(PROJECT_PYTHON, tmp_path, "--reports-dir", "out")
    assert done.returncode == 4
    assert "--reports-dir is a certgate audit option, but this run audits nothing" in done.stderr
    assert not (tmp_path / "out").exists()
