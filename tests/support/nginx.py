"""A real nginx (Debian's package) on loopback, configured as an administrator would."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from certgate.lab import pki


@dataclass(frozen=True)
class Site:
    """One nginx ``server`` block: name, where it listens, the chain file it is given."""

    host: str
    address: str
    port: int
    chain: Sequence[pki.Issued]  # written to one file, leaf first, as ssl_certificate wants
    key: pki.PrivateKey
    pages: dict[str, str] | None = None
    directives: str = ""  # more nginx directives for the https server block (protocols, ...)
    http_port: int | None = None  # also a plain-HTTP server block on this port
    http_directives: str = ""  # ... with these directives (a `return 301 ...`, say)


def nginx_binary() -> str:
    """The nginx executable (installed by .ci/run from Debian's packages)."""
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if found is None:
        raise RuntimeError("nginx is not installed: run `apt-get install nginx` (.ci/run does)")
    return found


def _server_block(site: Site, folder: Path) -> str:
    name = f"{site.host}-{site.address}-{site.port}"
    pki.write(folder / f"{name}.pem", b"".join(i.pem for i in site.chain))
    pki.write(folder / f"{name}.key", pki.key_pem(site.key))
    root = folder / "www" / name
    for path, body in (site.pages or {"/index.html": "<!doctype html><p>ok</p>"}).items():
        pki.write(root / path.lstrip("/"), body.encode("utf-8"))
    return (
        f"  server {{\n    listen {site.address}:{site.port} ssl;\n"
        f"    server_name {site.host};\n"
        f"    ssl_certificate {folder / name}.pem;\n    ssl_certificate_key {folder / name}.key;\n"
        f"    root {root};\n{site.directives}  }}\n{_http_block(site, root)}"
    )


def _http_block(site: Site, root: Path) -> str:
    if site.http_port is None:
        return ""
    return (
        f"  server {{\n    listen {site.address}:{site.http_port};\n"
        f"    server_name {site.host};\n    root {root};\n{site.http_directives}  }}\n"
    )


def _config(sites: Sequence[Site], folder: Path) -> str:
    temp = folder / "temp"
    temp.mkdir(parents=True, exist_ok=True)
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers must read our temp folder
    temps = "".join(
        f"  {kind}_temp_path {temp / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    blocks = "".join(_server_block(s, folder) for s in sites)
    return (
        f"{user}daemon off;\nworker_processes 1;\npid {folder / 'nginx.pid'};\n"
        f"error_log {folder / 'error.log'} warn;\nevents {{ worker_connections 1024; }}\n"
        f"http {{\n  access_log off;\n{temps}{blocks}}}\n"
    )


@contextmanager
def running_nginx(sites: Sequence[Site], folder: Path) -> Iterator[None]:
    """Start nginx with ``sites``; wait until every port accepts; stop it on the way out."""
    folder.mkdir(parents=True, exist_ok=True)
    conf = folder / "nginx.conf"
    conf.write_text(_config(sites, folder), encoding="utf-8")
    command = [nginx_binary(), "-c", str(conf), "-p", str(folder), "-e", str(folder / "error.log")]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for site in sites:
            _wait_for(site.address, site.port, process, folder)
            if site.http_port is not None:
                _wait_for(site.address, site.http_port, process, folder)
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_for(address: str, port: int, process: subprocess.Popen[bytes], folder: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = (folder / "error.log").read_text(errors="replace")
            raise RuntimeError(f"nginx exited: {log[-500:]}")
        try:
            with socket.create_connection((address, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nginx did not listen on {address}:{port} within 10 s")
