#!/usr/bin/env bash
# The agent protocol, server side, over real HTTP and WebSockets: ./infra/agent-tests.sh (run
# by infra/test.sh). Outside agents written in Python (websockets, pinned, in ./.venv-agents)
# play against the real local stack the tests start (its own embedded PostgreSQL), beside
# bots and an LLM seat answered by a fake OpenAI-compatible server on loopback.
# Arguments go to unittest (e.g. test_protocol.Game).
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=infra/venv.sh
source infra/venv.sh
WEBSOCKETS_VERSION=17.4
ensure_venv .venv-agents "import sys, websockets; sys.exit(websockets.__version__ != '$WEBSOCKETS_VERSION')" \
  "websockets==$WEBSOCKETS_VERSION"

cargo build --quiet --bin simrunner --bin runner-task
target_dir=$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
cd infra/agent-tests
SIMRUNNER_BIN="$target_dir/debug/simrunner" ../../.venv-agents/bin/python -m unittest -v "${@:-test_protocol}"
