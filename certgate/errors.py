"""certgate's exceptions, one tree:

- :class:`ArtifactError` -- a file or a host could not be audited: unreadable, not what was
  expected, undecodable, a wrong password. The items that need it are **errors** (never
  passes), with this one-line message; other targets go on.

  - :class:`UnreadablePart` -- the file decoded, but one part of it did not (an unknown key
    type, a malformed extension): only the items that need that part are errors, and the
    message names the part (SPEC §2.1).
  - :class:`NothingToInspect` -- the item's control found nothing to judge (a PFX without a
    certificate, an empty subject): an error with the reason, never a pass.

Configuration problems (targets.yaml, waivers.yaml) are :class:`certgate.inventory.InventoryError`
and stop the run before any work (exit 4). Anything else is a bug and raises with a traceback.
"""

from __future__ import annotations


class ArtifactError(Exception):
    """A file could not be audited: unreadable, not what was expected, or undecodable."""


class UnreadablePart(ArtifactError):
    """One part of a file that otherwise decoded cannot be read; the message names it."""


class NothingToInspect(ArtifactError):
    """There is nothing for the control to judge; the message says what is missing."""
