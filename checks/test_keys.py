"""The key pair (manual 5.1.5): Microsoft RSA SChannel, bit length 2048."""

from certgate.controls import control
from certgate.files.facts import KeyFacts
from certgate.files.rules import key_meets
from certgate.inventory import Policy


@control("rsa-2048")
def test_rsa_2048(key: KeyFacts, policy: Policy) -> None:
    """The key is RSA with at least (or exactly) the policy's bit length (5.1.5)."""
    wanted = "exactly" if policy.rsa_exact_bits else "at least"
    assert key_meets(key, policy.rsa_min_bits, policy.rsa_exact_bits), (
        f"{key.source} key is {key.describe()}; manual 5.1.5.1/5.1.5.2 requires RSA (Microsoft "
        f"RSA SChannel) with {wanted} {policy.rsa_min_bits} bits. Create a new certificate "
        "request in IIS with that provider and bit length 2048, then ask the CA to re-issue."
    )
