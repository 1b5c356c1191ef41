#!/usr/bin/env bash
# The whole test suite, from nothing: creates .venv, installs the package with its dev extras,
# then runs the quality gates (ruff lint + format, mypy --strict, the import-linter layer
# contracts of pyproject.toml) and pytest on all cores with
# coverage of src/ (line + branch, fail under 95%). CI (.ci/run) runs exactly this script.
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
  echo "== creating $venv with $($python --version)"
  "$python" -m venv "$venv"
fi
py="$venv/bin/python"
echo "== installing project-architect-db[dev]"
"$py" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$py" -m pip install --quiet --disable-pip-version-check -e ".[dev]"

echo "== ruff"
"$py" -m ruff check src tests benchmarks examples scripts
"$py" -m ruff format --check src tests benchmarks examples scripts
echo "== mypy --strict"
"$py" -m mypy
echo "== lint-imports (the layers of docs/architecture.md)"
"$venv/bin/lint-imports"
echo "== pytest"
"$py" -m pytest -n auto --cov --cov-report=term --cov-fail-under=95 "$@"
