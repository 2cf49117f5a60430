"""certgate: audit SSL/TLS certificate deployments against the CA's installation manual."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["ComplianceWarning", "__version__"]


class ComplianceWarning(UserWarning):
    """A `warning` control did not hold (e.g. the certificate is due for renewal).

    The test item still passes; run pytest with ``-W error::certgate.ComplianceWarning``
    to make a strict gate that fails on warnings too.
    """
