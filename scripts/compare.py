#!/usr/bin/env python3
"""Compare two result sets like benchstat; `scripts/compare.py --help` explains the table."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from kvbench.compare import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
