#!/usr/bin/env bash
# Session 6 queue, two lanes, one core each (issues 13 and 14):
#   A: `pse` wide fp32, seeds 5-10 (Table 1's PSE cell to 10 seeds; the fp32 side of the
#      precision comparison).
#   B: `randconv-pse` wide bf16 seed 1 (the measured wall time of a full bf16 run), then `pse`
#      wide bf16 seeds 1-10 (the fast side of the precision comparison).
# Resumable: finished seeds are skipped, a killed seed resumes from its mid-run checkpoint.
#
#   SRC=<pinned worktree>/src OUT=$PWD/results/jumping [PY=<python>] results/jumping/run_queue_s6.sh A|B
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
OUT="${OUT:-$here}"
[ -n "${SRC:-}" ] && export PYTHONPATH="$SRC"
export OMP_NUM_THREADS=1
PY="${PY:-$repo/.venv/bin/python}"
P="$PY -m pisces.cli jumping train --grid wide --device cpu --threads 1"
case "${1:?lane A or B}" in
  A) for s in 5 6 7 8 9 10; do $P --preset pse --seeds "$s" --out "$OUT/pse-wide"; done ;;
  B) $P --preset randconv-pse --bf16 --seeds 1 --out "$OUT/randconv-pse-wide-bf16"
     for s in 1 2 3 4 5 6 7 8 9 10; do $P --preset pse --bf16 --seeds "$s" --out "$OUT/pse-wide-bf16"; done ;;
  *) echo "lane must be A or B" >&2; exit 2 ;;
esac
