"""A fleet's handshakes in a process of their own (certgate/hosts/handshake.py, started by
certgate/hosts/probe.py): the same facts as the audit's own threads, from real servers on
loopback; what a process that dies leaves behind; and a process that stays small."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from certgate.hosts import probe, scan
from certgate.hosts.facts import Endpoint, EndpointFacts, EndpointStatus
from certgate.hosts.handshake import Job
from certgate.lab import pki, servers
from certgate.lab.demo import Chains
from tests.integration.test_scan import (
    BROKEN,
    CASES,
    HOST,
    TIMEOUT,
    chain_of,
    rsa_and_ecdsa_server,
)
from tests.support.audit import checkout_env
from tests.support.handshakes import handshakes_in


@pytest.fixture(scope="module")
def every_kind(chains: Chains) -> Iterator[list[Endpoint]]:
    """Every chain case of the scan tests and every broken port, served at once."""
    made: list[servers.LabServer] = [
        servers.TlsServer(chain_of(chains, case), pki.pooled_key(), address=f"127.0.6.{i + 1}")
        for i, case in enumerate(CASES)
    ]
    made += [kind() for kind in BROKEN.values()]
    with servers.serving(*made):
        yield [server.endpoint(HOST) for server in made]


@pytest.fixture(scope="module")
def root_file(chains: Chains, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return pki.write(tmp_path_factory.mktemp("root") / "root.cer", chains.root.pem)


def _scan(endpoints: list[Endpoint], root: Path, handshakes: str) -> dict[Endpoint, EndpointFacts]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CERTGATE_HANDSHAKES", handshakes)
        return scan.scan(endpoints, trust=[root], timeout=TIMEOUT, now=pki.now())


def test_the_handshake_process_gives_the_facts_the_threads_give(
    every_kind: list[Endpoint], root_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every chain case (trusted, incomplete, expired, wrong name, self-signed ...) and every
    port that cannot be audited (refused, hanging, plain HTTP, reset): the same facts,
    verdicts and reasons either way (the process answering every one of them itself)."""
    handshakes_in(monkeypatch, "threads")
    by_threads = scan.scan(every_kind, trust=[root_file], timeout=TIMEOUT, now=pki.now())
    handshakes_in(monkeypatch, "child")
    by_process = scan.scan(every_kind, trust=[root_file], timeout=TIMEOUT, now=pki.now())
    assert by_process == by_threads
    statuses = {f.status for f in by_process.values()}
    assert statuses == {
        EndpointStatus.OK,
        EndpointStatus.REFUSED,
        EndpointStatus.TIMED_OUT,
        EndpointStatus.NOT_TLS,
        EndpointStatus.RESET,
    }
    assert {f.trusted for f in by_process.values() if f.reachable} == {True, False}


def test_a_fleet_sized_scan_uses_the_process_and_a_small_one_threads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CERTGATE_HANDSHAKES", raising=False)
    assert probe.use_child(probe.CHILD_FROM)
    assert not probe.use_child(probe.CHILD_FROM - 1)
    monkeypatch.setenv("CERTGATE_HANDSHAKES", "threads")
    assert not probe.use_child(10 * probe.CHILD_FROM)


_DIES_AFTER_ONE = (
    "import pickle, sys\n"
    "from certgate.hosts.handshake import connect, probe_context\n"
    "job = pickle.load(sys.stdin.buffer)\n"
    "answer = connect(job.host, job.address, job.port, job.timeout, probe_context())\n"
    "sys.stdout.buffer.write(pickle.dumps((job.number, answer)))\n"
    "sys.exit(3)\n"
)


def test_what_a_dead_handshake_process_never_answered_is_asked_again(
    every_kind: list[Endpoint], root_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process answers the first address, then dies: the others are asked by the audit's
    own threads, so every verdict is still the one the threads give (nothing waits forever,
    nothing is left unjudged)."""
    monkeypatch.setattr(probe, "CHILD_MAIN", _DIES_AFTER_ONE)
    some = every_kind[:2] + every_kind[-4:]  # two chains, the four broken ports
    assert _scan(some, root_file, "child") == _scan(some, root_file, "threads")


_DIES_HALF_WAY_THROUGH_AN_ANSWER = (
    "import pickle, sys\n"
    "from certgate.hosts.handshake import connect, probe_context\n"
    "job = pickle.load(sys.stdin.buffer)\n"
    "answer = connect(job.host, job.address, job.port, job.timeout, probe_context())\n"
    "sys.stdout.buffer.write(pickle.dumps((job.number, answer))[:-20])\n"
    "sys.stdout.flush()\n"
    "import os; os._exit(9)\n"
)


def test_a_process_that_dies_half_way_through_an_answer_leaves_the_rest_to_threads(
    every_kind: list[Endpoint], root_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed while writing (the out-of-memory killer, say): the half answer is dropped, and
    every address gets the verdict the threads give."""
    monkeypatch.setattr(probe, "CHILD_MAIN", _DIES_HALF_WAY_THROUGH_AN_ANSWER)
    some = every_kind[:2] + every_kind[-2:]
    assert _scan(some, root_file, "child") == _scan(some, root_file, "threads")


def test_an_rsa_retry_the_dead_process_never_answered_is_made_here(
    chains: Chains, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process answers the first handshake (the ECDSA certificate) and dies before the
    RSA-only one: the retry is made in the audit's process, and the verdict is on the RSA
    certificate, as the threads give it."""
    monkeypatch.setattr(probe, "CHILD_MAIN", _DIES_AFTER_ONE)
    monkeypatch.setenv("CERTGATE_HANDSHAKES", "child")
    server, rsa_leaf = rsa_and_ecdsa_server(chains)
    with servers.serving(server):
        found = probe.probe_all([server.endpoint(HOST)], TIMEOUT, lambda e, f: None)
    served = found[server.endpoint(HOST)]
    assert isinstance(served, probe.Served)
    assert served.chain[0] == rsa_leaf.cert
    assert served.version == "TLS_1_3"


def test_a_handshake_process_that_cannot_start_leaves_the_scan_to_threads(
    every_kind: list[Endpoint], root_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(probe, "CHILD_MAIN", "import sys; sys.exit(1)")
    some = every_kind[:2]
    found = _scan(some, root_file, "child")
    assert {f.status for f in found.values()} == {EndpointStatus.OK}
    assert found == _scan(some, root_file, "threads")


def test_the_handshake_process_loads_nothing_but_the_standard_library() -> None:
    """It stays small (32 MiB at 400 handshakes in flight, bench/README.md): no
    cryptography, pytest or sslyze."""
    code = (
        "import sys; from certgate.hosts.handshake import main; "
        "print(sorted({m.split('.')[0] for m in sys.modules}))"
    )
    assert probe.CHILD_MAIN.startswith("from certgate.hosts.handshake import main;")
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    for heavy in ("cryptography", "pytest", "sslyze", "pydantic", "yaml", "_pytest"):
        assert f"'{heavy}'" not in loaded
    assert "'certgate'" in loaded


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pipe sizes are Linux's")
def test_the_answers_pipe_holds_hundreds_of_answers() -> None:
    """The handshake process never waits for the audit's process to read (a thousand
    answers are about 3 MB; 64 KiB held twenty, and the handshakes stalled behind them)."""
    import fcntl

    readable, writable = os.pipe()
    with os.fdopen(readable, "rb") as pipe:
        os.close(writable)
        probe._widen(pipe)
        assert fcntl.fcntl(pipe.fileno(), fcntl.F_GETPIPE_SZ) == probe.PIPE_BYTES


def test_thousands_of_quick_answers_do_not_stall_the_two_processes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Both pipes full at once: the audit's process still writing jobs, the handshake
    process's answers not yet read. Neither side may wait on the other (the N = 10,000
    benchmark once stopped there for good): 3,000 refused ports, answered at once, through
    pipes of the 64 KiB default."""
    monkeypatch.setattr(probe, "PIPE_BYTES", 1 << 16)
    monkeypatch.setenv("CERTGATE_HANDSHAKES", "child")
    found: dict[Endpoint, probe.Outcome] = {}
    with servers.serving(servers.ClosedPort()) as (closed,):
        port = closed.endpoint(HOST).port  # nothing listens on it at any 127.x address
        endpoints = [
            Endpoint(HOST, f"127.0.{8 + i // 250}.{1 + i % 250}", port) for i in range(3000)
        ]
        worker = threading.Thread(
            target=lambda: found.update(probe.probe_all(endpoints, 2.0, lambda e, f: None)),
            daemon=True,
        )
        worker.start()
        worker.join(60)
    assert not worker.is_alive(), "the audit's process and the handshake process wait on each other"
    assert len(found) == len(endpoints)
    assert {f.status for f in found.values() if isinstance(f, EndpointFacts)} == {
        EndpointStatus.REFUSED
    }


@pytest.mark.skipif(sys.platform == "win32", reason="Ctrl-C is a console event on Windows")
def test_ctrl_c_is_left_to_the_audit_and_closing_its_input_ends_it() -> None:
    """The terminal sends Ctrl-C to both processes: the handshake process ignores it (no
    traceback of its own on the admin's screen) and ends quietly when the audit closes its
    input, which the audit does however it stops."""
    child = subprocess.Popen(
        [sys.executable, "-c", probe.CHILD_MAIN],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=checkout_env(),
    )
    assert child.stdin is not None
    assert child.stdout is not None
    with servers.serving(servers.ClosedPort()) as (closed,):
        where = closed.endpoint(HOST)
        child.stdin.write(pickle.dumps(Job(0, HOST, where.address, where.port, TIMEOUT)))
        child.stdin.flush()
        number, answer = pickle.load(child.stdout)  # it runs, and has read its input
    assert (number, answer.status) == (0, "REFUSED")
    child.send_signal(signal.SIGINT)
    with pytest.raises(subprocess.TimeoutExpired):
        child.wait(0.5)  # still there
    _, errors = child.communicate(timeout=10)
    assert child.returncode == 0
    assert errors == b""
