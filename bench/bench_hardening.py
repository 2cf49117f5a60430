"""Hardening benchmark (SPEC §6 hardening speed): N endpoints at a given RTT, hardening on.

Run by hand, as root (a network namespace, an iptables rule, nginx), under the lab lock::

    flock /tmp/certgate-lab.lock .venv/bin/python bench/bench_hardening.py       # N = 50, 50 ms
    .venv/bin/python bench/bench_hardening.py -n 10 --rtt-ms 0 --only audit
    .venv/bin/python bench/bench_hardening.py --only audit --profile audit.prof

The lab is bench_fleet.py's (a namespace ``certgate-fleet-PID``, NFQUEUE delay by
``bench/nfq_delay.py``, Debian nginx) serving a mix of configurations, alternating by address:

* ``iis``: a default Windows Server 2022 IIS as HARDENING.md §C describes it, RSA certificate
  side: TLS 1.0-1.3, ECDHE and static-RSA suites, GCM and CBC (SHA-1 and SHA-2), no HSTS,
  plain HTTP answering 200 (nginx cannot serve DHE without a dhparam file: those two are out);
* ``hardened``: TLS 1.2/1.3, two ECDHE-GCM suites, HSTS one year, HTTP redirected to https.

Side by side, each a subprocess inside the namespace (wall time, peak memory as
bench_scan.measure takes it):

* ``audit``: certgate's full audit, every target ``hardening: true`` (every manual host
  control and every hardening control), its reports written, then checked: each endpoint
  has a row for every hardening control and none is an error.
* ``sslyze``: ``python -m sslyze --mozilla_config=disable`` with the scan commands of the
  facts certgate gathers (certinfo with the lab root, the six per-version suite commands,
  http_headers, compression, heartbleed, openssl_ccs, robot, reneg, fallback,
  elliptic_curves), its JSON written, then compared with the audit's verdicts where both
  judge (legacy TLS, TLS 1.3, static RSA).

Goal: audit <= 0.25 x sslyze. Figures and where the time goes: bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_fleet
import bench_scan
from bench_fleet import address, in_namespace
from bench_scan import HOST, REPO, Run

from certgate.controls import CATALOGUE

PORT, HTTP_PORT = 443, 80
GOAL = 0.25
# A rule without a target: it only counts the SYNs to the TLS port (connections opened).
SYN_COUNTER = ("iptables-nft", "-I", "OUTPUT", "-p", "tcp", "--syn", "--dport", str(PORT))
SUITE_COMMANDS = ("sslv2", "sslv3", "tlsv1", "tlsv1_1", "tlsv1_2", "tlsv1_3")
PROBES = (
    "http_headers",
    "compression",
    "heartbleed",
    "openssl_ccs",
    "robot",
    "reneg",
    "fallback",
    "elliptic_curves",
)
CONFIGS = ("iis", "hardened")
# Windows Server 2022's TLS 1.2 suites for an RSA certificate (HARDENING.md §C), but DHE.
IIS = (
    "    ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;\n"
    '    ssl_ciphers "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:'
    "ECDHE-RSA-AES256-SHA384:ECDHE-RSA-AES128-SHA256:ECDHE-RSA-AES256-SHA:ECDHE-RSA-AES128-SHA:"
    "AES256-GCM-SHA384:AES128-GCM-SHA256:AES256-SHA256:AES128-SHA256:AES256-SHA:AES128-SHA:"
    '@SECLEVEL=0";\n'
    "    ssl_prefer_server_ciphers on;\n"
)
HARDENED = (
    "    ssl_protocols TLSv1.2 TLSv1.3;\n"
    "    ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384;\n"
    '    add_header Strict-Transport-Security "max-age=31536000" always;\n'
)
HTTP = {"iis": '    return 200 "ok";\n', "hardened": "    return 301 https://$host$request_uri;\n"}
# What each configuration must get from the audit (control -> outcome), and from sslyze.
EXPECTED = {
    "iis": {"tls-no-legacy": "failed", "cipher-forward-secrecy": "failed", "hsts": "failed"},
    "hardened": {"tls-no-legacy": "passed", "cipher-forward-secrecy": "passed", "hsts": "passed"},
}
# every control of the hardening profile, as the catalogue lists them
HARDENING_CONTROLS = tuple(c.id for c in CATALOGUE.values() if c.hardening)


def config_of(index: int) -> str:
    return CONFIGS[index % len(CONFIGS)]


def nginx_conf(folder: Path, count: int) -> str:
    """One https and one http server block per configuration, listening on its addresses."""
    blocks = []
    for config, directives in (("iis", IIS), ("hardened", HARDENED)):
        mine = [address(i) for i in range(count) if config_of(i) == config]
        if not mine:
            continue
        https = "\n".join(f"    listen {a}:{PORT} ssl;" for a in mine)
        http = "\n".join(f"    listen {a}:{HTTP_PORT};" for a in mine)
        blocks.append(
            f"  server {{\n{https}\n    ssl_certificate {folder}/chain.pem;\n"
            f'    ssl_certificate_key {folder}/key.pem;\n{directives}    return 200 "ok";\n  }}\n'
            f"  server {{\n{http}\n{HTTP[config]}  }}\n"
        )
    return bench_fleet.nginx_main(folder, "".join(blocks))


@dataclass(frozen=True)
class Lab:
    namespace: str
    folder: Path
    root_file: Path
    count: int


@contextlib.contextmanager
def lab(count: int, rtt_ms: float) -> Iterator[Lab]:
    """bench_fleet's namespace and delay, this file's nginx; down again whatever happens."""
    with tempfile.TemporaryDirectory(prefix="certgate-hardening-") as scratch:
        folder = Path(scratch)
        root_file, _ = bench_fleet.write_pki(folder)
        (folder / "nginx.conf").write_text(nginx_conf(folder, count), encoding="ascii")
        with bench_fleet.nginx_in_namespace(folder, rtt_ms, SYN_COUNTER) as namespace:
            yield Lab(namespace, folder, root_file, count)


# --- the contenders -----------------------------------------------------------------------------


def targets_yaml(lab_: Lab) -> str:
    lines = ["policy:", f"  trust: [{json.dumps(str(lab_.root_file))}]", "  hardening: true"]
    lines += ["  allow_internal_names: true", "targets:"]
    for i in range(lab_.count):
        lines += [
            f"  - {{name: {config_of(i)}-{i:03d}, host: {HOST}, port: {PORT},"
            f" http_port: {HTTP_PORT}, addresses: [{address(i)}]}}"
        ]
    return "\n".join(lines) + "\n"


def audit_folder(lab_: Lab) -> Path:
    return lab_.folder / "audit"


def audit_command(lab_: Lab) -> list[str]:
    folder = audit_folder(lab_)
    folder.mkdir(exist_ok=True)
    shutil.copy(REPO / "conftest.py", folder / "conftest.py")
    shutil.copytree(
        REPO / "checks",
        folder / "checks",
        ignore=shutil.ignore_patterns("__pycache__"),
        dirs_exist_ok=True,
    )
    (folder / "pytest.ini").write_text(bench_scan.PYTEST_INI, encoding="utf-8")
    (folder / "targets.yaml").write_text(targets_yaml(lab_), encoding="utf-8")
    return [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"]


def sslyze_json(lab_: Lab) -> Path:
    return lab_.folder / "sslyze.json"


def sslyze_command(lab_: Lab) -> list[str]:
    listing = lab_.folder / "sslyze-targets.txt"
    listing.write_text("".join(f"{HOST}:{PORT}{{{address(i)}}}\n" for i in range(lab_.count)))
    return [
        *(sys.executable, "-m", "sslyze", "--mozilla_config=disable", "--quiet"),
        *("--certinfo", f"--certinfo_ca_file={lab_.root_file}"),
        *(f"--{c}" for c in (*SUITE_COMMANDS, *PROBES)),
        f"--targets_in={listing}",
        f"--json_out={sslyze_json(lab_)}",
    ]


# --- what came out ------------------------------------------------------------------------------


def audit_rows(lab_: Lab) -> dict[tuple[str, str], str]:
    """(target, control) -> outcome of the hardening rows; the reports are then removed."""
    reports = audit_folder(lab_) / "reports"
    try:
        rows = json.loads((reports / "results.json").read_text())["results"]
    finally:
        shutil.rmtree(reports, ignore_errors=True)
    return {(r["target"], r["control"]): r["outcome"] for r in rows}


def verify_audit(lab_: Lab, outcomes: dict[tuple[str, str], str]) -> list[str]:
    """Every endpoint has every hardening control, none an error, the expected verdicts."""
    problems = []
    for i in range(lab_.count):
        target, config = f"{config_of(i)}-{i:03d}", config_of(i)
        for control in HARDENING_CONTROLS:
            got = outcomes.get((target, control))
            wanted = EXPECTED[config].get(control)
            if got in (None, "error") or (wanted and got != wanted):
                problems.append(f"{target} {control}: {got} (wanted {wanted or 'a verdict'})")
    return problems


def sslyze_verdicts(lab_: Lab) -> dict[str, dict[str, str]]:
    """Per address, what sslyze's own JSON says about the controls both judge."""
    doc = json.loads(sslyze_json(lab_).read_text())
    found = {}
    for server in doc["server_scan_results"]:
        scans = server["scan_result"]

        def accepted(command: str, scans: dict = scans) -> list[str]:  # type: ignore[type-arg]
            result = scans[command]["result"] or {"accepted_cipher_suites": []}
            return [a["cipher_suite"]["name"] for a in result["accepted_cipher_suites"]]

        legacy = accepted("tls_1_0_cipher_suites") + accepted("tls_1_1_cipher_suites")
        pre13 = legacy + accepted("tls_1_2_cipher_suites") + accepted("ssl_3_0_cipher_suites")
        found[server["server_location"]["ip_address"]] = {
            "tls-no-legacy": "failed" if legacy else "passed",
            "cipher-forward-secrecy": "failed"
            if any(s.startswith("TLS_RSA_") for s in pre13)
            else "passed",
            "tls13-offered": "passed" if accepted("tls_1_3_cipher_suites") else "warning",
        }
    return found


def compare(lab_: Lab, outcomes: dict[tuple[str, str], str]) -> list[str]:
    """Where the audit and sslyze's own scan judge the same control, they must agree."""
    theirs = sslyze_verdicts(lab_)
    problems = []
    for i in range(lab_.count):
        target = f"{config_of(i)}-{i:03d}"
        for control, verdict in theirs.get(address(i), {"scan": "missing"}).items():
            if outcomes.get((target, control)) != verdict:
                problems.append(f"{target} {control}: audit {outcomes.get((target, control))}")
    return problems


# --- the run ------------------------------------------------------------------------------------


def measure(lab_: Lab, name: str, argv: list[str], cwd: Path) -> Run:
    """One timed run, and how many TCP connections to port 443 it opened (per endpoint)."""
    subprocess.run(in_namespace(lab_.namespace, "iptables-nft", "-Z", "OUTPUT"), check=True)
    run = bench_scan.measure(in_namespace(lab_.namespace, *argv), cwd)
    print(
        f"  {name}: {connections(lab_) / lab_.count:.0f} TLS connections per endpoint",
        flush=True,
    )
    return run


def connections(lab_: Lab) -> int:
    """The SYN counter's packets since the last reset (retransmitted SYNs count too)."""
    listing = subprocess.run(
        in_namespace(lab_.namespace, "iptables-nft", "-L", "OUTPUT", "-v", "-x", "-n"),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    row = next(line for line in listing.splitlines() if f"dpt:{PORT}" in line)
    return int(row.split()[0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=50, help="endpoints (default 50)")
    parser.add_argument("--rtt-ms", type=float, default=50.0, help="round trip (0: plain loopback)")
    parser.add_argument("-r", "--rounds", type=int, default=1)
    parser.add_argument("--only", choices=["audit", "sslyze"])
    parser.add_argument("--profile", type=Path, help="cProfile the audit into this file")
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    # The audit imports this checkout's certgate, not the one the venv has installed.
    os.environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(REPO), os.environ.get("PYTHONPATH")])
    )
    print(f"N = {args.n} ({', '.join(CONFIGS)} alternating), RTT {args.rtt_ms:g} ms", flush=True)
    print(f"load average before: {os.getloadavg()[0]:.2f} (2 cores)", flush=True)
    with lab(args.n, args.rtt_ms) as lab_:
        audit = audit_command(lab_)
        if args.profile:
            audit = [audit[0], "-m", "cProfile", "-o", str(args.profile.resolve()), *audit[1:]]
        runs: dict[str, list[Run]] = {"audit": [], "sslyze": []}
        outcomes: dict[tuple[str, str], str] = {}
        problems: list[str] = []
        for _ in range(args.rounds):
            if args.only in (None, "audit"):
                runs["audit"].append(measure(lab_, "audit", audit, audit_folder(lab_)))
                outcomes = audit_rows(lab_)
                problems += verify_audit(lab_, outcomes)
            if args.only in (None, "sslyze"):
                runs["sslyze"].append(measure(lab_, "sslyze", sslyze_command(lab_), REPO))
                problems += compare(lab_, outcomes) if outcomes else []
    print(f"load average after: {os.getloadavg()[0]:.2f}", flush=True)
    return _table(runs, problems)


def _table(runs: dict[str, list[Run]], problems: list[str]) -> int:
    medians = {
        name: statistics.median(r.seconds for r in done) for name, done in runs.items() if done
    }
    for name, done in runs.items():
        if done:
            failed = sum(1 for r in done if r.returncode not in (0, 1))  # 1: findings
            peak = max(r.peak_mib for r in done)
            flag = f"  exit status >1 x{failed}" if failed else ""
            print(f"{name:>7}: {medians[name]:7.2f} s  {peak:5.0f} MiB{flag}")
    for problem in problems[:20]:
        print(f"  PROBLEM {problem}")
    ratio = medians["audit"] / medians["sslyze"] if len(medians) == 2 else None
    if ratio is not None:
        print(f"  audit / sslyze = {ratio:.3f} (goal <= {GOAL})")
    return 0 if not problems and (ratio is None or ratio <= GOAL) else 1


if __name__ == "__main__":
    shutil.which("nginx") or sys.exit("bench_hardening: nginx not found (apt-get install nginx)")
    sys.exit(main())
