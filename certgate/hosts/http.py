"""certgate's own plain-HTTP look at a host (hardening: http-redirects-to-https).

sslyze never speaks plain HTTP (its HTTP_HEADERS command follows redirects over TLS only), so
``GET /`` on the target's ``http_port`` is one bounded ``http.client`` request: one address,
the host name as ``Host``, no redirect followed, the body never read.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket

from certgate.hosts.facts import Endpoint, HttpAnswer

MAX_HEADER_BYTES = 64 * 1024  # http.client's own limit per line; a status line is enough


def _bracketed(address: str) -> str:
    """An IPv6 address in brackets, as curl's ``--resolve`` wants it."""
    try:
        bracket = ipaddress.ip_address(address).version == 6
    except ValueError:
        bracket = False
    return f"[{address}]" if bracket else address


def http_answer(endpoint: Endpoint, http_port: int, timeout: float) -> HttpAnswer:
    """What ``http://host:http_port/`` answers at the endpoint's address (never raises)."""
    host_header = endpoint.host if http_port == 80 else f"{endpoint.host}:{http_port}"
    url = f"http://{host_header}/"
    where = f"{endpoint.host}:{http_port}:{_bracketed(endpoint.address)}"
    command = f"curl -sI --resolve {where} {url}"
    connection = http.client.HTTPConnection(endpoint.address, http_port, timeout=timeout)
    try:
        connection.request("GET", "/", headers={"Host": host_header, "User-Agent": "certgate"})
        response = connection.getresponse()
        return HttpAnswer(url, command, response.status, response.getheader("Location"))
    except ConnectionRefusedError:
        return HttpAnswer(url, command, refused=True, error="connection refused")
    except (OSError, http.client.HTTPException) as exc:
        reason = "timed out" if isinstance(exc, socket.timeout) else type(exc).__name__
        detail = str(exc).strip()
        return HttpAnswer(url, command, error=f"{reason}: {detail}" if detail else reason)
    finally:
        connection.close()
