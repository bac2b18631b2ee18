#!/usr/bin/env bash
# Set up (or refresh) the project's virtual environment in .venv.
#   bash scripts/setup.sh          runtime: core, CLI, bpy
#   bash scripts/setup.sh --test   also the test tools and a headless browser
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
"$PYTHON" - <<'PY' || { echo "error: Python 3.11 is required (bpy 5.0 wheels are built for it)" >&2; exit 1; }
import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)
PY
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
  .venv/bin/python -c "import bpy, cv2, numpy, scipy" >/dev/null
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
