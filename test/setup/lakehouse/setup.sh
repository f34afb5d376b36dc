#!/usr/bin/env bash
# Installs delta-rs (`deltalake`) + pyarrow, pinned in test/setup/lakehouse/requirements.txt, into a project-local venv
# at .cache/lakehouse-venv, for the delta-rs interop tests (test/connectors/lakehouse/delta-interop.test.ts picks
# SLUICE_PYTHON, else .cache/lakehouse-venv/bin/python, else python3). Idempotent; needs PyPI and no stdin.
#
# Env: LAKEHOUSE_PYTHON (base interpreter, default python3), SLUICE_LAKEHOUSE_VENV (venv dir).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
cd "$ROOT"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PYTHONDONTWRITEBYTECODE=1
BASE_PY="${LAKEHOUSE_PYTHON:-python3}"
VENV="${SLUICE_LAKEHOUSE_VENV:-$ROOT/.cache/lakehouse-venv}"
REQ="$ROOT/test/setup/lakehouse/requirements.txt"
log() { printf '[lakehouse/setup] %s\n' "$*"; }

command -v "$BASE_PY" >/dev/null || { echo "[lakehouse/setup] ERROR: $BASE_PY not found (set LAKEHOUSE_PYTHON)" >&2; exit 1; }
"$BASE_PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)' \
  || { echo "[lakehouse/setup] ERROR: need Python >= 3.9, found $("$BASE_PY" --version 2>&1)" >&2; exit 1; }
if [ ! -x "$VENV/bin/python" ]; then
  log "creating venv $VENV"
  "$BASE_PY" -m venv "$VENV"
fi
if "$VENV/bin/python" - "$REQ" <<'PY'
import sys
from importlib.metadata import version, PackageNotFoundError
ok = True
for line in open(sys.argv[1]):
    line = line.split('#')[0].strip()
    if not line:
        continue
    name, want = line.split('==')
    try:
        ok &= version(name) == want
    except PackageNotFoundError:
        ok = False
sys.exit(0 if ok else 1)
PY
then
  log "requirements already installed"
else
  log "pip install -r $REQ"
  "$VENV/bin/python" -m pip install -q -r "$REQ"
fi
# os._exit: delta-rs/pyarrow's native threads sometimes abort the interpreter's teardown (see read_with_deltalake.py).
"$VENV/bin/python" -c 'import os, sys, deltalake, pyarrow; print("[lakehouse/setup] deltalake", deltalake.__version__, "pyarrow", pyarrow.__version__, "OK"); sys.stdout.flush(); os._exit(0)'
