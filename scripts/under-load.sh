#!/usr/bin/env bash
# Runs the given command with N busy loops beside it (default 2), each in a session of its own as
# an unrelated job on the host would be, and stops them afterwards. For timing-dependent tests:
#   scripts/under-load.sh .venv/bin/python -m pytest --count 20 -x tests/evidence/test_host_check.py
set -euo pipefail
loops=()
for _ in $(seq "${WK_BUSY_LOOPS:-2}"); do
  setsid sh -c 'while :; do :; done' &
  loops+=("$!")
done
trap 'kill "${loops[@]}" 2>/dev/null || true' EXIT
"$@"
