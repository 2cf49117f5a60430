"""The key pair (manual 5.1.5): Microsoft RSA SChannel, bit length 2048."""

from certgate.controls import cite, control, fix
from certgate.files.facts import KeyFacts
from certgate.files.rules import key_meets
from certgate.inventory import Policy


@control("rsa-2048")
def test_rsa_2048(key: KeyFacts, policy: Policy) -> None:
    """The key is RSA with at least (or exactly) the policy's bit length (5.1.5)."""
    wanted = "exactly" if policy.rsa_exact_bits else "at least"
    assert key_meets(key, policy.rsa_min_bits, policy.rsa_exact_bits), (
        f"{key.source} key is {key.describe()}; {cite('rsa-2048')} requires RSA (Microsoft RSA "
        f"SChannel, 5.1.5.1) with {wanted} {policy.rsa_min_bits} bits (5.1.5.2). "
        f"{fix('rsa-2048')}."
    )
