#!/usr/bin/env bash
# Session 4 queue, two lanes (one single-threaded process per core), full protocol unless
# stated: more PSE seeds and the two loss variants for the PSE gap (issue 14 §5), RandConv +
# PSEs seeds 6-10 (the fp32 side of issue 13), and the demo's 300-epoch schedule on seeds 1-5
# (issue 13 §5: the cross-machine difference of the demo against the seed-to-seed spread).
# Resumable: finished seeds are skipped, a killed seed resumes from its mid-run checkpoint.
#
#   SRC=<pinned worktree>/src OUT=$PWD/results/jumping results/jumping/run_queue_s4.sh E|F
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
OUT="${OUT:-$here}"
[ -n "${SRC:-}" ] && export PYTHONPATH="$SRC"
export OMP_NUM_THREADS=1
P="$repo/.venv/bin/python -m pisces.cli jumping train --grid wide --device cpu"
pse_paper() { $P --preset pse --loss-variant paper --seeds "$1" --out "$OUT/pse-paper-variant-wide"; }
pse_coupling() { $P --preset pse --coupling-weights --seeds "$1" --out "$OUT/pse-coupling-wide"; }
pse() { $P --preset pse --seeds "$1" --out "$OUT/pse-wide"; }
rcpse() { $P --preset randconv-pse --seeds "$1" --out "$OUT/randconv-pse-wide"; }
demo() {  # the demo's schedule and thread count (make demo: 2 threads, eval every 150)
  OMP_NUM_THREADS=2 $P --preset randconv-pse --epochs 300 --eval-every 150 --threads 2 \
    --seeds "$1" --out "$OUT/demo-300ep-wide"
}
case "${1:?lane E or F}" in
  E) pse_paper 1; pse_coupling 1; pse 5; pse 7; pse 9; rcpse 6; rcpse 8; rcpse 10; demo 1; demo 3; demo 5 ;;
  F) pse_paper 2; pse_coupling 2; pse 6; pse 8; pse 10; rcpse 7; rcpse 9; demo 2; demo 4 ;;
  *) echo "lane must be E or F" >&2; exit 2 ;;
esac
