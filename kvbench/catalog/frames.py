"""Frames of a py-spy profile that a rung sets out to remove: a key, a label, a regex."""

import re
from dataclasses import dataclass
from functools import cache
from typing import Literal


@dataclass(frozen=True)
class Frames:
    """Frames a rung targets: a key, what a reader calls them, a regex on `file:function`.

    "inclusive" counts a sample when a matching frame is anywhere on its stack (the frame
    and everything it calls); "self" only when the innermost frame matches, for code that
    wraps the rest of the request (middleware, a protocol's main loop).
    """

    key: str
    label: str
    pattern: str
    counted: Literal["inclusive", "self"] = "inclusive"

    def matches(self, file: str, function: str) -> bool:
        return _compiled(self.pattern).search(f"{file}:{function}") is not None


@cache
def _compiled(pattern: str) -> re.Pattern:
    return re.compile(pattern)


STD = r"<python>/lib/python3\.\d+/"
SITE = r"site-packages/"
SELF: Literal["self"] = "self"
