#!/usr/bin/env bash
# Quick start 2: set up (test tools and headless chromium included), then run every test:
# the full suite on Blender 5.0 (.venv), then the Blender-layer tests on 4.2 LTS and
# 4.5 LTS (scripts/test_blender_lts.sh), each in its own venv.  With arguments, only
# pytest on 5.0 with those arguments.  Prints how long each part took.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
bash scripts/setup.sh --test
if [ $# -gt 0 ]; then
  exec .venv/bin/python -m pytest -q tests "$@"
fi
# The LTS venvs first, so tests/test_blender_versions.py compares all three Blenders.
bash scripts/setup.sh --bpy 4.2
bash scripts/setup.sh --bpy 4.5
setup=$SECONDS
echo "== setup (5.0, 4.2 LTS, 4.5 LTS venvs): $((setup - start)) s"
IMAGE_TO_RIG_REQUIRE_LTS=1 .venv/bin/python -m pytest -q tests
suite=$SECONDS
echo "== full suite on Blender 5.0: $((suite - setup)) s"
bash scripts/test_blender_lts.sh 4.2 4.5
echo "== Blender-layer tests on 4.2 LTS and 4.5 LTS: $((SECONDS - suite)) s"
echo "== total: $((SECONDS - start)) s"
