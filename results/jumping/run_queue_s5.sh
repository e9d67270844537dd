#!/usr/bin/env bash
# Session 5 queue, one lane beside the tuning study: the two PSE loss variants on the wide grid
# at the full protocol (issue 14, the PSE gap): Eq. 4 as printed (one direction, coupling
# weights with beta) and the official loss with coupling weights on. Resumable: finished seeds
# are skipped, a killed seed resumes from its mid-run checkpoint.
#
#   SRC=<pinned worktree>/src OUT=$PWD/results/jumping results/jumping/run_queue_s5.sh G
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
OUT="${OUT:-$here}"
[ -n "${SRC:-}" ] && export PYTHONPATH="$SRC"
export OMP_NUM_THREADS=1
P="$repo/.venv/bin/python -m pisces.cli jumping train --grid wide --device cpu"
pse_paper() { $P --preset pse --loss-variant paper --seeds "$1" --out "$OUT/pse-paper-variant-wide"; }
pse_coupling() { $P --preset pse --coupling-weights --seeds "$1" --out "$OUT/pse-coupling-wide"; }
case "${1:?lane G}" in
  G) pse_paper 1; pse_coupling 1; pse_paper 2; pse_coupling 2 ;;
  *) echo "lane must be G" >&2; exit 2 ;;
esac
