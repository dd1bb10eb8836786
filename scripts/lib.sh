# Shared helpers for the project's scripts (sourced, not run).

# A Python >= 3.11 to build the virtualenv with: $PYTHON, else the first that fits on PATH.
find_python() {
  local candidate
  for candidate in "${PYTHON:-}" python3.13 python3.12 python3.11 python3; do
    [[ -n $candidate ]] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "scripts: need Python >= 3.11 (set PYTHON=...)" >&2
  return 1
}

# apt-get install the named Debian packages whose command is missing ("command:package" pairs).
apt_install_missing() {
  local pair missing=()
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
  done
  ((${#missing[@]})) || return 0
  local sudo=""
  [[ $(id -u) == 0 ]] || sudo="sudo"
  echo "== apt-get install ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

ensure_system_packages() {
  # dovecot: the real IMAP server of the integration tests; openssl: its throwaway certificate;
  # chromium: the dashboard's browser test (driven by Playwright with the system browser).
  PATH=$PATH:/usr/sbin apt_install_missing dovecot:dovecot-imapd openssl:openssl chromium:chromium
}

# .venv with the package installed editable plus the given extras (comma-separated).
ensure_venv() {
  local extras=$1 python
  if [[ ! -x .venv/bin/python ]]; then
    python=$(find_python)
    echo "== creating .venv with $python"
    "$python" -m venv .venv
  fi
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -e ".[$extras]"
}

# PostgreSQL on 127.0.0.1:5432 for the multi-node tests: start it when installed but stopped,
# install it when missing (then trust loopback connections, as a throwaway test server).
ensure_postgres() {
  command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p 5432 && return 0
  local sudo=""
  [[ $(id -u) == 0 ]] || sudo="sudo"
  if [[ ! -d /etc/postgresql ]] || [[ -z $(ls /etc/postgresql 2>/dev/null) ]]; then
    echo "== apt-get install postgresql"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null
    local version hba
    version=$(ls /etc/postgresql | sort -V | tail -1)
    hba=/etc/postgresql/$version/main/pg_hba.conf
    $sudo sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
  fi
  local version
  version=$(ls /etc/postgresql | sort -V | tail -1)
  echo "== starting PostgreSQL $version"
  $sudo pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  local i
  for ((i = 0; i < 50; i++)); do
    pg_isready -q -h 127.0.0.1 -p 5432 && return 0
    sleep 0.2
  done
  echo "scripts: PostgreSQL did not come up on 127.0.0.1:5432" >&2
  return 1
}
