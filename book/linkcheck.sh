#!/usr/bin/env bash
# Check every external link of the book (Sphinx's linkcheck builder; settings in _config.yml,
# sphinx.config.linkcheck_*). Needs the executed chapters in book/executed/ (`dspic book` first).
# Offline (doi.org not reachable within 3 s) it prints "skipped: offline" and exits 0.
# Results: book/_build/linkcheck/output.txt (and output.json); exit status non-zero on a broken link.
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${PYTHON:-}"
[ -n "$PY" ] || { [ -x .venv/bin/python ] && PY=.venv/bin/python; } || PY=python3
JB="${JUPYTER_BOOK:-}"
if [ -z "$JB" ]; then
    if [ -x .venv/bin/jupyter-book ]; then JB=.venv/bin/jupyter-book; else JB=jupyter-book; fi
fi

PROBE="${LINKCHECK_PROBE_URL:-https://doi.org/}"   # overridable for tests
if ! PROBE="$PROBE" "$PY" - <<'PY'
import os, sys, urllib.request
try:
    urllib.request.urlopen(urllib.request.Request(os.environ["PROBE"], method="HEAD"), timeout=3)
except Exception as exc:  # offline, DNS failure, proxy refusal, timeout
    # an HTTP error status still means the network is there
    import urllib.error
    sys.exit(0 if isinstance(exc, urllib.error.HTTPError) else 1)
PY
then
    echo "skipped: offline ($PROBE not reachable within 3 s)"
    exit 0
fi

if [ ! -d book/executed ] || [ -z "$(ls book/executed/*.ipynb 2>/dev/null)" ]; then
    echo "book/executed/ is empty: run 'dspic book' (or make book) first" >&2
    exit 2
fi

status=0
# --builder custom: plain "--builder linkcheck" would write output.txt/json into the published html folder
"$JB" build . --path-output book --builder custom --custom-builder linkcheck || status=$?
echo "linkcheck report: $(pwd)/book/_build/linkcheck/output.txt"
grep -E "\[(broken|timeout)\]" book/_build/linkcheck/output.txt 2>/dev/null || true
exit "$status"
