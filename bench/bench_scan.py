"""Benchmark: a full certgate audit and its host scan side by side with bare ``sslyze --certinfo``.

Run by hand, not by the tests::

    .venv/bin/python bench/bench_scan.py             # N = 1, 10, 50; 3 rounds each
    .venv/bin/python bench/bench_scan.py -n 50 -r 5

It serves N good 3-tier HTTPS endpoints on distinct loopback addresses (127.0.20.x) from
this process, then times each contender as a subprocess over the same endpoints, and reports
the median wall time, its ratio to bare sslyze, and its peak memory (:func:`measure`).
The quality bar (SPEC §6): at N = 50 the audit is no slower than bare sslyze (ratio <= 1.0)
and stays under 150 MiB.

The contenders:

* ``sslyze``: ``python -m sslyze --certinfo`` of the N endpoints, the lab root as CA file.
* ``scan()``: ``certgate.hosts.scan.scan()`` alone, in a subprocess.
* ``audit``: ``python -m pytest`` in a project folder laid out as an administrator's (the
  one-line conftest.py, a copy of checks/, a pytest.ini, targets.yaml): every control on
  every host target -- https-binding, chain-served, chain-trusted, served-expected, and
  rsa-2048, subject-english, validity, renewal-window on the served leaf and on the
  target's certificate file -- and consistent-addresses for the targets with two addresses
  (every tenth endpoint joins the one before it; none at N = 1), with report.html,
  junit.xml and results.json written. After every run its results.json is checked: one
  passing row per host control and endpoint, else the run counts as failed.

Exit status 1 when a run failed, a peak is over 150 MiB, or the audit's ratio is over
:data:`AUDIT_GOALS` (1.5 at N = 1, 1.0 at N = 50). Figures and where the time goes: README.md.

To add a column, append a :class:`Contender` to :data:`CONTENDERS`: a name, a function from
the bench setup to the command line to run, and optionally a check of what the run wrote.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from certgate.hosts.facts import Endpoint  # noqa: E402
from certgate.lab import demo, pki, servers  # noqa: E402

HOST = "www.bench.lab"
LIMIT_MIB = 150
AUDIT_GOALS = {1: 1.5, 50: 1.0}  # N -> the audit's highest acceptable ratio to bare sslyze


@dataclass(frozen=True)
class Setup:
    """What every contender gets: the endpoints, the lab's root file, a scratch folder."""

    endpoints: tuple[Endpoint, ...]
    root_file: Path
    leaf_file: Path  # the certificate every endpoint serves
    workdir: Path


@dataclass(frozen=True)
class Contender:
    """One column: ``command(setup)`` is the command line timed as a subprocess.

    It runs in ``cwd(setup)`` (default: the repository). ``verify(setup)``, when given, runs
    after each timed run and returns what is wrong with what the run produced (None: all
    there); a run that measured nothing is a failed run.
    """

    name: str
    command: Callable[[Setup], list[str]]
    verify: Callable[[Setup], str | None] | None = None
    cwd: Callable[[Setup], Path] = lambda _: REPO


@dataclass(frozen=True)
class Run:
    """One timed subprocess."""

    seconds: float
    peak_mib: float
    returncode: int


def sslyze_cli(setup: Setup) -> list[str]:
    """Bare sslyze, certificate info only, the lab root as its extra CA file."""
    targets = [f"{e.host}:{e.port}{{{e.address}}}" for e in setup.endpoints]
    return [
        sys.executable,
        "-m",
        "sslyze",
        "--certinfo",
        f"--certinfo_ca_file={setup.root_file}",
        "--quiet",
        *targets,
    ]


def certgate_scan(setup: Setup) -> list[str]:
    """certgate.hosts.scan.scan() over the same endpoints, trusting the default stores and root."""
    spec = setup.workdir / "endpoints.json"
    rows = [[e.host, e.address, e.port] for e in setup.endpoints]
    spec.write_text(
        json.dumps({"endpoints": rows, "trust": ["mozilla", "microsoft", str(setup.root_file)]})
    )
    return [sys.executable, __file__, "--scan-only", str(spec)]


# --- the full audit -------------------------------------------------------------------------

# Controls with one item per address of a host target; consistent-addresses has one per
# host name with several addresses.
HOST_CONTROLS = (
    "https-binding",
    "chain-served",
    "chain-trusted",
    "served-expected",
    "rsa-2048",
    "subject-english",
    "validity",
    "renewal-window",
)
SITE_CONTROL = "consistent-addresses"
# The audit runs with the repository's own pytest options (pyproject.toml), as `pytest` does.
_ADDOPTS = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["pytest"][
    "ini_options"
]["addopts"]
PYTEST_INI = f"""\
[pytest]
testpaths = checks
addopts = {" ".join(_ADDOPTS)}
filterwarnings = default::certgate.ComplianceWarning
"""


def host_groups(endpoints: Sequence[Endpoint]) -> list[list[Endpoint]]:
    """The endpoints as host targets: every tenth one is a second address of the one before."""
    groups: list[list[Endpoint]] = []
    for number, endpoint in enumerate(endpoints, 1):
        if number % 10 == 0:
            groups[-1].append(endpoint)
        else:
            groups.append([endpoint])
    return groups


def targets_yaml(setup: Setup) -> str:
    """One host target per group: its addresses, its certificate file, the lab root as trust."""
    # The bench lab is a private CA whose names end in .lab (CA/B BRs 7.1.4.2 would refuse them)
    lines = ["policy:", "  rsa_min_bits: 2048", "  renewal_warning_days: 60"]
    lines += ["  allow_internal_names: true", "targets:"]
    for number, group in enumerate(host_groups(setup.endpoints), 1):
        first = group[0]
        lines += [
            f"  - name: site-{number:03d}",
            f"    host: {first.host}",
            f"    port: {first.port}",
            f"    addresses: [{', '.join(e.address for e in group)}]",
            f"    certificate: {json.dumps(str(setup.leaf_file))}",
            f"    policy: {{trust: [{json.dumps(str(setup.root_file))}]}}",
        ]
    return "\n".join(lines) + "\n"


def audit_folder(setup: Setup) -> Path:
    return setup.workdir / "audit"


def certgate_audit(setup: Setup) -> list[str]:
    """A project folder as an administrator has it, audited by a plain ``python -m pytest``."""
    folder = audit_folder(setup)
    folder.mkdir()
    shutil.copy(REPO / "conftest.py", folder / "conftest.py")
    shutil.copytree(
        REPO / "checks", folder / "checks", ignore=shutil.ignore_patterns("__pycache__")
    )
    (folder / "pytest.ini").write_text(PYTEST_INI, encoding="utf-8")
    (folder / "targets.yaml").write_text(targets_yaml(setup), encoding="utf-8")
    return [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"]


def verify_audit(setup: Setup) -> str | None:
    """The three reports are there, with one passing row per host control and address."""
    reports = audit_folder(setup) / "reports"
    try:
        missing = [n for n in ("report.html", "junit.xml") if not (reports / n).stat().st_size]
        rows: list[dict[str, str]] = json.loads((reports / "results.json").read_text())["results"]
    except (OSError, ValueError, KeyError) as exc:
        return f"no usable reports in {reports}: {exc}"
    finally:
        shutil.rmtree(reports, ignore_errors=True)  # the next run must write its own
    if missing:
        return f"empty or missing: {', '.join(missing)}"
    sites = sum(1 for g in host_groups(setup.endpoints) if len(g) > 1)
    wanted = {c: len(setup.endpoints) for c in HOST_CONTROLS} | {SITE_CONTROL: sites}
    problems = []
    for control, count in wanted.items():
        host_rows = [r for r in rows if r["control"] == control and r["subject"] != "certificate"]
        passed = sum(1 for r in host_rows if r["outcome"] == "passed")
        if len(host_rows) != count or passed != count:
            problems.append(f"{control}: {passed} passed of {len(host_rows)}, wanted {count}")
    return "; ".join(problems) or None


CONTENDERS: list[Contender] = [
    Contender("sslyze", sslyze_cli),
    Contender("scan()", certgate_scan),
    Contender("audit", certgate_audit, verify_audit, audit_folder),
]


def measure(argv: Sequence[str], cwd: Path = REPO) -> Run:
    """Wall time and peak memory of one subprocess and the processes it starts (the audit's
    handshake process at fleet size): the larger of its own peak RSS (``wait4``) and the peak
    of the whole tree's PSS, sampled every 50 ms (a page two processes share counts once)."""
    began = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=cwd)
        tree = TreeMemory(proc.pid)
        tree.start()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - began
        tree.stop()
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            out.seek(0)
            sys.stderr.write(out.read().decode(errors="replace")[-2000:])
    peak = max(usage.ru_maxrss / 1024, tree.peak_kib / 1024)  # Linux: ru_maxrss in KiB
    return Run(seconds, peak, proc.returncode)


class TreeMemory(threading.Thread):
    """The peak, over time, of the summed PSS of a process and its descendants (Linux)."""

    def __init__(self, pid: int, every: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.peak_kib = 0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(self.every):
            self.peak_kib = max(self.peak_kib, sum(map(_pss_kib, _descendants(self.pid))))

    def stop(self) -> None:
        self._done.set()
        self.join()


def _descendants(pid: int) -> list[int]:
    found = [pid]
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as children:
                for child in children.read().split():
                    found += _descendants(int(child))
    except OSError:  # it ended meanwhile
        pass
    return found


def _pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as rollup:
            return next((int(line.split()[1]) for line in rollup if line.startswith("Pss:")), 0)
    except OSError:
        return 0


def serve(count: int, leaf: pki.Issued, chains: demo.Chains) -> list[servers.LabServer]:
    """``count`` good 3-tier endpoints, one per loopback address, all on one port.

    One port, as behind a real host name: a host target with two addresses has one port.
    """
    chain = [leaf.cert, chains.uca.cert]
    first = servers.TlsServer(chain, leaf.key, address="127.0.20.1")
    port = first.endpoint(HOST).port
    return [
        first,
        *(
            servers.TlsServer(chain, leaf.key, address=f"127.0.20.{i}", port=port)
            for i in range(2, count + 1)
        ),
    ]


def bench(
    count: int, rounds: int, chains: demo.Chains, leaf: pki.Issued, files: tuple[Path, Path]
) -> dict[str, list[Run]]:
    """Every contender ``rounds`` times over ``count`` endpoints, alternating the order."""
    runs: dict[str, list[Run]] = {c.name: [] for c in CONTENDERS}
    with (
        servers.serving(*serve(count, leaf, chains)) as started,
        tempfile.TemporaryDirectory(prefix="certgate-bench-") as scratch,
    ):
        endpoints = tuple(s.endpoint(HOST) for s in started)
        setup = Setup(endpoints, *files, Path(scratch))
        commands = {c.name: c.command(setup) for c in CONTENDERS}
        for round_ in range(rounds):
            order = CONTENDERS if round_ % 2 == 0 else CONTENDERS[::-1]
            for contender in order:
                run = measure(commands[contender.name], contender.cwd(setup))
                problem = contender.verify(setup) if contender.verify else None
                if problem:
                    sys.stderr.write(f"N={count} {contender.name}: MEASURED NOTHING: {problem}\n")
                    run = Run(run.seconds, run.peak_mib, run.returncode or 99)
                runs[contender.name].append(run)
    return runs


def header() -> str:
    columns = "".join(
        f" | {c.name + ' s':>9} {'ratio':>5} {'MiB':>5}"
        if i
        else f" | {c.name + ' s':>9} {'MiB':>5}"
        for i, c in enumerate(CONTENDERS)
    )
    return f"{'N':>3}{columns}"


def report(count: int, runs: dict[str, list[Run]]) -> bool:
    """One row of the table; False when a run failed or a bar (SPEC §6) is missed."""
    baseline = statistics.median(r.seconds for r in runs[CONTENDERS[0].name])
    cells, flags = [], []
    for i, (name, these) in enumerate(runs.items()):
        median = statistics.median(r.seconds for r in these)
        peak = max(r.peak_mib for r in these)
        ratio = f" {median / baseline:5.2f}" if i else ""
        cells.append(f" | {median:9.2f}{ratio} {peak:5.0f}")
        failed = sum(1 for r in these if r.returncode)
        if failed:
            flags.append(f"{name} FAILED x{failed}")
        if peak > LIMIT_MIB:
            flags.append(f"{name} over {LIMIT_MIB} MiB")
        goal = AUDIT_GOALS.get(count)
        if name == "audit" and goal is not None and median / baseline > goal:
            flags.append(f"audit ratio over {goal}")
    print(f"{count:>3}{''.join(cells)}{'  ' if flags else ''}{', '.join(flags)}", flush=True)
    return not flags


def scan_only(spec_file: Path) -> int:
    """The subprocess side of certgate_scan: scan, then say how many endpoints were trusted."""
    from certgate.hosts import scan

    spec = json.loads(spec_file.read_text())
    endpoints = [Endpoint(h, a, p) for h, a, p in spec["endpoints"]]
    found = scan.scan(endpoints, trust=spec["trust"])
    trusted = sum(1 for f in found.values() if f.trusted)
    print(f"{trusted}/{len(endpoints)} trusted")
    return 0 if trusted == len(endpoints) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, action="append", help="endpoints (repeatable)")
    parser.add_argument("-r", "--rounds", type=int, default=3)
    parser.add_argument("--scan-only", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scan_only:
        return scan_only(args.scan_only)
    chains = demo.make_chains()
    leaf = pki.make_leaf(
        pki.name(C="TW", O="certgate Lab", CN=HOST),
        chains.uca,
        key=pki.pooled_key(),
        dns_names=[HOST],
    )
    ok = True
    print(f"median of {args.rounds} rounds; ratio = contender / sslyze; MiB = peak memory")
    print(header(), flush=True)
    with tempfile.TemporaryDirectory(prefix="certgate-bench-root-") as folder:
        root_file = pki.write(Path(folder) / "root.cer", chains.root.pem)
        leaf_file = pki.write(Path(folder) / "server.cer", leaf.pem)
        for count in args.n or [1, 10, 50]:
            runs = bench(count, args.rounds, chains, leaf, (root_file, leaf_file))
            ok = report(count, runs) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
