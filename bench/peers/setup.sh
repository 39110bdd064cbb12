#!/usr/bin/env bash
# Create bench/peers/.venv with the pinned peers (Prefect 3, Celery), apart from the product's .venv.
# Usage: bash bench/peers/setup.sh   (or `make bench-peers`); PYTHON picks the interpreter.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="${PYTHON:-python3}"
if [[ ! -x "$here/.venv/bin/python" ]]; then
  "$python" -m venv "$here/.venv"
fi
"$here/.venv/bin/python" -m pip install --quiet --upgrade pip
"$here/.venv/bin/python" -m pip install --quiet -r "$here/requirements.txt"
"$here/.venv/bin/python" -c "import prefect, celery; print('peers ready: prefect', prefect.__version__, 'celery', celery.__version__)"
touch "$here/.venv/.installed"
