#!/usr/bin/env bash
# Session-9 queue (issues 13 and 14) for a 2-core Intel Xeon with AVX-512 but no bf16
# hardware (no AVX512-BF16, no AMX): bf16 autocast is emulated there and measured
# SLOWER than fp32 (randconv-pse 0.627 vs 0.273 s/step, one thread, 2.3x; a bf16 seed ~90 min
# here against 15-27 min on a bf16 CPU), so the bf16 seeds wait for a machine with bf16
# hardware and both lanes run fp32 cells. Every seed also saves its network.
#   A: `randconv-pse` narrow seeds 1-10 (fp32).
#   B: `randconv-pse` wide fp32 seeds 9-10, then `randconv-pse` random seeds 1-10 (fp32).
# Resumable: finished seeds are skipped, a killed seed resumes from its mid-run checkpoint.
#
#   SRC=<pinned worktree>/src OUT=$PWD/results/jumping [PY=<python>] \
#       results/jumping/run_queue_s9.sh A|B
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
OUT="${OUT:-$here}"
[ -n "${SRC:-}" ] && export PYTHONPATH="$SRC"
export OMP_NUM_THREADS=1
PY="${PY:-$repo/.venv/bin/python}"
P="$PY -m pisces.cli jumping train --device cpu --threads 1 --save-model"
case "${1:?lane A or B}" in
  A) $P --preset randconv-pse --grid narrow --seeds 1-10 --out "$OUT/randconv-pse-narrow" ;;
  B) $P --preset randconv-pse --grid wide --seeds 9-10 --out "$OUT/randconv-pse-wide"
     $P --preset randconv-pse --grid random --seeds 1-10 --out "$OUT/randconv-pse-random" ;;
  *) echo "lane must be A or B" >&2; exit 2 ;;
esac
