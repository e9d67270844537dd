#!/usr/bin/env bash
# Session-10 queue, breadth first (issue 14): the never-run Table 1 cells first, one seed of
# each cell a round, so each narrow/random cell gets a first look before any gets its fifth
# seed. Replaces run_queue_s10.sh's order after its running seeds (`randconv-pse` narrow 5,
# random 3); every seed is skipped when done and resumes from its mid-run checkpoint.
#   A (narrow): seeds 1-5 of `randconv`, `pse`, `dropout-l2` round by round; then
#      `randconv-pse` narrow 6-10; then `randconv-psm-l2` and `randconv-bisim-cme` wide 1-5.
#   B (random): the same three on the random grid; then `randconv-pse` random 4-10; then
#      `randconv-bisim-l2` and `randconv-psm-cme` wide 1-5.
#
#   SRC=<pinned worktree>/src OUT=$PWD/results/jumping [PY=<python>] \
#       results/jumping/run_queue_s10b.sh A|B
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
OUT="${OUT:-$here}"
[ -n "${SRC:-}" ] && export PYTHONPATH="$SRC"
export OMP_NUM_THREADS=1
PY="${PY:-$repo/.venv/bin/python}"
P="$PY -m pisces.cli jumping train --device cpu --threads 1 --save-model"
case "${1:?lane A or B}" in
  A) g=narrow; first=5; rest="randconv-pse:narrow:6-10 randconv-psm-l2:wide:1-5 randconv-bisim-cme:wide:1-5" ;;
  B) g=random; first=3; rest="randconv-pse:random:4-10 randconv-bisim-l2:wide:1-5 randconv-psm-cme:wide:1-5" ;;
  *) echo "lane must be A or B" >&2; exit 2 ;;
esac
$P --preset randconv-pse --grid $g --seeds $first --out "$OUT/randconv-pse-$g"
for s in 1 2 3 4 5; do
  for p in randconv pse dropout-l2; do $P --preset $p --grid $g --seeds $s --out "$OUT/$p-$g"; done
done
for job in $rest; do
  IFS=: read -r p grid seeds <<< "$job"
  $P --preset "$p" --grid "$grid" --seeds "$seeds" --out "$OUT/$p-$grid"
done
