# Sourced by infra/test.sh and infra/check-deploy.sh: Python tools from PyPI, pinned, in a
# project-local virtual environment (never the system's Python).

# ensure_venv DIR CHECK SPEC...: creates DIR with the pip SPECs unless `DIR/bin/python -c
# CHECK` already succeeds (the CHECK says whether the pinned versions are installed).
ensure_venv() {
  local dir=$1 check=$2
  shift 2
  if [ -x "$dir/bin/python" ] && "$dir/bin/python" -c "$check" >/dev/null 2>&1; then
    return 0
  fi
  echo "$(basename "$0"): installing $* into $dir" >&2
  if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    else
      echo "$(basename "$0"): Python's venv module is missing (Debian/Ubuntu: apt-get install python3-venv)" >&2
      exit 1
    fi
  fi
  rm -rf "$dir"
  python3 -m venv "$dir"
  "$dir/bin/pip" install --quiet --disable-pip-version-check "$@"
}
