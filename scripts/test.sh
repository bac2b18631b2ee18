#!/usr/bin/env bash
# Quick start 2: set up (test tools and headless chromium included), then run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
exec .venv/bin/python -m pytest -q tests "$@"
