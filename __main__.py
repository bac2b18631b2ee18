# SPDX-License-Identifier: GPL-3.0-or-later
"""`python -m image_to_rig`: the headless command line (see cli.py)."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
