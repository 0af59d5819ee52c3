"""`python -m analytics ...`: the command line; see :mod:`analytics.reports.cli`."""

from __future__ import annotations

import sys

from analytics.reports.cli import main

if __name__ == "__main__":
    sys.exit(main())
