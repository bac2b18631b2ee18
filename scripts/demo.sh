#!/usr/bin/env bash
# Quick start 1: set up, then rig the bundled sample into out/ (.blend, web/, layers/,
# report.json, preview.gif and preview PNGs at a few poses).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python -m image_to_rig rig samples/sample.png --out out --preview
.venv/bin/python scripts/make_previews.py out/web/model.json out/previews
echo "done: open out/sample.blend in Blender, or serve out/web/ (python -m http.server -d out/web) and open index.html"
