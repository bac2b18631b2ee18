# SPDX-License-Identifier: GPL-3.0-or-later
"""`python -m image_to_rig`: the headless command line (see cli.py)."""

import sys

if __name__ == "__main__":
    try:
        from .cli import main
    except KeyboardInterrupt:  # Ctrl-C while Python is still starting
        print("cancelled; nothing was written", file=sys.stderr)
        sys.exit(130)
    sys.exit(main())
