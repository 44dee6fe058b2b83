#!/usr/bin/env bash
# The pages in a real Chromium: ./infra/browser-tests.sh (run by infra/test.sh).
#
# Uses the system's Chromium (installed with apt when missing and run as root) driven by
# Playwright (playwright-core from npm, pinned in infra/browser-tests/package-lock.json; it
# downloads no browser), against the real local stack started by the tests themselves.
# Screenshots of every page go to <target>/screenshots for a reviewer to open.
set -euo pipefail
cd "$(dirname "$0")/.."

chromium=${SIMRUNNER_CHROMIUM:-}
if [ -z "$chromium" ]; then
  chromium=$(command -v chromium || command -v chromium-browser || true)
fi
if [ -z "$chromium" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "browser-tests.sh: installing Chromium with apt-get" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    chromium=$(command -v chromium)
  else
    echo "browser-tests.sh: the browser tests need Chromium (apt-get install chromium), or" >&2
    echo "  SIMRUNNER_CHROMIUM naming a Chromium executable" >&2
    exit 1
  fi
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "browser-tests.sh: the browser tests need Node.js with npm (apt-get install nodejs npm)" >&2
  exit 1
fi

cargo build --quiet --bin simrunner --bin runner-task
target_dir=$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
mkdir -p "$target_dir/screenshots"

cd infra/browser-tests
npm ci --no-audit --no-fund --silent
SIMRUNNER_BIN="$target_dir/debug/simrunner" SIMRUNNER_CHROMIUM="$chromium" \
  SIMRUNNER_SCREENSHOTS="$target_dir/screenshots" \
  node --test --test-concurrency=1 --test-reporter=spec ./*.test.mjs
echo "browser-tests.sh: screenshots in $target_dir/screenshots"
