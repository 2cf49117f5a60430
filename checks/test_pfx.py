"""The PKCS#12 backup (manual 5.9 and 5.10): complete, and encrypted as the manual says."""

from certgate.controls import cite, control, fix
from certgate.files.facts import PfxEncryptionFacts, PfxFacts
from certgate.files.rules import pfx_encryption_problems, pfx_lacks_intermediate
from certgate.inventory import Policy


@control("pfx-contents")
def test_pfx_contents(pfx: PfxFacts) -> None:
    """The PFX holds the private key, its certificate and the intermediates (5.9.4, 5.9.5)."""
    assert pfx.key is not None, (
        f"{pfx.source} holds {pfx.holds()} and no private key; {cite('pfx-contents', '5.9.4')} "
        "requires 'Yes, export the private key' (a restore per 5.10 needs it). "
        f"{fix('pfx-contents')}."
    )
    assert pfx.key_certificate is not None, (
        f"{pfx.source}: its private key ({pfx.key.describe()}, SPKI SHA-256 "
        f"{pfx.key.spki_sha256[:16]}...) belongs to no certificate inside (it holds "
        f"{pfx.holds()}); {cite('pfx-contents', '5.9.4')} requires the key of the certificate "
        "exported. Export the certificate that shows 'You have a private key' in certlm.msc "
        "again."
    )
    lacking = pfx_lacks_intermediate(pfx)
    assert lacking is None, (
        f"{pfx.source} lacks {lacking}; {cite('pfx-contents', '5.9.5')} requires 'Include all "
        "certificates in the certification path if possible'. Install the intermediates from "
        "cert.zip in certlm.msc > Intermediate Certification Authorities, then export again "
        "with that option ticked."
    )


@control("pfx-encryption")
def test_pfx_encryption(pfx_protection: PfxEncryptionFacts, policy: Policy) -> None:
    """The PFX is password-protected with an accepted encryption (5.9.6)."""
    problems = pfx_encryption_problems(pfx_protection, policy.pfx_encryption)
    assert not problems, (
        f"{pfx_protection.source}: {pfx_protection.describe()}; not accepted: "
        f"{'; '.join(problems)}; {cite('pfx-encryption')} requires a password and "
        f"TripleDES-SHA1 or better (policy pfx_encryption: {', '.join(policy.pfx_encryption)})."
        f" {fix('pfx-encryption')}."
    )
