"""End to end against a real web server: nginx, configured as an administrator would.

`ssl_certificate` given the full chain file (leaf then intermediate), given the leaf alone
(the classic manual 6.1 mistake), and two servers behind one name where one was not renewed.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from certgate.lab import demo, pki
from tests.support.audit import Audit, project, run
from tests.support.nginx import Site, running_nginx

PORT = 8443


def _leaf(chains: demo.Chains, host: str, *, age_days: int = 1) -> pki.Issued:
    start = pki.now() - timedelta(days=age_days)
    return pki.make_leaf(
        pki.name(C="TW", ST="TAIWAN", L="TAIPEI", O="certgate Lab", CN=host),
        chains.uca,
        key=pki.pooled_key(),
        dns_names=[host],
        not_before=start,
        not_after=start + timedelta(days=397),
    )


@pytest.fixture(scope="module")
def nginx_audit(chains: demo.Chains, tmp_path_factory: pytest.TempPathFactory) -> Audit:
    folder = tmp_path_factory.mktemp("nginx")
    full = _leaf(chains, "full.nginx.lab")
    bare = _leaf(chains, "bare.nginx.lab")
    new, old = _leaf(chains, "www.nginx.lab"), _leaf(chains, "www.nginx.lab", age_days=300)
    sites = [
        Site("full.nginx.lab", "127.0.20.1", PORT, [full, chains.uca], full.key),
        Site("bare.nginx.lab", "127.0.20.2", PORT, [bare], bare.key),
        Site("www.nginx.lab", "127.0.20.3", PORT, [new, chains.uca], new.key),
        Site("www.nginx.lab", "127.0.20.4", PORT, [old, chains.uca], old.key),
    ]
    certs = folder / "audit" / "certs"
    pki.write(certs / "root.cer", chains.root.pem)
    pki.write(certs / "full.cer", full.pem)
    pki.write(certs / "new.cer", new.pem)
    targets = f"""
policy: {{trust: [certs/root.cer]}}
targets:
  - {{name: full, host: full.nginx.lab, port: {PORT}, addresses: [127.0.20.1],
      certificate: certs/full.cer}}
  - {{name: bare, host: bare.nginx.lab, port: {PORT}, addresses: [127.0.20.2]}}
  - {{name: www, host: www.nginx.lab, port: {PORT}, addresses: [127.0.20.3, 127.0.20.4],
      certificate: certs/new.cer}}
"""
    with running_nginx(sites, folder / "nginx"):
        return run(project(folder / "audit", targets))


def test_full_chain_file_passes_every_host_control(nginx_audit: Audit):
    rows = nginx_audit.rows(target="full")
    host_rows = [r for r in rows if r["subject"] == f"127.0.20.1:{PORT}"]
    assert {r["control"] for r in host_rows} >= {
        "https-binding",
        "chain-served",
        "chain-trusted",
        "served-expected",
        "rsa-2048",
    }
    assert {r["outcome"] for r in host_rows} == {"passed"}


def test_leaf_only_certificate_file_fails_chain_served(nginx_audit: Audit):
    served = nginx_audit.row("chain-served", "bare", f"127.0.20.2:{PORT}")
    assert served["outcome"] == "failed"
    assert "only the server certificate is sent" in served["message"]
    assert "manual 6.1" in served["message"]
    trusted = nginx_audit.row("chain-trusted", "bare", f"127.0.20.2:{PORT}")
    assert "incomplete chain" in trusted["message"]


def test_one_server_not_renewed_is_found(nginx_audit: Audit):
    assert nginx_audit.row("served-expected", "www", f"127.0.20.3:{PORT}")["outcome"] == "passed"
    stale = nginx_audit.row("served-expected", "www", f"127.0.20.4:{PORT}")
    assert stale["outcome"] == "failed"
    assert "manual 6.2" in stale["message"]
    both = nginx_audit.row("consistent-addresses", "www", "*")
    assert both["outcome"] == "failed"
    assert f"127.0.20.3:{PORT} serves" in both["message"]
    assert nginx_audit.status == 1


def test_openssl_agrees_on_what_nginx_serves(nginx_audit: Audit, chains, tmp_path: Path):
    # the evidence command in the report is the one an administrator would run
    html = (nginx_audit.reports / "report.html").read_text(encoding="utf-8")
    assert f"openssl s_client -connect 127.0.20.2:{PORT} -servername bare.nginx.lab" in html
