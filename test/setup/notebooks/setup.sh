#!/usr/bin/env bash
# Makes the TypeScript notebooks in notebooks/ executable on this machine.
# Idempotent: a second run only re-checks (a few seconds). Needs no stdin.
#
#   1. node_modules present (runs `npm ci` if tslab is missing) and tslab's
#      native dependency zeromq loads (its prebuilt addon ships in the npm
#      package, so npm 11's skipped install scripts don't matter; if it does
#      not load, falls back to `npm rebuild zeromq`).
#   2. A Python venv at .cache/notebooks-venv with nbconvert/nbclient pinned in
#      test/setup/notebooks/requirements.txt (from PyPI). Python: $NOTEBOOK_PYTHON,
#      else `python3` (pyenv's 3.11 here).
#   3. The tslab kernelspec in the project-local Jupyter dir .cache/jupyter
#      (run.mjs points JUPYTER_PATH there; nothing global is touched).
#   4. A round trip: starts the kernel, runs one TypeScript statement.
#
# Env: NOTEBOOK_PYTHON (base interpreter), SLUICE_NOTEBOOK_VENV (venv dir),
#      NOTEBOOK_SETUP_SKIP_CHECK=1 (skip step 4).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
cd "$ROOT"
START=$SECONDS
log() { printf '[notebooks/setup] %s\n' "$*"; }
die() { printf '[notebooks/setup] ERROR: %s\n' "$*" >&2; exit 1; }
trap 'rc=$?; [ $rc -eq 0 ] || printf "[notebooks/setup] FAILED (exit %s) after %ss\n" "$rc" "$((SECONDS - START))" >&2' EXIT

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PYTHONDONTWRITEBYTECODE=1

# ---------------------------------------------------------------- 1. node side
command -v node >/dev/null || die "node not found on PATH"
NODE_MAJOR="$(node -p 'process.versions.node.split(".")[0]')"
[ "$NODE_MAJOR" -ge 20 ] || die "Node >= 20 required, found $(node --version)"
if [ ! -f node_modules/tslab/package.json ]; then
  log "node_modules/tslab missing: running npm ci"
  npm ci --no-audit --no-fund
fi
[ -f node_modules/tslab/package.json ] || die "tslab is not in node_modules after npm ci (is it still a devDependency?)"
log "tslab $(node -p 'require("./node_modules/tslab/package.json").version'), node $(node --version)"

zmq_ok() { node -e 'require("zeromq")' >/dev/null 2>&1; }
if zmq_ok; then
  log "zeromq $(node -p 'require("./node_modules/zeromq/package.json").version') native addon loads (prebuilt binary, no rebuild needed)"
else
  log "zeromq native addon does not load; trying: npm rebuild zeromq (builds from source, needs cmake + a C++ toolchain)"
  node -e 'require("zeromq")' || true
  npm rebuild zeromq --foreground-scripts \
    || die "npm rebuild zeromq failed. Building from source needs downloads (Node headers, vcpkg libzmq) that only work with full internet access; normally the prebuilt addon in node_modules/zeromq/build/linux/x64/node/*/addon.node is used: check it exists (rm -rf node_modules && npm ci)"
  zmq_ok || die "zeromq still does not load after npm rebuild"
  log "zeromq rebuilt and loads"
fi

# -------------------------------------------------------------- 2. python side
BASE_PY="${NOTEBOOK_PYTHON:-python3}"
command -v "$BASE_PY" >/dev/null || die "$BASE_PY not found (set NOTEBOOK_PYTHON)"
"$BASE_PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)' \
  || die "$BASE_PY is $("$BASE_PY" --version 2>&1); need Python >= 3.9"
VENV="$(node test/setup/notebooks/env.mjs python)"; VENV="${VENV%/bin/python3}"
PY="$VENV/bin/python3"
BASE_VER="$("$BASE_PY" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')"

if [ -x "$PY" ] && "$PY" -c 'import sys' >/dev/null 2>&1 \
   && [ "$("$PY" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')" = "$BASE_VER" ]; then
  log "venv $VENV exists (Python $BASE_VER)"
else
  [ -e "$VENV" ] && { log "venv $VENV is broken or from another Python: recreating"; rm -rf "$VENV"; }
  log "creating venv $VENV from $(command -v "$BASE_PY") (Python $BASE_VER)"
  if ! "$BASE_PY" -m venv "$VENV"; then
    rm -rf "$VENV"
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      log "venv module unavailable: apt-get install python3-venv"
      apt-get install -y -q python3-venv >/dev/null
      "$BASE_PY" -m venv "$VENV" || die "cannot create a venv with $BASE_PY"
    else
      die "cannot create a venv with $BASE_PY (install python3-venv)"
    fi
  fi
fi

REQ=test/setup/notebooks/requirements.txt
STAMP="$VENV/.sluice-requirements.sha256"
WANT="$(sha256sum "$REQ" | cut -d' ' -f1)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ] \
   && "$PY" -c 'import nbconvert, nbclient, jupyter_client, zmq' >/dev/null 2>&1; then
  log "Python packages up to date ($REQ)"
else
  T0=$SECONDS
  log "pip install -r $REQ into $VENV"
  "$PY" -m pip install --quiet -r "$REQ" || die "pip install failed"
  "$PY" -c 'import nbconvert, nbclient, jupyter_client, zmq' || die "nbconvert/nbclient not importable after install"
  echo "$WANT" > "$STAMP"
  log "installed in $((SECONDS - T0))s: $("$PY" -m pip freeze | grep -iE '^(nbconvert|nbclient|nbformat|jupyter.client|pyzmq)==' | tr '\n' ' ')"
fi

# ---------------------------------------------------------- 3. kernelspec
node test/setup/notebooks/env.mjs kernelspec | sed 's/^/[notebooks\/setup]   /'
# Confirm Jupyter sees it through the same environment run.mjs uses.
JENV=(env JUPYTER_PATH="$(node test/setup/notebooks/env.mjs jupyter-path)" JUPYTER_PLATFORM_DIRS=1
      JUPYTER_DATA_DIR="$(node test/setup/notebooks/env.mjs jupyter-path)")
"${JENV[@]}" "$PY" - <<'EOF' || die "Jupyter does not find the tslab kernelspec"
from jupyter_client.kernelspec import KernelSpecManager
specs = KernelSpecManager().find_kernel_specs()
assert "tslab" in specs, specs
print("[notebooks/setup] Jupyter finds kernel 'tslab' at", specs["tslab"])
EOF

# ---------------------------------------------------------- 4. round trip
if [ "${NOTEBOOK_SETUP_SKIP_CHECK:-}" != 1 ]; then
  "${JENV[@]}" "$PY" - <<'EOF' || die "tslab kernel round trip failed"
import time
from jupyter_client.manager import start_new_kernel
t = time.time()
km, kc = start_new_kernel(kernel_name="tslab", startup_timeout=60)
try:
    out = []
    reply = kc.execute_interactive(
        "const x: number = await Promise.resolve(41); console.log(x + 1);",
        timeout=60,
        output_hook=lambda m: out.append(m["content"].get("text", "")),
    )
    status = reply["content"]["status"]
    assert status == "ok" and "".join(out).strip() == "42", (status, out, reply["content"])
    print("[notebooks/setup] tslab kernel round trip ok (%.1fs): printed %s" % (time.time() - t, "".join(out).strip()))
finally:
    kc.stop_channels()
    km.shutdown_kernel(now=True)
EOF
fi

log "done in $((SECONDS - START))s. Run: node test/setup/notebooks/run.mjs [notebooks/x.ipynb ...] [--inplace]"
