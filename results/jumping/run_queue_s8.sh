#!/usr/bin/env bash
# Next queue (issues 13 and 14), for the next session with two cores: first what the
# precision comparison still lacks, then Table 1's narrow and random columns (presets as
# they are, fp32). Every seed also saves its network (not committed).
#   A: `randconv-pse` wide bf16 seeds 1-10, then `randconv-pse` narrow seeds 1-10,
#      then `randconv` narrow and random seeds 1-5.
#   B: `randconv-pse` wide fp32 seeds 6-10, then `randconv-pse` random seeds 1-10,
#      then `pse` and `dropout-l2` narrow and random seeds 1-5.
# Resumable: finished seeds are skipped, a killed seed resumes from its mid-run checkpoint.
#
#   SRC=<pinned worktree>/src OUT=$PWD/results/jumping [PY=<python>] \
#       results/jumping/run_queue_s8.sh A|B
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
OUT="${OUT:-$here}"
[ -n "${SRC:-}" ] && export PYTHONPATH="$SRC"
export OMP_NUM_THREADS=1
PY="${PY:-$repo/.venv/bin/python}"
P="$PY -m pisces.cli jumping train --device cpu --threads 1 --save-model"
case "${1:?lane A or B}" in
  A) $P --preset randconv-pse --bf16 --grid wide --seeds 1-10 --out "$OUT/randconv-pse-wide-bf16"
     $P --preset randconv-pse --grid narrow --seeds 1-10 --out "$OUT/randconv-pse-narrow"
     for g in narrow random; do $P --preset randconv --grid $g --seeds 1-5 --out "$OUT/randconv-$g"; done ;;
  B) $P --preset randconv-pse --grid wide --seeds 6-10 --out "$OUT/randconv-pse-wide"
     $P --preset randconv-pse --grid random --seeds 1-10 --out "$OUT/randconv-pse-random"
     for g in narrow random; do
       for p in pse dropout-l2; do $P --preset $p --grid $g --seeds 1-5 --out "$OUT/$p-$g"; done
     done ;;
  *) echo "lane must be A or B" >&2; exit 2 ;;
esac
