#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The Blender-layer tests on the long-term-support Blenders the manifest claims,
# each as its own bpy in its own virtual environment (scripts/setup.sh --bpy X):
# build, gather, drivers, actions, fidelity (20 random parameter vectors), the
# operators and panels, opacity, the layout, and the extension zip installed into
# a clean Blender of that version.  The full suite runs on 5.0 (scripts/test.sh).
#   bash scripts/test_blender_lts.sh            4.2 and 4.5
#   bash scripts/test_blender_lts.sh 4.5        one of them
set -euo pipefail
cd "$(dirname "$0")/.."
TESTS=(tests/test_blender_scene.py tests/test_blender_addon.py tests/test_blender_live.py
       tests/test_modal_operator.py tests/test_opacity.py tests/test_layout_blender.py
       tests/test_blender_ux.py
       tests/test_extension_build.py)
SERIES=("$@")
[ ${#SERIES[@]} -gt 0 ] || SERIES=(4.2 4.5)
for v in "${SERIES[@]}"; do
  start=$SECONDS
  bash scripts/setup.sh --bpy "$v"
  ready=$SECONDS
  echo "== Blender $v LTS (.venv-bpy$v): setup $((ready - start)) s"
  BLENDER_USER_RESOURCES="$(mktemp -d)" timeout 1500 \
    ".venv-bpy$v/bin/python" -m pytest -q -p no:cacheprovider "${TESTS[@]}"
  echo "== Blender $v LTS: tests $((SECONDS - ready)) s"
done
