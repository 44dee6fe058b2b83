#!/usr/bin/env bash
# Fuzzes the API against its own OpenAPI document: ./infra/fuzz-api.sh (run by infra/test.sh).
#
# Starts the real local stack (embedded PostgreSQL, process launcher, no demo), seeds a
# simulation with a run and a provider key so the fuzzer reaches real ids, then runs
# schemathesis (pinned, from PyPI, in ./.venv-fuzz) with the conformance checks: no server
# errors, only documented status codes and content types, responses and headers matching
# their schemas. SIMRUNNER_FUZZ_EXAMPLES sets the examples per operation (default 40).
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=infra/venv.sh
source infra/venv.sh
SCHEMATHESIS_VERSION=4.32.5
ensure_venv .venv-fuzz "import sys; from importlib.metadata import version; \
sys.exit(version('schemathesis') != '$SCHEMATHESIS_VERSION')" "schemathesis==$SCHEMATHESIS_VERSION"

work=$(mktemp -d)
# The embedded PostgreSQL runs as the `postgres` user when this runs as root.
chmod 755 "$work"
stack=
cleanup() {
  if [ -n "$stack" ]; then
    kill -TERM -- "-$stack" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$stack" 2>/dev/null || break; sleep 0.5; done
    kill -KILL -- "-$stack" 2>/dev/null || true
  fi
  [ -n "${SIMRUNNER_FUZZ_KEEP:-}" ] && cp "$work/stack.log" /tmp/fuzz-stack.log; rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "fuzz-api.sh: $*" >&2
  tail -n 40 "$work/stack.log" >&2 || true
  exit 1
}

cargo build --quiet --bin simrunner --bin runner-task
target_dir=$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
api="http://127.0.0.1:$port"
token="fuzz-admin-token-0123456789"
SIMRUNNER_DATA_DIR="$work/data" SIMRUNNER_DEMO=off SIMRUNNER_HTTP_ADDR="127.0.0.1:$port" \
  SIMRUNNER_AGENT_REQUESTS_PER_MINUTE=100000 \
  SIMRUNNER_ADMIN_TOKEN="$token" RUST_LOG=${SIMRUNNER_FUZZ_LOG:-warn} \
  setsid "$target_dir/debug/simrunner" up >"$work/stack.log" 2>&1 &
stack=$!
for _ in $(seq 1 120); do
  curl -sf "$api/healthz" >/dev/null && break
  kill -0 "$stack" 2>/dev/null || fail "the local stack exited"
  sleep 0.5
done
curl -sf "$api/healthz" >/dev/null || fail "the local stack never answered"

call() {
  curl -sf -X "$1" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    ${3:+-d "$3"} "$api$2"
}
field() { python3 -c "import json, sys; print(json.load(sys.stdin)['$1'])"; }
simulation=$(call POST /v1/admin/simulations '{"name": "fuzz seed", "pace": "fast", "max_hands": 5,
  "agent_slots": [{"type": "random"}, {"type": "tight"}],
  "table_config": {"blinds": {"small": 1, "big": 2}, "initialStack": 200, "actionTimeoutMs": 1000}}' |
  field id) || fail "seeding a simulation"
run=$(call POST "/v1/admin/simulations/$simulation/start" | field id) || fail "starting a run"
key=$(call POST /v1/admin/api-keys '{"provider": "openai", "label": "fuzz", "key": "sk-fuzz-0123456789"}' |
  field id) || fail "adding a key"

# Operations that take an id get a real one half of the time (the fuzzer's own the rest).
cat >"$work/schemathesis.toml" <<TOML
[[operations]]
include-path-regex = "^/v1/admin/simulations/\\\\{id\\\\}"
parameters = { "path.id" = "$simulation" }

[[operations]]
include-path-regex = "^/v1/admin/simulations/runs/"
parameters = { "path.id" = "$run" }

[[operations]]
include-path-regex = "^/v1/admin/api-keys/"
parameters = { "path.id" = "$key" }
TOML

echo "fuzz-api.sh: schemathesis against $api/openapi.json"
# The Server-Sent Events route never ends while a table lives (its own tests cover it). A
# platform's connection check exists to call the platform's address, which would be the
# fuzzer's invention: its own tests call one on 127.0.0.1.
.venv-fuzz/bin/schemathesis --config-file "$work/schemathesis.toml" run "$api/openapi.json" \
  -H "Authorization: Bearer $token" --exclude-path-regex '/stream$|/platforms/\{id\}/check$' \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
  --max-examples "${SIMRUNNER_FUZZ_EXAMPLES:-40}" --workers 2 --request-timeout 10 \
  --warnings off --no-color ||
  fail "the API does not conform to its OpenAPI document (see above)"
