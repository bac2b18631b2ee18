# SPDX-License-Identifier: GPL-3.0-or-later
"""Make this checkout importable as the package `image_to_rig` in the current venv.

The repository root is the Blender extension, so its folder may have any name;
a .pth start-up line registers it under its package name (no symlinks, works on
Windows too).
"""

import os
import sysconfig

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

LINE = (
    "import sys, importlib.util as _u; "
    "_s = _u.spec_from_file_location('image_to_rig', {init!r}, submodule_search_locations=[{repo!r}]) "
    "if 'image_to_rig' not in sys.modules else None; "
    "_m = _u.module_from_spec(_s) if _s else None; "
    "_m and sys.modules.setdefault('image_to_rig', _m); "
    "_m and _s.loader.exec_module(_m)\n"
)


def main() -> None:
    site = sysconfig.get_paths()["purelib"]
    path = os.path.join(site, "image_to_rig_dev.pth")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(LINE.format(init=os.path.join(REPO, "__init__.py"), repo=REPO))
    print(f"linked {REPO} as image_to_rig ({path})")


if __name__ == "__main__":
    main()
