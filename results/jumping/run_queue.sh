#!/usr/bin/env bash
# The full-protocol Table 1 runs (wide grid, 2000 epochs), as two lanes of single-seed jobs:
# one single-threaded process per core, presets interleaved so that every row of the table
# gets seeds early. Resumable: finished seeds are skipped, so rerun it to continue.
#
#   results/jumping/run_queue.sh A &> lane-A.log &  results/jumping/run_queue.sh B &> lane-B.log &
#   (session 4: lanes C and D the same way)
#
# SRC (optional) points at a pinned checkout's src/ (a `git worktree` of the commit the runs
# use), so that edits in the working tree cannot leak into a run; each seed-*.json records
# the commit it ran (`git_commit`). OUT is where results go (default: this folder).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
OUT="${OUT:-$here}"
[ -n "${SRC:-}" ] && export PYTHONPATH="$SRC"
export OMP_NUM_THREADS=1
run() {  # preset seed
  "$repo/.venv/bin/python" -m pisces.cli jumping train --preset "$1" --grid wide --seeds "$2" \
    --workers 1 --device cpu --out "$OUT/$1-wide"
}
case "${1:?lane A or B}" in
  A) jobs="randconv-pse:1 randconv:1 pse:1 randconv-pse:3 randconv:3 randconv-pse:5 randconv:5" ;;
  B) jobs="randconv-pse:2 randconv:2 dropout-l2:1 randconv-pse:4 randconv:4 pse:2 dropout-l2:2" ;;
  # session 4: more seeds for the PSE gap (issue 14) and the fp32 side of issue 13 (seeds 1-10)
  C) jobs="pse:3 pse:5 pse:7 pse:9 randconv-pse:6 randconv-pse:8 randconv-pse:10" ;;
  D) jobs="pse:4 pse:6 pse:8 pse:10 randconv-pse:7 randconv-pse:9" ;;
  *) echo "lane must be A, B, C or D" >&2; exit 2 ;;
esac
for job in $jobs; do run "${job%%:*}" "${job##*:}"; done
