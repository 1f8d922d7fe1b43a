#!/usr/bin/env python
"""Build the course's data files: ``python data/prepare.py [--force] [--quiet]``.

All the work is done by :func:`rnncourse.data.prepare`, so that a student who installed
``rnncourse`` without this repository gets the same files on first use.  The files go to
``rnncourse.data.data_dir()``: ``$RNNCOURSE_DATA`` if set, else this ``data/`` folder.
See ``data/README.md`` for what is built and how.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

try:
    from rnncourse import data
except ImportError:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from rnncourse import data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true",
                        help="rebuild even when MANIFEST.json says the files are up to date")
    parser.add_argument("--quiet", action="store_true", help="print nothing")
    args = parser.parse_args(argv)
    data.prepare(force=args.force, verbose=not args.quiet)
    return 0


if __name__ == "__main__":
    sys.exit(main())
