#!/usr/bin/env bash
# The one command of docs/10-your-own-app.md as a reader runs it, from a project of their own,
# for tests/docs/test_commands.py: a copy of examples/own-project (an app that needs msgspec,
# which this repository does not depend on), a fresh venv of its own, its requirements and
# kvbench[bench] pip-installed (not editable: the harness must work from the project's
# site-packages, not from this checkout), then `kvbench bench --app` with tiny settings.
# pip needs PyPI, or its cache.
set -eo pipefail
root=$(pwd)
tiny=(--quick --trials 2 --duration 1 --warmup 0.2 --latency-window 1 --layers asgi,http)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
unset PYTHONPATH  # a reader's shell does not put this checkout on the import path
cp -r "$root/examples/own-project" "$work/project"
# The package's sources, copied: pip builds a local folder in place, so its build/ and
# *.egg-info/ land in the copy, not in the checkout.
mkdir "$work/kvbench"
cp -r "$root"/{pyproject.toml,README.md,LICENSE,kvbench} "$work/kvbench/"
cd "$work/project"
# python3 is the repository venv's (first on PATH here); venv makes a venv of its base Python.
python3 -m venv .venv
pip=(.venv/bin/python -m pip --quiet --disable-pip-version-check)
"${pip[@]}" install -r requirements.txt "$work/kvbench[bench]"
where=$(.venv/bin/python -c 'import kvbench; print(kvbench.__file__)')
if [[ "$where" != "$work/project/.venv/"* ]]; then
    echo "kvbench is imported from $where, not from the project's venv" >&2
    exit 1
fi
.venv/bin/kvbench bench --app shop=app:app --requests requests.toml "${tiny[@]}" --out "$work/run"
test -s "$work/run/summary.json" || { echo "the run wrote no summary.json" >&2; exit 1; }
.venv/bin/python -c 'import json, sys
services = json.load(open(sys.argv[1]))["services"]
assert services["shop"]["http_tps"]["median"] > 0, services' "$work/run/summary.json"
