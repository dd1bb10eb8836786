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
  # chromium: the dashboard's browser test (driven by Playwright with the system browser);
  # node and npm: the jmap-jam JMAP client the JMAP tests drive (tests/jmap_clients).
  PATH=$PATH:/usr/sbin apt_install_missing dovecot:dovecot-imapd openssl:openssl \
    chromium:chromium node:nodejs npm:npm
}

# The third-party JMAP clients the integration tests drive (docs/jmap-clients.md): jmapc in its
# own virtualenv (it is GPL: never in .venv) and jmap-jam's node_modules from the lockfile. Each
# is (re)made when its pinned requirements differ from those it was made from (a stamp inside
# holds their hash), so an interrupted pip or npm leaves nothing that is trusted later.
ensure_jmap_clients() {
  local dir=tests/jmap_clients python want
  want=$(sha256sum "$dir/requirements-jmapc.txt" | cut -d' ' -f1)
  if [[ $(cat "$dir/.venv-jmapc/switchboard-stamp" 2>/dev/null) != "$want" ]]; then
    python=$(find_python)
    echo "== jmapc into $dir/.venv-jmapc"
    rm -rf "$dir/.venv-jmapc"
    "$python" -m venv "$dir/.venv-jmapc"
    "$dir/.venv-jmapc/bin/python" -m pip install -q -r "$dir/requirements-jmapc.txt"
    echo "$want" >"$dir/.venv-jmapc/switchboard-stamp"
  fi
  want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  if [[ $(cat "$dir/node_modules/switchboard-stamp" 2>/dev/null) != "$want" ]]; then
    # type-fest (TypeScript types only, never loaded at run time) asks for Node 20: npm only
    # warns (EBADENGINE) under an older Node, such as Debian 12's 18, and installs anyway.
    echo "== npm ci in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" >"$dir/node_modules/switchboard-stamp"
  fi
}

# .venv with the package installed editable plus the given extras (comma-separated). pip runs
# only when something is missing: the stamp records pyproject.toml's hash and the requirements
# installed under it, so a second ./scripts/demo starts at once, and ./scripts/test then
# ./scripts/demo needs no pip either (the test extra holds the demo's requirements).
ensure_venv() {
  local extras=$1 python
  if [[ -x .venv/bin/switchboard ]] && _venv_stamp check "$extras"; then
    return 0
  fi
  if [[ ! -x .venv/bin/python ]]; then
    python=$(find_python)
    echo "== creating .venv with $python"
    "$python" -m venv .venv
  fi
  echo "== pip install -e '.[$extras]' into .venv"
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -e ".[$extras]"
  _venv_stamp record "$extras"
}

# `_venv_stamp check EXTRAS`: exit 0 when .venv holds pyproject.toml's dependencies and those of
# EXTRAS as they read now. `_venv_stamp record EXTRAS`: note that they were just installed.
_venv_stamp() {
  [[ -x .venv/bin/python ]] || return 1
  .venv/bin/python - "$@" <<'PY'
import hashlib, json, sys, tomllib
from pathlib import Path

mode, extras = sys.argv[1], [e for e in sys.argv[2].split(",") if e]
raw = Path("pyproject.toml").read_bytes()
project = tomllib.loads(raw.decode())["project"]
wanted = set(project.get("dependencies", []))
for extra in extras:
    wanted.update(project.get("optional-dependencies", {}).get(extra, [f"[{extra}]"]))
digest = hashlib.sha256(raw).hexdigest()
stamp = Path(".venv/switchboard-installed.json")
try:
    old = json.loads(stamp.read_text())
except (OSError, ValueError):
    old = {}
# Requirements recorded under another pyproject.toml may have changed since: they do not count.
have = set(old.get("requirements", [])) if old.get("pyproject") == digest else set()
if mode == "check":
    sys.exit(0 if wanted <= have else 1)
stamp.write_text(json.dumps({"pyproject": digest, "requirements": sorted(have | wanted)}))
PY
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
