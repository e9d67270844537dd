#!/usr/bin/env bash
# Next queue (issues 13 and 14), for a session with two cores. It asks the machine first:
# with bf16 hardware (AMX or AVX512-BF16: `--precision auto` would pick bf16) lane A starts
# with the bf16 `randconv-pse` wide seeds the precision comparison still lacks (6-10; ~15-27
# min each there); without it (bf16 measured 2.3x slower than fp32 on an AVX-512 Xeon) it
# leaves them for such a machine. Then Table 1's narrow and random columns (fp32 presets),
# then Table 2. Every seed also saves its network (not committed).
#   A: [bf16 hardware: `randconv-pse` wide bf16 seeds 6-10], `randconv-pse` narrow 1-10,
#      `randconv` narrow and random 1-5, `randconv-psm-l2` and `randconv-bisim-cme` wide 1-5.
#   B: `randconv-pse` wide fp32 9-10, `randconv-pse` random 1-10, `pse` and `dropout-l2`
#      narrow and random 1-5, `randconv-bisim-l2` and `randconv-psm-cme` wide 1-5.
# Resumable: finished seeds are skipped, a killed seed resumes from its mid-run checkpoint.
#
#   SRC=<pinned worktree>/src OUT=$PWD/results/jumping [PY=<python>] \
#       results/jumping/run_queue_s10.sh A|B
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
OUT="${OUT:-$here}"
[ -n "${SRC:-}" ] && export PYTHONPATH="$SRC"
export OMP_NUM_THREADS=1
PY="${PY:-$repo/.venv/bin/python}"
P="$PY -m pisces.cli jumping train --device cpu --threads 1 --save-model"
case "${1:?lane A or B}" in
  A) if $PY -c "import sys; from pisces.experiments.runs import bf16_hardware as h; sys.exit(not h('cpu'))"; then
       $P --preset randconv-pse --precision bf16 --grid wide --seeds 6-10 --out "$OUT/randconv-pse-wide-bf16"
     else
       echo "no bf16 hardware here: the bf16 seeds wait for a machine with it" >&2
     fi
     $P --preset randconv-pse --grid narrow --seeds 1-10 --out "$OUT/randconv-pse-narrow"
     for g in narrow random; do $P --preset randconv --grid $g --seeds 1-5 --out "$OUT/randconv-$g"; done
     for p in randconv-psm-l2 randconv-bisim-cme; do $P --preset $p --grid wide --seeds 1-5 --out "$OUT/$p-wide"; done ;;
  B) $P --preset randconv-pse --grid wide --seeds 9-10 --out "$OUT/randconv-pse-wide"
     $P --preset randconv-pse --grid random --seeds 1-10 --out "$OUT/randconv-pse-random"
     for g in narrow random; do
       for p in pse dropout-l2; do $P --preset $p --grid $g --seeds 1-5 --out "$OUT/$p-$g"; done
     done
     for p in randconv-bisim-l2 randconv-psm-cme; do $P --preset $p --grid wide --seeds 1-5 --out "$OUT/$p-wide"; done ;;
  *) echo "lane must be A or B" >&2; exit 2 ;;
esac
