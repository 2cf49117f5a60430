"""The certification path (manual 5.4, 5.5, 5.7.1.2): server -> intermediate(s) -> root."""

from datetime import datetime

from certgate.controls import control
from certgate.files.facts import PathFacts
from certgate.files.rules import day, path_problems


@control("chain-links")
def test_chain_links(certification_path: PathFacts, now: datetime) -> None:
    """Issuer names, signatures and CA flags link the files from server to root (5.7.1.2)."""
    problems = path_problems(certification_path, now)
    assert not problems, (
        f"{certification_path.source}: {'; '.join(problems)} (audited {day(now)}); manual "
        "5.4/5.5/5.7.1.2 require the path server -> intermediate(s) -> root, 3 or 4 levels, "
        "to show 'This certificate is OK'. Take root.cer and uca*.cer from the same cert.zip "
        "as server.cer and install them in certlm.msc (Trusted Root / Intermediate "
        "Certification Authorities); confirm with `certutil -verify server.cer`."
    )
