"""The certification path (manual 5.4, 5.5, 5.7.1.2): server -> intermediate(s) -> root."""

from datetime import datetime

from certgate.controls import cite, control, fix
from certgate.files.facts import PathFacts
from certgate.files.rules import day, path_problems


@control("chain-links")
def test_chain_links(certification_path: PathFacts, now: datetime) -> None:
    """Issuer names, signatures and CA flags link the files from server to root (5.7.1.2)."""
    problems = path_problems(certification_path, now)
    assert not problems, (
        f"{certification_path.source}: {'; '.join(problems)} (audited {day(now)}); "
        f"{cite('chain-links')} requires the path server -> intermediate(s) -> root, 3 or 4 "
        f"levels, to show 'This certificate is OK'. {fix('chain-links')}."
    )
