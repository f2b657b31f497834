"""What each ladder rung sets out to remove, as frames of its predecessor's py-spy profile.

A rung's prediction is the share of the previous rung's GIL-held samples spent in these
frames. The frames are declared with the rungs, in kvbench/catalog/ladder.py; this module
looks them up.
"""

from kvbench.catalog.frames import Frames
from kvbench.catalog.ladder import ADDED, TARGETS

__all__ = ["ADDED", "TARGETS", "Frames", "frames"]


def frames(key: str) -> Frames | None:
    """The target frames named `key`, of whichever rung."""
    found = (f for fs in TARGETS.values() if not isinstance(fs, str) for f in fs if f.key == key)
    return next(found, None)
