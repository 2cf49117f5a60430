"""Key and certificate belong together (manual 5.7.1.1 and 6.4)."""

from certgate.controls import cite, control
from certgate.files.facts import PairingFacts
from certgate.files.rules import PAIRING_REQUIREMENTS, pairing_mismatch


@control("key-match")
def test_key_match(pairing: PairingFacts) -> None:
    """The private key, the CSR and every copy of the server certificate match (5.7.1.1, 6.4)."""
    assert not pairing.strangers(), (
        f"{pairing_mismatch(pairing)}; {cite('key-match')} requires "
        f"{PAIRING_REQUIREMENTS[pairing.kind]}."
    )
