# SPDX-License-Identifier: GPL-3.0-or-later
"""Write the sample character: ``python scripts/make_sample.py [out.png] [size]``."""

import importlib.util
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _import_package():
    spec = importlib.util.spec_from_file_location(
        "image_to_rig", os.path.join(REPO, "__init__.py"), submodule_search_locations=[REPO]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["image_to_rig"] = module
    spec.loader.exec_module(module)


def main() -> None:
    _import_package()
    from image_to_rig.devkit.sample import write_sample_png

    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "samples", "sample.png")
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 1024
    print(write_sample_png(out, size))


if __name__ == "__main__":
    main()
