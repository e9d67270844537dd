#!/usr/bin/env bash
# Session 7 queue (issue 13 item 4: the same seeds in fp32 and bf16 at the full protocol;
# issue 14 §5: `pse` to 10 seeds). Two lanes, one core each:
#   A: `pse` wide bf16 seeds 7-10, then `randconv-pse` wide bf16 seeds 3-10.
#   B: `pse` wide fp32 seed 10, then `randconv-pse` wide fp32 seeds 6-10 (seeds 1-5 are
#      committed from an earlier machine).
# Every seed also saves its network (seed-<s>.pt, for Figure 3 and the G.2 heatmaps).
# Resumable: finished seeds are skipped, a killed seed resumes from its mid-run checkpoint.
#
#   SRC=<pinned worktree>/src OUT=$PWD/results/jumping [PY=<python>] \
#       results/jumping/run_queue_s7.sh A|B
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
OUT="${OUT:-$here}"
[ -n "${SRC:-}" ] && export PYTHONPATH="$SRC"
export OMP_NUM_THREADS=1
PY="${PY:-$repo/.venv/bin/python}"
P="$PY -m pisces.cli jumping train --grid wide --device cpu --threads 1 --save-model"
case "${1:?lane A or B}" in
  A) for s in 7 8 9 10; do $P --preset pse --bf16 --seeds "$s" --out "$OUT/pse-wide-bf16"; done
     for s in 3 4 5 6 7 8 9 10; do
       $P --preset randconv-pse --bf16 --seeds "$s" --out "$OUT/randconv-pse-wide-bf16"; done ;;
  B) $P --preset pse --seeds 10 --out "$OUT/pse-wide"
     for s in 6 7 8 9 10; do $P --preset randconv-pse --seeds "$s" --out "$OUT/randconv-pse-wide"; done ;;
  *) echo "lane must be A or B" >&2; exit 2 ;;
esac
