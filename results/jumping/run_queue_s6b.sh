#!/usr/bin/env bash
# Session 6 queue, second part (issues 13 and 14), from a commit whose evaluations also record
# Figure 3's alignment score and the dead units and all-zero embeddings of both layers, so
# every run below carries those curves:
#   A: `pse` wide fp32, seeds 6-10 (Table 1's PSE cell to 10 seeds; the fp32 side of the
#      precision comparison).
#   B: `randconv-pse` wide bf16 seed 2 (an alignment curve of the RandConv model beside the
#      pse ones), `pse --coupling-weights` seed 3 (do the weights keep the projection alive?),
#      then `pse` wide bf16 seeds 1-10 (the fast side of the precision comparison).
# WAIT=<pid>: start after that process ends (the seed the first part was running).
# Resumable: finished seeds are skipped, a killed seed resumes from its mid-run checkpoint.
#
#   SRC=<pinned worktree>/src OUT=$PWD/results/jumping [PY=<python>] [WAIT=<pid>] \
#       results/jumping/run_queue_s6b.sh A|B
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
OUT="${OUT:-$here}"
[ -n "${SRC:-}" ] && export PYTHONPATH="$SRC"
export OMP_NUM_THREADS=1
PY="${PY:-$repo/.venv/bin/python}"
P="$PY -m pisces.cli jumping train --grid wide --device cpu --threads 1"
if [ -n "${WAIT:-}" ]; then while kill -0 "$WAIT" 2>/dev/null; do sleep 10; done; fi
case "${1:?lane A or B}" in
  A) for s in 6 7 8 9 10; do $P --preset pse --seeds "$s" --out "$OUT/pse-wide"; done ;;
  B) $P --preset randconv-pse --bf16 --seeds 2 --out "$OUT/randconv-pse-wide-bf16"
     $P --preset pse --coupling-weights --seeds 3 --out "$OUT/pse-coupling-wide"
     for s in 1 2 3 4 5 6 7 8 9 10; do $P --preset pse --bf16 --seeds "$s" --out "$OUT/pse-wide-bf16"; done ;;
  *) echo "lane must be A or B" >&2; exit 2 ;;
esac
