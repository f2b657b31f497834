"""ARCHITECTURE.md stays true: every path it names exists, and its layers are the tested ones."""

import re
from pathlib import Path

from test_layout import LAYERS

ROOT = Path(__file__).resolve().parents[1]
TEXT = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
# A path in backticks: a folder or a file of the repository (`Makefile` included).
PATH = re.compile(r"`((?:[\w.-]+/)+[\w.-]*|[\w-]+\.(?:py|md|toml)|Makefile)`")
PLACEHOLDER = re.compile(r"N(?:AME)?\b|N_")  # `ladder/stepN_name.py`: a new file's pattern


def named_paths() -> list[str]:
    return PATH.findall(TEXT)


def test_every_path_it_names_exists():
    paths = named_paths()
    assert len(paths) > 20  # the pattern finds them
    for path in paths:
        if PLACEHOLDER.search(path):  # a file to create: its folder must exist
            path = path.rsplit("/", 1)[0]
        assert (ROOT / path).exists(), path


def test_its_layers_are_those_tests_test_layout_enforces():
    rows = re.findall(r"^\| (\d+) \| (.+?) \|", TEXT, re.MULTILINE)
    drawn = [tuple(re.findall(r"`kvbench/(\w+)", packages)) for _, packages in rows]
    enforced = [names for names in LAYERS if names != ("kvbench",)]
    assert drawn == [tuple(n for n in names if n != "__main__") for names in enforced]
