#!/usr/bin/env bash
# Set up (or refresh) the project's virtual environment in .venv.
#   bash scripts/setup.sh          runtime: core, CLI, bpy
#   bash scripts/setup.sh --test   also the test tools and a headless browser
#   bash scripts/setup.sh --bpy 4.2   .venv-bpy4.2: the runtime with Blender 4.2 LTS's bpy
#   bash scripts/setup.sh --bpy 4.5   .venv-bpy4.5: the same with Blender 4.5 LTS's bpy
#                                     (+ pytest: scripts/test_blender_lts.sh runs the
#                                     Blender-layer tests in them)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
"$PYTHON" - <<'PY' || { echo "error: Python 3.11 is required (bpy 4.2 - 5.0 wheels are built for it)" >&2; exit 1; }
import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)
PY
if [ "${1:-}" = "--bpy" ]; then
  # The long-term-support Blenders the manifest claims (blender_version_min), same
  # runtime pins as requirements.txt but their own bpy; numpy 1.26.4 as they bundle.
  case "${2:-}" in
    4.2) BPY=4.2.23 ;;
    4.5) BPY=4.5.15 ;;
    *) echo "error: --bpy takes 4.2 or 4.5 (5.0 is .venv)" >&2; exit 2 ;;
  esac
  VENV=".venv-bpy$2"
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  STAMP="$VENV/.installed-bpy$BPY-$(cat requirements.txt requirements-test.txt | sha1sum | cut -c1-12)"
  if [ ! -f "$STAMP" ]; then
    sed "s/^bpy==.*/bpy==$BPY/" requirements.txt > "$VENV/requirements.txt"
    grep "^pytest==" requirements-test.txt >> "$VENV/requirements.txt"
    # The wheels are kept outside the checkout (bpy alone is 300-400 MB), so a fresh
    # clone on the same machine installs them without downloading: fetch what is
    # missing into the cache, then install from it alone.
    CACHE="${IMAGE_TO_RIG_WHEEL_CACHE:-$HOME/.cache/image_to_rig/wheels}"
    mkdir -p "$CACHE"
    if ! { "$VENV/bin/python" -m pip download --quiet --disable-pip-version-check \
             --only-binary=:all: -d "$CACHE" -r "$VENV/requirements.txt" \
           && "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
             --no-index --find-links "$CACHE" -r "$VENV/requirements.txt"; } \
        >"$VENV/pip.log" 2>&1; then
      grep -v "is ignored: it is neither a file nor a directory" "$VENV/pip.log" >&2
      echo "error: installing bpy==$BPY into $VENV failed (log above)" >&2
      exit 1
    fi
    "$VENV/bin/python" -c "import bpy, cv2, numpy, pytest" >/dev/null
    touch "$STAMP"
  fi
  "$VENV/bin/python" scripts/dev_link.py >/dev/null
  exit 0
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
REQ=requirements.txt
[ "${1:-}" = "--test" ] && REQ=requirements-test.txt
STAMP=".venv/.installed-$(basename "$REQ")-$(cat requirements*.txt | sha1sum | cut -c1-12)"
if [ ! -f "$STAMP" ]; then
  if ! .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$REQ" \
      >.venv/pip.log 2>&1; then
    grep -v "is ignored: it is neither a file nor a directory" .venv/pip.log >&2
    echo "error: installing $REQ failed (log above)" >&2
    exit 1
  fi
  if [ "$REQ" = requirements-test.txt ]; then
    # open-clip-torch only supplies the CLIP vocabulary; its torchvision pin would
    # break torch+cpu, so it goes in without dependencies.
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps \
      -r requirements-ai-nodeps.txt >>.venv/pip.log 2>&1 \
      || { echo "error: installing requirements-ai-nodeps.txt failed (see .venv/pip.log)" >&2; exit 1; }
  fi
  .venv/bin/python -c "import bpy, cv2, numpy" >/dev/null
  touch "$STAMP"
fi
.venv/bin/python scripts/dev_link.py >/dev/null
if [ "${1:-}" = "--test" ] && ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's chromium for the web player tests" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
      || echo "warning: chromium could not be installed; browser tests will be skipped" >&2
  else
    echo "note: install Debian's chromium to run the web player tests" >&2
  fi
fi
