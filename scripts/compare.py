#!/usr/bin/env python3
"""The compare script: `scripts/compare.py [OLD] NEW ...` is `kvbench compare [OLD] NEW ...`.

Run it with the project's environment, e.g. `.venv/bin/python scripts/compare.py --help`.
"""

import sys

from kvbench.cli import main

if __name__ == "__main__":
    sys.exit(main(["compare", *sys.argv[1:]]))
