#!/usr/bin/env bash
# Peer benchmark: seqtag against spaCy, NLTK and sklearn-crfsuite on the same inputs, on this machine, as ratios.
# Usage (from the repository root, with seqtag installed in the active environment):
#   bash benchmarks/run.sh [--corpora ../shared/corpora] [--runs 3]
# The peers live in their own virtual environment (benchmarks/.venv-peers, made on the first run), so they never
# touch seqtag's; seqtag itself is run as the `seqtag` command of the environment this script is started from.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
seqtag_bin="$(command -v seqtag)" || { echo "benchmarks/run.sh: seqtag is not installed in this environment" >&2; exit 2; }
venv="$here/.venv-peers"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r "$here/requirements-peers.txt"
fi
# seqtag's modules compiled to bytecode, as `pip install` compiles the peers': an editable install run under
# PYTHONDONTWRITEBYTECODE=1 would compile them anew at every start, a cost no installed tool pays
if package="$(python3 -c 'import os, seqtag; print(os.path.dirname(seqtag.__file__))' 2>/dev/null)"; then
  python3 -m compileall -q "$package" >/dev/null
fi
exec "$venv/bin/python" "$here/peers.py" --seqtag "$seqtag_bin" "$@"
