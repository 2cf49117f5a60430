"""Fleet benchmark (SPEC §6 fleet scale): N endpoints at a given RTT, in a network namespace.

Run by hand, as root (it makes a network namespace, an iptables rule and runs nginx)::

    .venv/bin/python bench/bench_fleet.py                    # N = 1,000 at 50 ms RTT, 1 round
    .venv/bin/python bench/bench_fleet.py -n 10000 --rtt-ms 0  # plain loopback

It brings its lab up and takes it down itself: a namespace ``certgate-fleet-PID`` whose
loopback serves N good 3-tier HTTPS endpoints from one Debian nginx (one ``listen`` per
address, 127.40.x.y:443, leaf + intermediate, RSA 2048), and, when ``--rtt-ms`` is not 0, a
delay on every TCP packet: this kernel has no ``tc netem``, so an iptables NFQUEUE rule hands
each packet to ``bench/nfq_delay.py``, which releases it RTT/2 later (one hop per packet on
loopback). Side by side, each as a subprocess inside the namespace, wall time and peak
memory (bench_scan.measure: its own peak RSS, or its process tree's summed PSS if larger):

* ``floor``: the physical floor -- one verified TLS handshake per endpoint, all at once, the
  whole process (Python start, ``ssl``, asyncio) -- this file with ``--floor``.
* ``sslyze``: bare ``python -m sslyze --certinfo --certinfo_ca_file=root.cer --quiet``.
* ``audit``: the full certgate audit of bench_scan.py (every host control, the three reports),
  checked afterwards (one passing row per host control and address).
* ``pytest``: pytest's own floor for that audit -- as many items as the audit collects, each
  a trivial passing test, with the audit's pytest options, report.html (pytest-html) and
  junit.xml, and no network at all. No audit that keeps one pytest item per control and
  address can be faster than this.

and the sizes of the audit's report.html, results.json and junit.xml. Goals (SPEC §6): the
audit within 3 x the floor at N = 1,000 / 50 ms, at most 150 MiB, report.html at most 2 MB.
Needs nginx, iptables and ``pip install netfilterqueue`` (libnetfilter-queue-dev); figures in
bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_scan
from bench_scan import HOST, REPO, Setup
from cryptography.hazmat.primitives import serialization

from certgate.hosts.facts import Endpoint
from certgate.lab import demo, pki

PORT = 443
LIMIT_MIB = 150
LIMIT_HTML = 2 * 1024 * 1024
FLOOR_GOAL = 3.0


@dataclass(frozen=True)
class Lab:
    """The namespace, its files and the endpoints it serves."""

    namespace: str
    folder: Path
    setup: Setup


def address(index: int) -> str:
    """The index-th endpoint's loopback address: 127.40.0.1, ..., 127.40.3.232, ..."""
    return f"127.40.{index // 250}.{index % 250 + 1}"


def in_namespace(namespace: str, *argv: str) -> list[str]:
    return ["ip", "netns", "exec", namespace, *argv]


def nginx_main(folder: Path, servers: str) -> str:
    """nginx.conf for a lab in ``folder``: many connections at once, no access log, the
    given ``server`` blocks."""
    return f"""\
worker_processes 2;
worker_rlimit_nofile 65536;
pid {folder}/nginx.pid;
error_log {folder}/error.log;
events {{ worker_connections 16384; }}
http {{
  access_log off;
{servers}}}
"""


def nginx_conf(folder: Path, count: int) -> str:
    listens = "\n".join(f"    listen {address(i)}:{PORT} ssl;" for i in range(count))
    return nginx_main(
        folder,
        f"""\
  server {{
{listens}
    ssl_certificate {folder}/chain.pem;
    ssl_certificate_key {folder}/key.pem;
    return 200 "ok";
  }}
""",
    )


def write_pki(folder: Path) -> tuple[Path, Path]:
    """The lab CA's root, and the leaf + intermediate + key nginx serves; (root, leaf)."""
    chains = demo.make_chains()
    leaf = pki.make_leaf(
        pki.name(C="TW", O="certgate Lab", CN=HOST),
        chains.uca,
        key=pki.pooled_key(),
        dns_names=[HOST],
    )
    root_file = pki.write(folder / "root.cer", chains.root.pem)
    leaf_file = pki.write(folder / "server.cer", leaf.pem)
    (folder / "chain.pem").write_bytes(leaf.pem + chains.uca.pem)
    key = leaf.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (folder / "key.pem").write_bytes(key)
    return root_file, leaf_file


@contextlib.contextmanager
def lab(count: int, rtt_ms: float) -> Iterator[Lab]:
    """Bring the namespace, the delay and nginx up; take them down, whatever happens."""
    with tempfile.TemporaryDirectory(prefix="certgate-fleet-") as scratch:
        folder = Path(scratch)
        root_file, leaf_file = write_pki(folder)
        (folder / "nginx.conf").write_text(nginx_conf(folder, count), encoding="ascii")
        with nginx_in_namespace(folder, rtt_ms) as namespace:
            endpoints = tuple(Endpoint(HOST, address(i), PORT) for i in range(count))
            workdir = folder / "work"
            workdir.mkdir()
            yield Lab(namespace, folder, Setup(endpoints, root_file, leaf_file, workdir))


@contextlib.contextmanager
def nginx_in_namespace(folder: Path, rtt_ms: float, *commands: tuple[str, ...]) -> Iterator[str]:
    """A network namespace with loopback up, ``commands`` run in it, the delay when
    ``rtt_ms`` is not 0, and nginx from ``folder/nginx.conf``; all taken down afterwards,
    whatever happens. Yields the namespace's name."""
    namespace = f"certgate-fleet-{os.getpid()}"
    delayer: subprocess.Popen[bytes] | None = None
    subprocess.run(["ip", "netns", "add", namespace], check=True)
    try:
        subprocess.run(in_namespace(namespace, "ip", "link", "set", "lo", "up"), check=True)
        for command in commands:
            subprocess.run(in_namespace(namespace, *command), check=True)
        if rtt_ms:
            delayer = start_delay(namespace, rtt_ms / 2000)
        subprocess.run(
            in_namespace(namespace, "nginx", "-c", str(folder / "nginx.conf")), check=True
        )
        yield namespace
    finally:
        pid = folder / "nginx.pid"
        if pid.exists():
            os.kill(int(pid.read_text()), 15)
            time.sleep(0.5)
        if delayer is not None:
            delayer.terminate()
            delayer.wait(5)
        subprocess.run(["ip", "netns", "del", namespace], check=False)


def start_delay(namespace: str, seconds: float) -> subprocess.Popen[bytes]:
    rule = ["iptables-nft", "-A", "OUTPUT", "-p", "tcp", "-j", "NFQUEUE", "--queue-num", "0"]
    subprocess.run(in_namespace(namespace, *rule), check=True)
    script = str(Path(__file__).with_name("nfq_delay.py"))
    proc = subprocess.Popen(
        in_namespace(namespace, sys.executable, script, str(seconds)), stdout=subprocess.PIPE
    )
    assert proc.stdout is not None
    proc.stdout.readline()  # "ready": bound to the queue
    return proc


# --- the contenders ---------------------------------------------------------------------------


def floor_command(setup: Setup) -> list[str]:
    return [sys.executable, __file__, "--floor", str(setup.root_file), str(len(setup.endpoints))]


def sslyze_command(setup: Setup) -> list[str]:
    listing = setup.workdir / "sslyze-targets.txt"
    listing.write_text("".join(f"{e.host}:{e.port}{{{e.address}}}\n" for e in setup.endpoints))
    return [
        *(sys.executable, "-m", "sslyze", "--certinfo", f"--certinfo_ca_file={setup.root_file}"),
        *("--quiet", f"--targets_in={listing}"),
    ]


PYTEST_FLOOR_TEST = """\
import pytest


@pytest.mark.parametrize("item", range({count}))
def test_item(item):
    assert item >= 0
"""


def pytest_floor_command(setup: Setup) -> list[str]:
    """A folder with as many trivial items as the audit collects, and the audit's options."""
    audit = bench_scan.audit_folder(setup)
    if not audit.exists():
        bench_scan.certgate_audit(setup)
    listed = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--collect-only"],
        cwd=audit,
        capture_output=True,
        text=True,
        check=False,
    )
    count = int(listed.stdout.strip().splitlines()[-1].split()[0])
    folder = setup.workdir / "pytest-floor"
    folder.mkdir(exist_ok=True)
    (folder / "pytest.ini").write_text(bench_scan.PYTEST_INI.replace("testpaths = checks\n", ""))
    (folder / "test_items.py").write_text(PYTEST_FLOOR_TEST.format(count=count))
    print(f"  pytest floor: {count} items", flush=True)
    return [
        *(
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-q",
            "-p",
            "no:certgate.plugin",
        ),
        *("--html=reports/report.html", "--self-contained-html", "--junitxml=reports/junit.xml"),
    ]


def floor(root_file: str, count: int) -> int:
    """One verified TLS handshake per endpoint, all at once; exit 1 unless every one worked."""
    context = ssl.create_default_context(cafile=root_file)

    async def one(index: int) -> bool:
        try:
            _, writer = await asyncio.open_connection(
                address(index), PORT, ssl=context, server_hostname=HOST
            )
        except OSError:
            return False
        writer.close()
        return True

    async def every() -> list[bool]:
        return await asyncio.gather(*(one(i) for i in range(count)))

    done = asyncio.run(every())
    print(f"{sum(done)}/{count} handshakes verified")
    return 0 if all(done) else 1


@dataclass(frozen=True)
class Measured:
    name: str
    seconds: list[float]
    peak_mib: float
    failed: int


def measure(lab_: Lab, name: str, argv: list[str], cwd: Path, rounds: int) -> Measured:
    """``rounds`` runs of one contender inside the namespace: wall time and peak memory."""
    runs = []
    for _ in range(rounds):
        runs.append(bench_scan.measure(in_namespace(lab_.namespace, *argv), cwd))
        if name == "audit":
            sizes = _report_sizes(bench_scan.audit_folder(lab_.setup) / "reports")
            problem = bench_scan.verify_audit(lab_.setup)
            print(f"  audit reports: {sizes}{'; ' + problem if problem else ''}", flush=True)
            if problem:
                runs[-1] = bench_scan.Run(runs[-1].seconds, runs[-1].peak_mib, 99)
    return Measured(
        name,
        [r.seconds for r in runs],
        max(r.peak_mib for r in runs),
        sum(1 for r in runs if r.returncode),
    )


def _report_sizes(reports: Path) -> str:
    sizes = []
    for name in ("report.html", "results.json", "junit.xml"):
        path = reports / name
        size = path.stat().st_size if path.exists() else 0
        flag = " OVER 2 MB" if name == "report.html" and size > LIMIT_HTML else ""
        sizes.append(f"{name} {size / 1e6:.2f} MB{flag}")
    return ", ".join(sizes)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=1000, help="endpoints (default 1000)")
    parser.add_argument("--rtt-ms", type=float, default=50.0, help="round trip (0: plain loopback)")
    parser.add_argument("-r", "--rounds", type=int, default=1)
    parser.add_argument("--only", action="append", choices=["floor", "sslyze", "audit", "pytest"])
    parser.add_argument("--profile", type=Path, help="cProfile the audit into this file")
    parser.add_argument("--floor", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor:
        return floor(args.floor[0], int(args.floor[1]))
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # N sockets at once, inherited
    print(
        f"N = {args.n}, RTT {args.rtt_ms:g} ms, {args.rounds} round(s); MiB = peak memory",
        flush=True,
    )
    with lab(args.n, args.rtt_ms) as lab_:
        setup = lab_.setup
        contenders = {
            "floor": (floor_command(setup), REPO),
            "sslyze": (sslyze_command(setup), REPO),
            "audit": (bench_scan.certgate_audit(setup), bench_scan.audit_folder(setup)),
        }
        if not args.only or "pytest" in args.only:
            contenders["pytest"] = (pytest_floor_command(setup), setup.workdir / "pytest-floor")
        if args.profile:  # the main thread's profile: phases; the scan's threads show as waits
            audit = contenders["audit"]
            contenders["audit"] = (
                [*audit[0][:1], "-m", "cProfile", "-o", str(args.profile.resolve()), *audit[0][1:]],
                audit[1],
            )
        results = [
            measure(lab_, name, argv, cwd, args.rounds)
            for name, (argv, cwd) in contenders.items()
            if not args.only or name in args.only
        ]
    return _table(results)


def _table(results: list[Measured]) -> int:
    base = next((statistics.median(m.seconds) for m in results if m.name == "floor"), None)
    ok = True
    for m in results:
        median = statistics.median(m.seconds)
        ratio = f"{median / base:6.2f} x floor" if base else ""
        flags = [f"FAILED x{m.failed}"] if m.failed else []
        if m.name == "audit" and m.peak_mib > LIMIT_MIB:
            flags.append(f"over {LIMIT_MIB} MiB")
        if m.name == "audit" and base and median / base > FLOOR_GOAL:
            flags.append(f"over {FLOOR_GOAL:g} x floor")
        ok = ok and not flags
        print(f"{m.name:>7}: {median:7.2f} s {ratio}  {m.peak_mib:5.0f} MiB  {' '.join(flags)}")
    return 0 if ok else 1


if __name__ == "__main__":
    shutil.which("nginx") or sys.exit("bench_fleet: nginx not found (apt-get install nginx)")
    sys.exit(main())
