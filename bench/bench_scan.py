"""Benchmark: certgate's host scan side by side with a bare ``sslyze --certinfo``.

Run by hand, not by the tests::

    .venv/bin/python bench/bench_scan.py             # N = 1, 10, 50; 3 rounds each
    .venv/bin/python bench/bench_scan.py -n 50 -r 5

It serves N good 3-tier HTTPS endpoints on distinct loopback addresses (127.0.20.x) from
this process, then times each contender as a subprocess over the same endpoints, and reports
the median wall time, its ratio to bare sslyze, and the subprocess's peak RSS (``wait4``).
The quality bar (SPEC §6): at N = 50 the audit is no slower than bare sslyze (ratio <= 1.0)
and stays under 150 MiB.

To add a column (the full pytest audit), append a :class:`Contender` to :data:`CONTENDERS`:
a name and a function from the bench setup to the command line to run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from certgate.hostfacts import Endpoint  # noqa: E402
from certgate.lab import demo, pki, servers  # noqa: E402

HOST = "www.bench.lab"
LIMIT_MIB = 150


@dataclass(frozen=True)
class Setup:
    """What every contender gets: the endpoints, the lab's root file, a scratch folder."""

    endpoints: tuple[Endpoint, ...]
    root_file: Path
    workdir: Path


@dataclass(frozen=True)
class Contender:
    """One column: ``command(setup)`` is the command line timed as a subprocess."""

    name: str
    command: Callable[[Setup], list[str]]


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
    """certgate.scan.scan() over the same endpoints, trusting the default stores + the root."""
    spec = setup.workdir / "endpoints.json"
    rows = [[e.host, e.address, e.port] for e in setup.endpoints]
    spec.write_text(
        json.dumps({"endpoints": rows, "trust": ["mozilla", "microsoft", str(setup.root_file)]})
    )
    return [sys.executable, __file__, "--scan-only", str(spec)]


CONTENDERS: list[Contender] = [
    Contender("sslyze --certinfo", sslyze_cli),
    Contender("certgate scan()", certgate_scan),
]


def measure(argv: Sequence[str]) -> Run:
    """Wall time and peak RSS of one subprocess (wait4 gives that child's own rusage)."""
    began = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - began
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            out.seek(0)
            sys.stderr.write(out.read().decode(errors="replace")[-2000:])
    return Run(seconds, usage.ru_maxrss / 1024, proc.returncode)  # Linux: ru_maxrss in KiB


def serve(count: int, chains: demo.Chains) -> list[servers.LabServer]:
    """``count`` good 3-tier endpoints, one per loopback address."""
    leaf = pki.make_leaf(
        pki.name(C="TW", O="certgate Lab", CN=HOST),
        chains.uca,
        key=pki.pooled_key(),
        dns_names=[HOST],
    )
    chain = [leaf.cert, chains.uca.cert]
    return [
        servers.TlsServer(chain, leaf.key, address=f"127.0.20.{i}") for i in range(1, count + 1)
    ]


def bench(count: int, rounds: int, chains: demo.Chains, root_file: Path) -> dict[str, list[Run]]:
    """Every contender ``rounds`` times over ``count`` endpoints, alternating the order."""
    runs: dict[str, list[Run]] = {c.name: [] for c in CONTENDERS}
    with (
        servers.serving(*serve(count, chains)) as started,
        tempfile.TemporaryDirectory(prefix="certgate-bench-") as scratch,
    ):
        setup = Setup(tuple(s.endpoint(HOST) for s in started), root_file, Path(scratch))
        commands = {c.name: c.command(setup) for c in CONTENDERS}
        for round_ in range(rounds):
            order = CONTENDERS if round_ % 2 == 0 else CONTENDERS[::-1]
            for contender in order:
                runs[contender.name].append(measure(commands[contender.name]))
    return runs


def report(count: int, runs: dict[str, list[Run]]) -> None:
    baseline = statistics.median(r.seconds for r in runs[CONTENDERS[0].name])
    for name, these in runs.items():
        median = statistics.median(r.seconds for r in these)
        peak = max(r.peak_mib for r in these)
        failed = sum(1 for r in these if r.returncode)
        flags = (f" FAILED x{failed}" if failed else "") + (
            f" over {LIMIT_MIB} MiB" if peak > LIMIT_MIB else ""
        )
        print(
            f"N={count:<3} {name:<22} {median:7.2f} s  ratio {median / baseline:5.2f}  "
            f"peak {peak:6.1f} MiB{flags}",
            flush=True,
        )


def scan_only(spec_file: Path) -> int:
    """The subprocess side of certgate_scan: scan, then say how many endpoints were trusted."""
    from certgate import scan

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
    with tempfile.TemporaryDirectory(prefix="certgate-bench-root-") as folder:
        root_file = pki.write(Path(folder) / "root.cer", chains.root.pem)
        for count in args.n or [1, 10, 50]:
            report(count, bench(count, args.rounds, chains, root_file))
    return 0


if __name__ == "__main__":
    sys.exit(main())
