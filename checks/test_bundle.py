"""The CA's cert.zip (manual 5.3): three or four files, one certificate each in its role."""

from certgate.controls import cite, control, fix
from certgate.files.facts import BundleFacts
from certgate.files.rules import bundle_problems


@control("bundle-contents")
def test_bundle_contents(bundle: BundleFacts) -> None:
    """cert.zip holds root.cer, uca.cer or uca_1.cer + uca_2.cer, and server.cer (5.3)."""
    problems = bundle_problems(bundle)
    assert not problems, (
        f"{bundle.source}: {'; '.join(problems)}; {cite('bundle-contents')} describes cert.zip "
        "as root.cer, uca.cer (or uca_1.cer and uca_2.cer) and server.cer, one certificate "
        f"each. {fix('bundle-contents')}."
    )
