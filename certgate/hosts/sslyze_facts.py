"""sslyze's results as plain facts: shared by the certificate scan and the hardening profile."""

from __future__ import annotations

from collections.abc import Sequence
from traceback import TracebackException

from cryptography.hazmat.primitives.asymmetric import rsa
from sslyze import (
    CertificateDeploymentAnalysisResult,
    ScanCommandAttempt,
    ScanCommandAttemptStatusEnum,
)

from certgate.hosts.facts import AttemptStatus, CommandAttempt

__all__ = ["attempt_fact", "exception_text", "main_deployment"]

_ATTEMPT_STATUS = {
    ScanCommandAttemptStatusEnum.COMPLETED: AttemptStatus.COMPLETED,
    ScanCommandAttemptStatusEnum.ERROR: AttemptStatus.ERROR,
    ScanCommandAttemptStatusEnum.NOT_SCHEDULED: AttemptStatus.NOT_SCHEDULED,
}


def attempt_fact(command: str, attempt: ScanCommandAttempt) -> CommandAttempt:  # type: ignore[type-arg]
    """sslyze's attempt as a plain fact: its status and, when it failed, why (one line)."""
    status = _ATTEMPT_STATUS[attempt.status]
    if status is AttemptStatus.COMPLETED:
        return CommandAttempt(command, status)
    reason = attempt.error_reason.value if attempt.error_reason else "unknown"
    return CommandAttempt(command, status, f"{reason}{exception_text(attempt.error_trace)}")


def exception_text(trace: TracebackException | None) -> str:
    """': <message>' from a TracebackException sslyze keeps, or '' (never a traceback)."""
    if trace is None:
        return ""
    text = "".join(trace.format_exception_only()).strip().splitlines()[-1]
    message = text.split(" -> ", 1)[-1].split(": ", 1)[-1].strip(' ".')
    return f": {message}" if message else ""


def main_deployment(
    deployments: Sequence[CertificateDeploymentAnalysisResult],
) -> CertificateDeploymentAnalysisResult:
    """The deployment audited: the RSA one when the server also has another key type.

    sslyze lists one deployment per distinct leaf (servers with RSA and ECDSA certificates
    send either, depending on the client) in the order its handshakes completed; the
    manual is about the RSA certificate, and preferring it keeps reruns stable.
    """
    for deployment in deployments:
        if isinstance(deployment.received_certificate_chain[0].public_key(), rsa.RSAPublicKey):
            return deployment
    return deployments[0]
